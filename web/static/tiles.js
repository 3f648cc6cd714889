// Video tiles and audio sinks, keyed so that a re-render never restarts a playing video.
// Names and notes are text nodes only.

import { h, avatarClass } from "./ui.js";

const LAYER_LABEL = { auto: "Auto", q: "Low", h: "Medium", f: "High" };

export class Tiles {
  /** opts: {className, label (for screen readers), onLayer(trackId, layer)} */
  constructor({ className = "", label = "Video", onLayer } = {}) {
    this.el = h("div", { class: `tiles ${className}`, role: "list", "aria-label": label });
    this.onLayer = onLayer;
    this.map = new Map(); // key → tile
  }

  /**
   * items: [{key, name, track (MediaStreamTrack|null), user, kind, local, note, warn,
   *          layers ([q, h, f] offered), layer (chosen)}], in display order.
   */
  update(items) {
    const seen = new Set();
    let prev = null;
    for (const it of items) {
      seen.add(it.key);
      let t = this.map.get(it.key);
      if (!t) {
        t = this.make(it);
        this.map.set(it.key, t);
      }
      this.fill(t, it);
      const want = prev ? prev.nextSibling : this.el.firstChild;
      if (want !== t.el) this.el.insertBefore(t.el, want);
      prev = t.el;
    }
    for (const [key, t] of this.map) {
      if (seen.has(key)) continue;
      t.video.srcObject = null;
      t.el.remove();
      this.map.delete(key);
    }
    this.el.dataset.count = String(items.length);
  }

  make(it) {
    const video = h("video", { autoplay: true, playsinline: true });
    video.muted = true; // sound plays through the audio sinks (and never our own back to us)
    const t = {
      video,
      name: h("span", { class: "tile-name" }),
      note: h("span", { class: "tile-note" }),
      face: h("div", { class: "tile-face", "aria-hidden": "true" }),
      layer: h("select", { class: "tile-layer", "aria-label": "Video quality" }),
      track: null,
      layersKey: "",
    };
    t.layer.addEventListener("change", () => this.onLayer?.(t.layer.dataset.track, t.layer.value));
    t.el = h("div", { class: "tile", role: "listitem" }, video, t.face,
      h("div", { class: "tile-caption" }, t.name, t.note), t.layer);
    return t;
  }

  fill(t, it) {
    const el = t.el;
    el.dataset.key = it.key;
    el.dataset.kind = it.kind || "";
    if (it.user) el.dataset.user = it.user;
    el.classList.toggle("local", !!it.local);
    el.classList.toggle("no-video", !it.track);
    el.classList.toggle("warn", !!it.warn);
    t.name.textContent = it.name || "Someone";
    t.note.textContent = it.note || "";
    t.note.hidden = !it.note;
    t.face.textContent = ((it.name || "?").trim()[0] || "?").toUpperCase();
    t.face.className = `tile-face ${avatarClass(it.user || it.key)}`;
    if (t.track !== it.track) {
      t.track = it.track || null;
      t.video.srcObject = t.track ? new MediaStream([t.track]) : null;
    }
    t.video.setAttribute("aria-label", it.local ? "Your camera" : `${it.name || "Someone"}'s ${it.kind === "screen" ? "screen" : "video"}`);
    const layers = Array.isArray(it.layers) && it.layers.length > 1 && !it.local ? it.layers : [];
    t.layer.hidden = layers.length === 0;
    t.layer.dataset.track = it.key;
    const key = layers.join(",");
    if (key !== t.layersKey) {
      t.layersKey = key;
      t.layer.replaceChildren(...["auto", ...layers].map((l) => h("option", { value: l }, LAYER_LABEL[l] || l)));
    }
    if (layers.length) t.layer.value = it.layer || "auto";
  }
}

/** Hidden <audio> elements, one per received audio track. */
export class AudioSinks {
  constructor() {
    this.el = h("div", { class: "audio-sinks", hidden: true });
    this.map = new Map(); // track id → {audio, track}
  }

  /** tracks: Map track id → MediaStreamTrack. */
  update(tracks) {
    for (const [id, track] of tracks) {
      let s = this.map.get(id);
      if (!s) {
        s = { audio: h("audio", { autoplay: true, dataset: { track: id } }), track: null };
        this.map.set(id, s);
        this.el.append(s.audio);
      }
      if (s.track !== track) {
        s.track = track;
        s.audio.srcObject = new MediaStream([track]);
        s.audio.play?.().catch(() => { /* autoplay refused until the next click */ });
      }
    }
    for (const [id, s] of this.map) {
      if (tracks.has(id)) continue;
      s.audio.srcObject = null;
      s.audio.remove();
      this.map.delete(id);
    }
  }

  clear() { this.update(new Map()); }
}

/** Received audio tracks of the session, keyed by track id. */
export function audioTracks(session, remote) {
  const out = new Map();
  for (const t of session.state.tracks) {
    if (t.kind !== "audio" || t.participant === session.participant) continue;
    const track = remote.get(t.id);
    if (track) out.set(t.id, track);
  }
  return out;
}
