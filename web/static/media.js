// A member's part in a room's media session (docs/PROTOCOL.md, "Media"): media.join, the
// server's media.state, what this member publishes (camera, microphone, screen), raised
// hands, and the hosts' controls. The peer connection and its negotiation are rtc.js's;
// the views (studio.js, attendee.js, support.js) render from this object's fields.

import { MediaLink } from "./rtc.js";
import { explainError, sentence } from "./ui.js";

const CAMERA = {
  webinar: { width: { ideal: 960 }, height: { ideal: 540 }, frameRate: { ideal: 24 } },
  support: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15 } },
};
const MIC = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
export const KIND_WORD = { audio: "microphone", video: "camera", screen: "screen share" };

/** Plain words for a media failure: a command's error reply or a getUserMedia exception. */
export function mediaErrorText(err) {
  switch (err?.code || err?.name) {
    case "session_full": return "This session is full — it has reached the number of people it can hold. Please try again later.";
    case "not_started": return "The host hasn't started the audio and video yet.";
    case "forbidden": return sentence(err.message) || "You don't have permission to do that.";
    case "NotAllowedError": case "SecurityError":
      return "Haven can't use your camera or microphone: permission was refused. You can allow it in your browser's site settings.";
    case "NotFoundError": case "OverconstrainedError": return "No camera or microphone was found on this device.";
    case "NotReadableError": case "AbortError": return "Your camera or microphone is busy — another app may be using it.";
    default: return explainError(err);
  }
}

/** Why a member is out of the session (media.ended reasons, and our own). */
export const ENDED_TEXT = {
  ended: "The session has ended. Thank you for joining.",
  removed: "A host removed you from this session.",
  "node shutting down": "The video server is restarting. Please join again in a moment.",
  owner_lost: "The video server running this session went away. Please join again.",
  moved: "The session moved to another server. Please join again.",
  connection_failed: "The audio and video connection failed. Check your network and join again.",
  connection_closed: "The audio and video connection closed.",
  no_answer: "Your browser stopped answering the video server. Please join again.",
  disconnected: "You're offline — you'll rejoin the session when the connection is back.",
  left: "You left the session.",
};

// What a publisher's m-line negotiates (docs/PROTOCOL.md: mid, rid, repaired-rid and
// transport-wide congestion control from publishers).
const PUBLISHER_EXTENSIONS = new Set([
  "urn:ietf:params:rtp-hdrext:sdes:mid",
  "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
  "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
]);

/**
 * Chrome remembers, for the whole connection, the header extensions a remote offer left
 * out: after the server's first offer (which, to a subscriber, names none of the above) a
 * new transceiver would offer without them, and a simulcast offer without rid is refused.
 * Ask for them again. Returns false where the browser cannot (then: no simulcast).
 */
function wantPublisherExtensions(t) {
  if (typeof t.setHeaderExtensionsToNegotiate !== "function") return false;
  try {
    t.setHeaderExtensionsToNegotiate(t.getHeaderExtensionsToNegotiate()
      .map((e) => (PUBLISHER_EXTENSIONS.has(e.uri) && e.direction === "stopped" ? { ...e, direction: "sendrecv" } : e)));
    return true;
  } catch (err) {
    console.warn("haven: header extensions", err);
    return false;
  }
}

