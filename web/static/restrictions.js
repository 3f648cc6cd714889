// What a member may do in the composer right now, and why not: a mute, a locked room, and
// the short waits that slow mode, spam and rate limits impose. One object decides, so the
// banner, the disabled composer and the countdown never disagree with each other.
// Text only ever goes through textContent (ui.js h()).

import { h, notify, formatUntil, seconds } from "./ui.js";

// setTimeout fires at once for delays above 2^31-1 ms; a 28-day mute re-arms in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

const WAIT_TEXT = {
  slow_mode: "Slow mode is on in this room.",
  spam: "That looks like the same message posted again.",
  rate_limited: "You're posting a little too quickly.",
};

export class ComposerGuard {
  /** els: {banner, wait, textarea, send}; onLift(text) is told when a restriction ends. */
  constructor(els, { onLift } = {}) {
    this.els = els;
    this.onLift = onLift || (() => {});
    this.mutedUntil = 0; // ms since the epoch; Infinity when the server gave no end
    this.muteReason = "";
    this.locked = false;
    this.exempt = false; // moderators and hosts may post in locked rooms and under slow mode
    this.closed = false; // removed or banned: nothing to guard any more
    this.waitUntil = 0;
    this.muteTimer = null;
    this.waitTimer = null;
  }

  /** True when the composer must not send (the Send button is disabled too). */
  get blocked() { return this.closed || this.muted || this.readOnly || this.waiting; }
  get muted() { return this.mutedUntil > Date.now(); }
  get readOnly() { return this.locked && !this.exempt; }
  get waiting() { return this.waitUntil > Date.now(); }

  mute(until, reason = "") {
    const t = Date.parse(until);
    this.mutedUntil = Number.isFinite(t) ? t : Infinity;
    this.muteReason = reason || "";
    this.armMuteTimer();
    this.render();
  }

  unmute() {
    const was = this.mutedUntil > 0; // not this.muted: when the timer fires, it has just ended
    this.mutedUntil = 0;
    this.muteReason = "";
    clearTimeout(this.muteTimer);
    this.render();
    if (was) this.onLift("Your mute has ended. You can post again.");
  }

  setLocked(locked) {
    const was = this.readOnly;
    this.locked = !!locked;
    this.render();
    if (was && !this.readOnly) this.onLift("The room is open again. You can post.");
  }

  setExempt(exempt) {
    this.exempt = !!exempt;
    this.render();
  }

  /** A refusal with retry_after_ms (slow_mode, spam, rate_limited): count down, then allow. */
  wait(code, retryAfterMs) {
    if (this.exempt && code === "slow_mode") return;
    const ms = Math.max(1000, Number(retryAfterMs) || 1000);
    this.waitUntil = Date.now() + ms;
    const w = this.els.wait;
    // The live region hears one sentence; the ticking number is hidden from screen readers
    // so they are not interrupted every second.
    w.replaceChildren(
      h("span", { class: "sr-only" }, `${WAIT_TEXT[code] || ""} You can post again in ${seconds(ms)} seconds.`),
      h("span", { "aria-hidden": "true", class: "wait-visible" }));
    w.dataset.code = code;
    clearInterval(this.waitTimer);
    const tick = () => {
      const left = this.waitUntil - Date.now();
      if (left <= 0) {
        clearInterval(this.waitTimer);
        this.waitTimer = null;
        this.waitUntil = 0;
        w.replaceChildren();
        w.hidden = true;
        this.render();
        return;
      }
      w.querySelector(".wait-visible").textContent = `${WAIT_TEXT[code] || ""} You can post again in ${seconds(left)} s.`;
    };
    w.hidden = false;
    tick();
    this.waitTimer = setInterval(tick, 250);
    this.render();
  }

  armMuteTimer() {
    clearTimeout(this.muteTimer);
    if (!Number.isFinite(this.mutedUntil)) return;
    const left = this.mutedUntil - Date.now();
    if (left <= 0) return;
    this.muteTimer = setTimeout(() => {
      if (this.mutedUntil - Date.now() > 0) { this.armMuteTimer(); return; }
      this.unmute();
    }, Math.min(left + 250, MAX_TIMER_MS));
  }

