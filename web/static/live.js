// The live part of a webinar or support session for one member: header with Leave (and End
// for hosts), status lines, the stage (webinar) or grid (support), hand raising, the
// publisher's controls and the host's panel — each shown as the member's role allows.

import { h, notify, twoStep } from "./ui.js";
import { mediaErrorText } from "./media.js";
import { Tiles, AudioSinks, audioTracks } from "./tiles.js";
import { LocalControls, HostPanel } from "./studio.js";
import { mediaBanners, HandBar, webinarItems, emptyStageText } from "./attendee.js";
import { supportItems } from "./support.js";

const ROLE_TEXT = { host: "You are hosting", speaker: "You are speaking", attendee: "You are watching" };

export class LiveView {
  /** opts: {title(), onLeave(), onEnd() (hosts end the session for everyone)} */
  constructor(session, opts) {
    this.s = session;
    this.opts = opts;
    const support = session.kind === "support";
    this.title = h("h2", { id: "live-title" });
    this.roleLine = h("p", { class: "live-role muted" });
    this.leaveBtn = h("button", { id: "media-leave", type: "button", class: "btn btn-secondary btn-small" }, "Leave");
    this.leaveBtn.addEventListener("click", () => opts.onLeave());
    this.endBtn = h("button", { id: "media-end", type: "button", class: "btn btn-small btn-quiet" }, "End for everyone");
    twoStep(this.endBtn, "Really end it?", () => opts.onEnd());
    this.banners = h("div", { id: "media-status", class: "media-status", role: "status", "aria-live": "polite" });
    this.tiles = new Tiles({ className: support ? "grid" : "stage", label: support ? "Participants" : "Speakers",
      onLayer: (track, layer) => session.setLayer(track, layer).catch((err) => notify(mediaErrorText(err), { kind: "error", key: "media-layer" })) });
    this.empty = h("p", { class: "stage-empty muted" });
    this.audio = new AudioSinks();
    this.hand = new HandBar(session);
    this.controls = null; // LocalControls, once the member may publish
    this.host = null; // HostPanel, for hosts
    this.controlsBox = h("div", { class: "controls-box" });
    this.hostBox = h("div", { class: "host-box" });
    this.el = h("section", { class: `live live-${session.kind}`, "aria-labelledby": "live-title" },
      h("div", { class: "live-head" }, h("div", { class: "live-titles" }, this.title, this.roleLine),
        h("div", { class: "live-actions" }, this.endBtn, this.leaveBtn)),
      this.banners, this.tiles.el, this.empty, this.audio.el, this.hand.el, this.controlsBox, this.hostBox);
    this.bannerSig = "";
    this.update();
  }

  update() {
    const s = this.s;
    if (s.ended) return;
    this.el.dataset.role = s.role || "";
    this.title.textContent = this.opts.title() || (s.kind === "support" ? "Support session" : "Webinar");
    this.roleLine.textContent = ROLE_TEXT[s.role] || "Joining…";
    this.endBtn.hidden = !s.isHost;

    const lines = mediaBanners(s);
    const sig = JSON.stringify(lines);
    if (sig !== this.bannerSig) { // re-announce only what changed
      this.bannerSig = sig;
      this.banners.replaceChildren(...lines.map((l) => h("p", { class: `media-banner media-banner-${l.kind}`, dataset: { banner: l.key } }, l.text)));
    }

    const remote = s.remote();
    const items = s.kind === "support" ? supportItems(s, remote) : webinarItems(s, remote);
    this.tiles.update(items);
    this.empty.textContent = items.length ? "" : emptyStageText(s);
    this.empty.hidden = items.length > 0;
    this.audio.update(audioTracks(s, remote));
    this.hand.update();

    if (s.canPublish && !this.controls) {
      this.controls = new LocalControls(s);
      this.controlsBox.replaceChildren(this.controls.el);
    } else if (!s.canPublish && this.controls) {
      this.controls = null;
      this.controlsBox.replaceChildren();
    }
    this.controls?.update();

    if (s.isHost && !this.host) {
      this.host = new HostPanel(s);
      this.hostBox.replaceChildren(this.host.el);
    }
    this.host?.update();
  }

  destroy() {
    this.tiles.update([]);
    this.audio.clear();
    this.el.remove();
  }
}
