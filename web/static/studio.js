// The publisher's controls (hosts, promoted speakers, support participants): camera and
// microphone chosen from enumerateDevices, on and off, screen share. And the host's panel:
// the raised-hand queue, the people in the session with promote, demote, mute of a
// participant's audio or video, and remove. The server checks every command.

import { h, notify, twoStep, roleBadge, formatTime } from "./ui.js";
import { mediaErrorText } from "./media.js";

export class LocalControls {
  constructor(session) {
    this.s = session;
    this.busy = false;
    const btn = (id, onclick) => h("button", { id, type: "button", class: "btn btn-secondary btn-small", onclick: () => this.run(onclick) });
    this.publishBtn = h("button", { id: "media-publish", type: "button", class: "btn btn-primary", onclick: () => this.run(() => this.s.startCameraAndMic()) },
      "Turn on camera and microphone");
    this.micBtn = btn("media-mic", () => this.s.toggle("audio"));
    this.camBtn = btn("media-cam", () => this.s.toggle("video"));
    this.screenBtn = btn("media-screen", () => this.s.toggle("screen"));
    this.camSel = h("select", { id: "media-camera-select" });
    this.micSel = h("select", { id: "media-mic-select" });
    this.camSel.addEventListener("change", () => this.run(() => this.s.setDevice("video", this.camSel.value)));
    this.micSel.addEventListener("change", () => this.run(() => this.s.setDevice("audio", this.micSel.value)));
    this.devices = h("div", { class: "media-devices" },
      h("div", { class: "field" }, h("label", { for: "media-camera-select" }, "Camera"), this.camSel),
      h("div", { class: "field" }, h("label", { for: "media-mic-select" }, "Microphone"), this.micSel));
    this.el = h("section", { class: "local-controls", "aria-labelledby": "local-controls-title" },
      h("h3", { id: "local-controls-title" }, "Your camera and microphone"),
      h("div", { class: "media-buttons" }, this.publishBtn, this.micBtn, this.camBtn, this.screenBtn),
      this.devices);
    this.canShare = !!navigator.mediaDevices?.getDisplayMedia;
    this.s.refreshDevices();
  }

  async run(fn) {
    if (this.busy) return;
    this.busy = true;
    this.update();
    try {
      await fn();
    } catch (err) {
      console.warn("haven: camera or microphone", err);
      notify(mediaErrorText(err), { kind: "error", key: "media-local" });
    } finally {
      this.busy = false;
      this.update();
    }
  }

  update() {
    const s = this.s, on = s.on;
    const nothing = !on.has("audio") && !on.has("video");
    this.publishBtn.hidden = !nothing;
    this.micBtn.hidden = this.camBtn.hidden = nothing && !s.tx.audio && !s.tx.video;
    this.micBtn.textContent = on.has("audio") ? "Turn microphone off" : "Turn microphone on";
    this.micBtn.setAttribute("aria-pressed", String(on.has("audio")));
    this.camBtn.textContent = on.has("video") ? "Turn camera off" : "Turn camera on";
    this.camBtn.setAttribute("aria-pressed", String(on.has("video")));
    this.screenBtn.hidden = !this.canShare || s.kind === "support";
    this.screenBtn.textContent = on.has("screen") ? "Stop sharing your screen" : "Share your screen";
    this.screenBtn.setAttribute("aria-pressed", String(on.has("screen")));
    for (const b of [this.publishBtn, this.micBtn, this.camBtn, this.screenBtn]) b.disabled = this.busy;
    fillDevices(this.camSel, s.deviceList.video, s.devices.video, "Camera");
    fillDevices(this.micSel, s.deviceList.audio, s.devices.audio, "Microphone");
    this.devices.hidden = !navigator.mediaDevices?.enumerateDevices; // always there: no jump when the lists arrive
  }
}

function fillDevices(sel, list, chosen, word) {
  const key = list.map((d) => d.deviceId + "\u0000" + d.label).join("\u0001");
  if (sel.dataset.key !== key) {
    sel.dataset.key = key;
    sel.replaceChildren(...list.map((d, i) => h("option", { value: d.deviceId }, d.label || `${word} ${i + 1}`)));
  }
  if (chosen && list.some((d) => d.deviceId === chosen)) sel.value = chosen;
  sel.disabled = list.length < 2;
}

/** Hosts: the raised hands and the people in the session, with their controls. */
export class HostPanel {
  constructor(session) {
    this.s = session;
    this.handsTitle = h("h3", { id: "hands-title" });
    this.hands = h("ol", { class: "hand-queue", "aria-labelledby": "hands-title" });
    this.handsEmpty = h("p", { class: "muted hands-empty" }, "No hands raised.");
    this.peopleTitle = h("h3", { id: "people-title" });
    this.people = h("ul", { class: "people", "aria-labelledby": "people-title" });
    this.handsBox = h("div", { class: "hands-box" }, this.handsTitle, this.handsEmpty, this.hands);
    this.el = h("section", { class: "host-panel", "aria-label": "Host controls" }, this.handsBox, this.peopleTitle, this.people);
    this.sig = "";
  }