  render() {
    const { banner, textarea, send } = this.els;
    if (this.closed) return;
    const muted = this.muted;
    const lines = [];
    const states = [];
    if (muted) {
      states.push("muted");
      const until = Number.isFinite(this.mutedUntil) ? formatUntil(new Date(this.mutedUntil)) : "";
      lines.push(h("p", { class: "banner-main" }, until ? `A moderator has muted you until ${until}.` : "A moderator has muted you in this room."));
      if (this.muteReason) lines.push(h("p", {}, `Reason: ${this.muteReason}`));
      lines.push(h("p", { class: "banner-help" }, "You can keep reading. Anything you type stays here until you can post again."));
    }
    if (this.locked) {
      states.push(this.readOnly ? "locked" : "locked-exempt");
      lines.push(h("p", { class: this.readOnly ? "banner-main" : "" }, this.readOnly
        ? "This room is read-only for now: a moderator has locked it. You can still read the conversation."
        : "This room is locked: members can read but not post. As a moderator or host, you can still post."));
    }
    banner.replaceChildren(...lines);
    banner.hidden = lines.length === 0;
    banner.dataset.state = states.join(" ");
    const off = muted || this.readOnly;
    // Disabled, not cleared: the draft stays in the textarea for when posting is possible.
    textarea.disabled = off;
    textarea.placeholder = muted ? "You are muted for now" : this.readOnly ? "This room is read-only for now" : "Write a message…";
    send.disabled = off || this.waiting;
  }

  /** Removed or banned: stop every timer; the room view replaces the composer. */
  close() {
    this.closed = true;
    this.destroy();
  }

  destroy() {
    clearTimeout(this.muteTimer);
    clearInterval(this.waitTimer);
    this.muteTimer = this.waitTimer = null;
  }
}

/**
 * The explanation shown in place of the conversation when a member was removed or banned,
 * or when a banned member tries to come back. actions: {onBack, onRejoin?}.
 */
export function renderGone({ roomName, banned, reason, rejoinRefused }, { onBack, onRejoin }) {
  const title = rejoinRefused
    ? `You are banned from ${roomName}`
    : banned ? `A moderator banned you from ${roomName}` : `A moderator removed you from ${roomName}`;
  const help = banned || rejoinRefused
    ? "You can't rejoin this room while the ban lasts. Your other rooms are not affected. If you think this is a mistake, you can contact the community's moderators."
    : "You can rejoin from the room list when you are ready. Please read the room guidelines first.";
  const back = h("button", { type: "button", class: "btn btn-primary", onclick: onBack }, "Back to rooms");
  const rejoin = !banned && !rejoinRefused && onRejoin
    ? h("button", { type: "button", class: "btn btn-secondary", onclick: onRejoin }, "Rejoin the room")
    : null;
  const card = h("section", { class: "room-gone", role: "alert", "aria-labelledby": "room-gone-title", dataset: { banned: String(!!(banned || rejoinRefused)) } },
    h("h2", { id: "room-gone-title", tabindex: "-1" }, title),
    reason ? h("p", { class: "room-gone-reason" }, `Reason given: ${reason}`) : null,
    h("p", {}, help),
    h("div", { class: "room-gone-actions" }, back, rejoin));
  return card;
}

/** A `moderation` event in view's room: what it changes for this member, and the notice. */
export function applyModerationEvent(view, ev) {
  const tid = ev.target && typeof ev.target === "object" ? ev.target.id : ev.target;
  // mute and unmute are sent to their target only; an event without one is about us.
  const aboutMe = tid ? !!view.me && tid === view.me.id : ev.action === "mute" || ev.action === "unmute";
  const room = view.room.name || view.slug;
  switch (ev.action) {
    case "mute":
      if (!aboutMe) return;
      view.status("");
      view.guard.mute(ev.until, ev.reason); // a persistent banner, not a notice that fades
      return;
    case "unmute":
      if (aboutMe) view.guard.unmute();
      return;
    case "slow_mode": {
      const s = Number(ev.seconds ?? 0);
      view.room.slow_mode_s = s;
      view.renderHeader();
      notify(s > 0 ? `Slow mode is on in ${room}: one message every ${s} s.` : `Slow mode is off in ${room}.`,
        { key: `mod-${view.slug}-slow` });
      return;
    }
    case "lock": {
      const locked = ev.locked !== undefined ? !!ev.locked : true;
      view.room.locked = locked;
      view.renderHeader();
      view.guard.setLocked(locked);
      const reason = ev.reason ? ` Reason: ${ev.reason}` : "";
      notify(locked ? `A moderator locked ${room}: it is read-only for now.${reason}` : `${room} is open again.`,
        { kind: locked ? "warn" : "info", key: `mod-${view.slug}-lock` });
    }
  }
}
