// What the audience sees of a webinar: the speakers' video (with a quality choice when the
// publisher sends simulcast layers), the raise-hand button, and plain statements of where
// the member stands: muted by a moderator, hand raised, now a speaker.

import { h, notify } from "./ui.js";
import { mediaErrorText, KIND_WORD } from "./media.js";

/** The status lines for a member in a session, most important first: [{kind, text}]. */
export function mediaBanners(s) {
  const out = [];
  const muted = s.mutedKinds();
  if (muted.length) {
    const what = muted.map((k) => KIND_WORD[k] || k).join(" and ");
    out.push({ kind: "warn", key: "muted", text: `You are muted by a moderator: your ${what} is not reaching anyone. Only a host can lift this.` });
  }
  if (s.role === "speaker" && s.kind === "webinar" && s.promoted) {
    out.push({ kind: "ok", key: "speaker", text: s.on.size ? "You are now a speaker. Everyone in the session can see and hear you."
      : "You are now a speaker. Turn on your camera and microphone when you're ready." });
  }
  if (s.demoted && s.role === "attendee") out.push({ kind: "info", key: "demoted", text: "A host moved you back to the audience. Your camera and microphone are off." });
  if (s.handRaised && s.role === "attendee") out.push({ kind: "info", key: "hand", text: "Your hand is raised. The hosts see you in their queue." });
  if (s.connection === "failed") out.push({ kind: "warn", key: "conn", text: "The audio and video connection failed. Try leaving and joining again." });
  else if (s.connection === "disconnected") out.push({ kind: "warn", key: "conn", text: "The audio and video connection is interrupted — trying to recover…" });
  return out;
}

/** Raise or lower your hand (webinar attendees). */
export class HandBar {
  constructor(session) {
    this.s = session;
    this.btn = h("button", { id: "media-hand", type: "button", class: "btn btn-secondary", "aria-pressed": "false" });
    this.btn.addEventListener("click", () => this.toggle());
    this.el = h("div", { class: "hand-bar" }, this.btn,
      h("p", { class: "help" }, "Raise your hand to ask to speak. A host may invite you on stage."));
  }

  async toggle() {
    this.btn.disabled = true;
    try {
      await this.s.raiseHand(!this.s.handRaised);
    } catch (err) {
      notify(mediaErrorText(err), { kind: "error", key: "media-hand" });
    } finally {
      this.btn.disabled = false;
    }
  }

  update() {
    const s = this.s;
    this.el.hidden = s.kind !== "webinar" || s.role !== "attendee";
    this.btn.textContent = s.handRaised ? "Lower hand" : "Raise hand";
    this.btn.setAttribute("aria-pressed", String(s.handRaised));
  }
}

function names(s) {
  const m = new Map();
  for (const p of s.state.participants) m.set(p.id, p.user || {});
  return m;
}

/**
 * Webinar stage tiles: every video and screen track of the others (speakers and hosts),
 * then our own preview while we send.
 */
export function webinarItems(s, remote) {
  const who = names(s);
  const items = [];
  for (const t of s.state.tracks) {
    if (t.kind === "audio" || t.participant === s.participant) continue;
    const u = who.get(t.participant) || {};
    const track = remote.get(t.id) || null;
    const name = (u.display_name || "Someone") + (t.kind === "screen" ? " — screen" : "");
    items.push({ key: t.id, name, track, user: t.user || u.id, kind: t.kind,
      note: t.muted ? "Paused by a moderator" : track ? "" : "Connecting…", warn: !!t.muted,
      layers: t.layers, layer: s.layers.get(t.id) });
  }
  const muted = new Set(s.mutedKinds());
  for (const kind of ["video", "screen"]) {
    const track = s.local[kind];
    if (!track) continue;
    items.push({ key: `local:${kind}`, name: kind === "screen" ? "Your screen" : "You", track, user: s.me?.id, kind, local: true,
      note: muted.has(kind) ? "Muted by a moderator — not shown to others" : "", warn: muted.has(kind) });
  }
  return items;
}

export function emptyStageText(s) {
  if (s.kind !== "webinar") return "";
  return s.isHost ? "Nobody is on camera yet. Turn on your camera to go live." : "Waiting for the hosts to turn on their cameras…";
}