/** Camera simulcast as the protocol allows: up to three layers, rids q, h, f (low to high). */
function simulcastLayers(track) {
  const height = track.getSettings?.().height || 0;
  if (height >= 540) {
    return [{ rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
      { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
      { rid: "f", maxBitrate: 1_500_000 }];
  }
  if (height >= 270) return [{ rid: "h", scaleResolutionDownBy: 2, maxBitrate: 300_000 }, { rid: "f", maxBitrate: 900_000 }];
  return null;
}

export class MediaSession {
  /**
   * opts: {socket, room (slug), kind ("webinar"|"support"), me, outranksHosts (a moderator:
   *        may act on the session's other hosts), onChange(), onEnded(reason)}
   */
  constructor(opts) {
    this.socket = opts.socket;
    this.room = opts.room;
    this.kind = opts.kind === "support" ? "support" : "webinar";
    this.me = opts.me;
    this.outranksHosts = !!opts.outranksHosts;
    this.opts = opts;
    this.link = null;
    this.participant = "";
    this.role = "";
    this.state = { participants: [], tracks: [], hands: [] };
    this.local = { audio: null, video: null, screen: null }; // our MediaStreamTracks
    this.tx = {}; // kind → the RTCRtpTransceiver carrying it
    this.on = new Set(); // kinds we publish now
    this.devices = { audio: "", video: "" }; // chosen deviceIds ("" = the default)
    this.deviceList = { audio: [], video: [] };
    this.layers = new Map(); // track id → the layer chosen by hand ("auto" when not)
    this.handRaised = false;
    this.promoted = false; // an attendee a host made a speaker
    this.demoted = false;
    this.ended = false;
    this.connection = "new";
    this.stream = new MediaStream(); // camera and microphone
    this.screenStream = new MediaStream(); // the screen share has a stream of its own
  }

  cmd(type, fields = {}) { return this.socket.request(type, { ...fields, room: this.room }); }

  get joined() { return !!this.link && !this.ended && !!this.participant; }
  get isHost() { return this.role === "host"; }
  get canPublish() { return this.role === "host" || this.role === "speaker"; }
  /** Our own entry of media.state. */
  self() { return this.state.participants.find((p) => p.id === this.participant) || null; }
  /** Kinds a host muted for us (the server stops forwarding them). */
  mutedKinds() { return this.self()?.muted || []; }

  changed() {
    if (this.changeQueued) return;
    this.changeQueued = true;
    queueMicrotask(() => { this.changeQueued = false; this.opts.onChange?.(); });
  }

  /** media.join. Offers that arrive before the reply wait for it (the link holds its queue). */
  async join() {
    const link = new MediaLink({
      socket: this.socket, room: this.room,
      onRemote: () => this.changed(),
      onConnection: (st) => { this.connection = st; this.changed(); },
      declare: () => [...this.on].filter((k) => this.tx[k]).map((kind) => ({ kind, transceiver: this.tx[kind] })),
    });
    this.link = link;
    let open;
    link.hold(new Promise((resolve) => { open = resolve; }));
    let reply;
    try {
      reply = await this.cmd("media.join");
    } catch (err) {
      link.close();
      if (this.link === link) this.link = null;
      open();
      throw err;
    }
    this.participant = reply.participant || "";
    this.role = reply.role || "attendee";
    link.setIceServers(reply.ice_servers);
    open();
    this.applyState(reply.state);
    this.changed();
  }

  handleEvent(ev) {
    if (!this.link || this.ended) return;
    switch (ev.type) {
      case "media.offer":
        this.link.serverOffer(ev.sdp).catch((err) => console.warn("haven: answering the server's offer", err));
        break;
      case "media.state":
        this.applyState(ev);
        break;
      case "media.hand":
        if (ev.raised === false) { this.handRaised = false; this.changed(); }
        break;
      case "media.ended":
        this.end(ev.reason || "ended");
        break;
    }
  }

  applyState(st) {
    if (!st || typeof st !== "object") return;
    this.state = {
      kind: st.kind, started_at: st.started_at,
      participants: Array.isArray(st.participants) ? st.participants : [],
      tracks: Array.isArray(st.tracks) ? st.tracks : [],
      hands: Array.isArray(st.hands) ? st.hands : [],
    };
    const mine = this.self();
    if (mine && mine.role !== this.role) {
      const before = this.role;
      this.role = mine.role;
      if (before === "attendee" && mine.role === "speaker") {
        this.promoted = true;
        this.demoted = false;
        this.handRaised = false;
      } else if (mine.role === "attendee") {
        // Moved back to the audience: the server stopped forwarding us; free the devices.
        this.promoted = false;
        this.demoted = before === "speaker";
        for (const kind of [...this.on]) this.stopLocal(kind);
      }
    }
    this.changed();
  }

  /** Received tracks now: track id → MediaStreamTrack. */
  remote() { return this.link ? this.link.remoteTracks() : new Map(); }

  // ---------- publishing ----------

  constraints(kind) {
    const dev = this.devices[kind];
    const base = kind === "video" ? CAMERA[this.kind] : MIC;
    return dev ? { ...base, deviceId: { exact: dev } } : base;
  }

  async startCameraAndMic() {
    const s = await navigator.mediaDevices.getUserMedia({ audio: this.constraints("audio"), video: this.constraints("video") });
    if (this.ended) { s.getTracks().forEach((t) => t.stop()); return; }
    await this.publishTracks([["audio", s.getAudioTracks()[0]], ["video", s.getVideoTracks()[0]]]);
    this.refreshDevices();
  }

  async start(kind) {
    let track;
    if (kind === "screen") {
      const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      track = s.getVideoTracks()[0];
    } else {
      const s = await navigator.mediaDevices.getUserMedia({ [kind]: this.constraints(kind) });
      track = kind === "audio" ? s.getAudioTracks()[0] : s.getVideoTracks()[0];
    }
    if (this.ended) { track?.stop(); return; }
    await this.publishTracks([[kind, track]]);
    if (kind !== "screen") this.refreshDevices();
  }

  /** Send tracks: a new transceiver each the first time (one offer for all), replaceTrack after. */
  async publishTracks(pairs) {
    let fresh = false;
    const resume = [];
    for (const [kind, track] of pairs) {
      if (!track) continue;
      if (this.local[kind] && this.local[kind] !== track) this.local[kind].stop();
      this.local[kind] = track;
      this.on.add(kind);
      if (kind === "screen") track.addEventListener("ended", () => { if (this.local.screen === track) this.unpublish("screen").catch(() => {}); });
      const t = this.tx[kind];
      if (t) {
        await t.sender.replaceTrack(track);
        if (t.mid) resume.push(kind);
        else fresh = true;
      } else {
        const pc = this.link.pc;
        const init = { direction: "sendonly", streams: [kind === "screen" ? this.screenStream : this.stream] };
        const canExt = typeof RTCRtpTransceiver !== "undefined" && "setHeaderExtensionsToNegotiate" in RTCRtpTransceiver.prototype;
        const layers = kind === "video" && this.kind === "webinar" && (canExt || !pc.remoteDescription) ? simulcastLayers(track) : null;
        if (layers) init.sendEncodings = layers;
        this.tx[kind] = pc.addTransceiver(track, init);
        wantPublisherExtensions(this.tx[kind]);
        fresh = true;
      }
    }
    this.changed();
    try {
      // The same transceiver again: media.publish resumes it without renegotiation.
      for (const kind of resume) await this.cmd("media.publish", { kind, mid: this.tx[kind].mid });
      if (fresh) await this.link.negotiate();
    } catch (err) {
      for (const [kind] of pairs) this.stopLocal(kind);
      this.changed();
      throw err;
    }
  }

  /** Stop sending kind: the server stops forwarding it at once; the camera light goes off. */
  async unpublish(kind) {
    const had = this.on.has(kind);
    this.stopLocal(kind);
    this.changed();
    if (had && this.tx[kind]?.mid && this.joined) await this.cmd("media.unpublish", { kind });
  }

  stopLocal(kind) {
    this.on.delete(kind);
    const track = this.local[kind];
    this.local[kind] = null;
    track?.stop();
    this.tx[kind]?.sender.replaceTrack(null).catch(() => {});
  }

  async toggle(kind) {
    if (this.on.has(kind)) await this.unpublish(kind);
    else await this.start(kind);
  }

  /** Switch camera or microphone while sending: replaceTrack, no renegotiation. */
  async setDevice(kind, deviceId) {
    this.devices[kind] = deviceId || "";
    if (!this.on.has(kind) || !this.tx[kind]) return;
    const s = await navigator.mediaDevices.getUserMedia({ [kind]: this.constraints(kind) });
    const track = kind === "audio" ? s.getAudioTracks()[0] : s.getVideoTracks()[0];
    const old = this.local[kind];
    await this.tx[kind].sender.replaceTrack(track);
    this.local[kind] = track;
    old?.stop();
    this.changed();
  }

  async refreshDevices() {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    try {
      const all = await navigator.mediaDevices.enumerateDevices();
      this.deviceList = {
        audio: all.filter((d) => d.kind === "audioinput" && d.deviceId),
        video: all.filter((d) => d.kind === "videoinput" && d.deviceId),
      };
      for (const kind of ["audio", "video"]) {
        const id = this.local[kind]?.getSettings?.().deviceId;
        if (id && !this.devices[kind]) this.devices[kind] = id;
      }
      this.changed();
    } catch (err) {
      console.warn("haven: enumerateDevices", err);
    }
  }

  // ---------- hands, layers, hosts' controls ----------

  async raiseHand(raised) {
    const r = await this.cmd("media.hand", { raised: !!raised });
    this.handRaised = r.raised === undefined ? !!raised : !!r.raised;
    this.changed();
  }

  async setLayer(track, layer) {
    await this.cmd("media.layer", { track, layer });
    this.layers.set(track, layer);
    this.changed();
  }

  /** media.promote, media.demote, media.mute, media.remove on a user (id). */
  act(type, user, extra = {}) { return this.cmd(type, { user, ...extra }); }

  // ---------- leaving ----------

  async leave() {
    if (this.joined) { try { await this.cmd("media.leave"); } catch { /* out either way */ } }
    this.end("left");
  }

  /** Out of the session for reason: close the connection and free the devices. */
  end(reason) {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    this.resumeKinds = [...this.on].filter((k) => k !== "screen");
    for (const kind of ["audio", "video", "screen"]) this.stopLocal(kind);
    this.link?.close();
    this.opts.onEnded?.(reason);
    this.changed();
  }
}