  update() {
    const s = this.s, st = s.state;
    const sig = JSON.stringify([st.participants, st.hands, s.participant]);
    if (sig === this.sig) return;
    this.sig = sig;
    const focusKey = document.activeElement?.closest?.(".host-panel") ? document.activeElement.dataset.focusKey : "";

    this.handsBox.hidden = s.kind !== "webinar";
    this.handsTitle.textContent = `Raised hands (${st.hands.length})`;
    this.handsEmpty.hidden = st.hands.length > 0;
    this.hands.replaceChildren(...st.hands.map((hd) => {
      const u = hd.user || {};
      return h("li", { class: "hand", dataset: { user: u.id || "" } },
        h("span", { class: "hand-name" }, u.display_name || "Someone"), roleBadge(u),
        h("time", { class: "muted", datetime: hd.raised_at || "" }, hd.raised_at ? ` raised at ${formatTime(hd.raised_at)}` : ""),
        this.button("hand-promote", `promote-${u.id}`, "Let them speak", () => s.act("media.promote", u.id), `Let ${u.display_name || "them"} speak`));
    }));

    const others = st.participants.filter((p) => p.id !== s.participant);
    this.peopleTitle.textContent = `People in the session (${st.participants.length})`;
    this.people.replaceChildren(...others.map((p) => this.person(p)));
    if (focusKey) this.el.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus();
  }

  person(p) {
    const s = this.s, u = p.user || {}, name = u.display_name || "Someone";
    const muted = new Set(p.muted || []), publishing = new Set(p.publishing || []);
    const status = [];
    if (publishing.has("audio")) status.push("speaking");
    if (publishing.has("video")) status.push("camera on");
    if (publishing.has("screen")) status.push("sharing screen");
    for (const k of muted) status.push(`${k === "audio" ? "microphone" : k === "video" ? "camera" : "screen"} stopped by a host`);
    const acts = h("div", { class: "person-actions" });
    // A host acts only on lower ranks: global staff outrank every room role, and another
    // host only a moderator outranks. The server would refuse, so offer nothing.
    const actionable = !(u.role === "admin" || u.role === "moderator") && (p.role !== "host" || s.outranksHosts);
    if (actionable) {
      if (s.kind === "webinar" && p.role === "attendee") acts.append(this.button("act-promote", `promote-${u.id}`, "Let speak", () => s.act("media.promote", u.id), `Let ${name} speak`));
      if (s.kind === "webinar" && p.role === "speaker") acts.append(this.button("act-demote", `demote-${u.id}`, "Move to audience", () => s.act("media.demote", u.id), `Move ${name} back to the audience`));
      if (p.role !== "attendee") {
        for (const [kind, off, on] of [["audio", "Mute audio", "Allow audio"], ["video", "Stop video", "Allow video"], ["screen", "Stop screen", "Allow screen"]]) {
          if (kind === "screen" && !publishing.has("screen") && !muted.has("screen")) continue;
          const m = muted.has(kind);
          acts.append(this.button(`act-mute-${kind}`, `mute-${kind}-${u.id}`, m ? on : off,
            () => s.act("media.mute", u.id, { kind, muted: !m }), `${m ? on : off} for ${name}`));
        }
      }
      const rm = h("button", { type: "button", class: "btn btn-small btn-quiet act-remove", dataset: { focusKey: `remove-${u.id}` }, "aria-label": `Remove ${name} from the session` }, "Remove");
      twoStep(rm, "Really remove?", () => this.act(rm, () => s.act("media.remove", u.id, { reason: "Removed by a host" })));
      acts.append(rm);
    }
    return h("li", { class: "person", dataset: { user: u.id || "", participant: p.id, role: p.role } },
      h("div", { class: "person-who" }, h("span", { class: "person-name" }, name), roleBadge(u),
        h("span", { class: `role-chip role-${p.role}` }, p.role === "host" ? "host" : p.role === "speaker" ? "speaker" : "audience")),
      h("p", { class: "person-status muted" }, status.join(" · ") || (p.role === "attendee" ? "watching" : "not sending")),
      acts);
  }

  button(cls, focusKey, label, fn, aria) {
    const b = h("button", { type: "button", class: `btn btn-small btn-secondary ${cls}`, dataset: { focusKey }, "aria-label": aria || label }, label);
    b.addEventListener("click", () => this.act(b, fn));
    return b;
  }

  async act(btn, fn) {
    btn.disabled = true;
    try {
      await fn();
    } catch (err) {
      notify(mediaErrorText(err), { kind: "error", key: "media-host" });
    } finally {
      btn.disabled = false;
    }
  }
}
