// One RTCPeerConnection per media session, negotiated as docs/PROTOCOL.md ("Media") says:
// - the server offers (media.offer event) whenever the tracks we receive change; we answer
//   with media.answer;
// - we offer (media.offer command) to publish; every kind we send is declared first with
//   media.publish {kind, mid};
// - glare: the server is the impolite peer. A client offer made while the server's own
//   offer is waiting fails with conflict; the server's offer always arrives before that
//   reply, so we roll ours back, answer theirs (queued behind us), and offer again;
// - trickle ICE from our side only (media.candidate); the server's descriptions carry all
//   of its candidates.
// Every description change runs on one queue, so the signalling state is never raced.

export class MediaLink {
  /**
   * opts: {socket, room, onRemote() (received tracks changed), onConnection(state),
   *        declare() → [{kind, transceiver}] (what to announce with media.publish before an offer)}
   */
  constructor(opts) {
    this.socket = opts.socket;
    this.room = opts.room;
    this.opts = opts;
    this.closed = false;
    this.chain = Promise.resolve();
    this.offerQueued = null; // the queued (not yet started) client offer, coalesced
    this.mids = new Map(); // mid → track id ("<participant>:<kind>"), from the server's msid lines
    this.pc = new RTCPeerConnection({ iceServers: [] });
    this.pc.onicecandidate = (e) => {
      if (!e.candidate || !e.candidate.candidate || this.closed) return;
      this.cmd("media.candidate", { candidate: e.candidate.toJSON() }).catch(() => { /* best effort */ });
    };
    this.pc.ontrack = () => this.opts.onRemote?.();
    this.pc.onconnectionstatechange = () => this.opts.onConnection?.(this.pc.connectionState);
  }

  cmd(type, fields = {}) {
    return this.socket.request(type, { ...fields, room: this.room });
  }

  /** The ICE servers of the join reply (STUN, TURN with short-lived credentials). */
  setIceServers(list) {
    const iceServers = (Array.isArray(list) ? list : []).filter((s) => s && s.urls)
      .map((s) => ({ urls: s.urls, ...(s.username ? { username: s.username } : {}), ...(s.credential ? { credential: s.credential } : {}) }));
    try { this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers }); } catch (e) { console.warn("haven: ice servers", e); }
  }

  /** Run op after every earlier description change; its failure is the caller's, not the queue's. */
  enqueue(op) {
    const run = this.chain.then(() => (this.closed ? undefined : op()));
    this.chain = run.catch(() => {});
    return run;
  }

  /** Hold every description change until gate resolves (used while media.join is in flight). */
  hold(gate) { this.enqueue(() => gate); }

  /** The server offers: answer it (a local offer not yet accepted is rolled back first). */
  serverOffer(sdp) {
    return this.enqueue(async () => {
      if (this.pc.signalingState === "have-local-offer") await this.pc.setLocalDescription({ type: "rollback" });
      await this.pc.setRemoteDescription({ type: "offer", sdp });
      this.learn(sdp);
      await this.pc.setLocalDescription();
      await this.cmd("media.answer", { sdp: this.pc.localDescription.sdp });
      this.opts.onRemote?.();
    });
  }

  /** Offer what we send now. Calls made before the queued offer starts share it. */
  negotiate() {
    if (this.offerQueued) return this.offerQueued;
    // A conflict resolves the op with true: the server's offer is queued behind it by then
    // (it arrived before the reply), so the retry, queued now, comes after our answer.
    const p = this.enqueue(() => this.offer()).then((retry) => (retry && !this.closed ? this.negotiate() : undefined));
    this.offerQueued = p;
    return p;
  }

  async offer() {
    this.offerQueued = null;
    await this.pc.setLocalDescription(); // an offer, with the mids of new transceivers
    let reply;
    try {
      for (const { kind, transceiver } of this.opts.declare?.() || []) {
        if (transceiver.mid) await this.cmd("media.publish", { kind, mid: transceiver.mid });
      }
      reply = await this.cmd("media.offer", { sdp: this.pc.localDescription.sdp });
    } catch (err) {
      if (this.pc.signalingState === "have-local-offer") await this.pc.setLocalDescription({ type: "rollback" });
      if (err.code === "conflict") return true;
      throw err;
    }
    await this.pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    this.learn(reply.sdp);
    this.opts.onRemote?.();
    return false;
  }

  /** Remember which track each of the server's m-lines carries (a=mid and a=msid). */
  learn(sdp) {
    for (const section of String(sdp).split(/\r?\nm=/).slice(1)) {
      const mid = /\r?\na=mid:(\S+)/.exec(section);
      const msid = /\r?\na=msid:(\S+) (\S+)/.exec(section);
      if (mid && msid) this.mids.set(mid[1], msid[2]);
    }
  }

  /** Track id → MediaStreamTrack, for everything the server sends us now. */
  remoteTracks() {
    const out = new Map();
    if (this.closed) return out;
    for (const t of this.pc.getTransceivers()) {
      const dir = t.currentDirection;
      if (!t.mid || !t.receiver?.track || (dir !== "recvonly" && dir !== "sendrecv")) continue;
      const id = this.mids.get(t.mid);
      if (id) out.set(id, t.receiver.track);
    }
    return out;
  }

  async stats() {
    return this.closed ? new Map() : this.pc.getStats();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.onicecandidate = this.pc.ontrack = this.pc.onconnectionstatechange = null;
    try { this.pc.close(); } catch { /* already closed */ }
  }
}
