// The WebSocket connection (PROTOCOL v1, subprotocol "haven.v1"): commands with exactly one
// reply each, correlated by id; events dispatched by type; reconnection with exponential
// backoff and jitter. Room recovery (join with since, resending unacknowledged messages)
// belongs to the room views, which listen to onOpen.

export const PROTOCOL = "haven.v1";

/** A command's error reply (or a local failure: code "disconnected" or "timeout"). */
export class CommandError extends Error {
  constructor(reply) {
    super(reply.message || reply.code);
    Object.assign(this, reply);
    this.code = reply.code || "internal";
  }
}

export function defaultURL() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

export class HavenSocket {
  constructor({ url = defaultURL(), timeoutMs = 10000, maxBackoffMs = 10000, baseBackoffMs = 500 } = {}) {
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.maxBackoffMs = maxBackoffMs;
    this.baseBackoffMs = baseBackoffMs;
    this.ws = null;
    this.nextId = 0;
    this.pending = new Map(); // id -> {resolve, reject, timer, type}
    this.handlers = new Map(); // type -> Set(fn); "*" gets every event
    this.stateFns = new Set();
    this.openFns = new Set();
    this.failFns = new Set();
    this.attempt = 0;
    this.everOpened = false;
    this.stopped = true;
    this.retryTimer = null;
    this.serverDelay = null; // from a "reconnect" event
    this.state = "idle";
    this.lastRecv = 0;
    this._online = () => this.reconnectNow();
    this._offline = () => { if (!this.isOpen) this._setState("offline"); };
  }

  get isOpen() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }
  onState(fn) { this.stateFns.add(fn); return () => this.stateFns.delete(fn); }
  /** fn({reconnect}) after every successful (re)connection. */
  onOpen(fn) { this.openFns.add(fn); return () => this.openFns.delete(fn); }
  /** fn(closeEvent) when an attempt closes before opening (e.g. the upgrade got 401). */
  onConnectFailed(fn) { this.failFns.add(fn); return () => this.failFns.delete(fn); }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this._online);
    window.addEventListener("offline", this._offline);
    this._connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this._online);
    window.removeEventListener("offline", this._offline);
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) { try { ws.close(1000, "bye"); } catch { /* already closed */ } }
    this._failPending("disconnected", "The connection was closed.");
    this._setState("closed");
  }

  /** Skip the backoff wait (e.g. the browser says the network is back). */
  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this._connect();
  }

  /**
   * Send a command; resolves with the ok reply, rejects with a CommandError.
   * Fails at once with code "disconnected" when the socket is not open.
   */
  request(type, fields = {}, { timeoutMs = this.timeoutMs } = {}) {
    if (!this.isOpen) {
      return Promise.reject(new CommandError({ code: "disconnected", message: "Not connected." }));
    }
    const id = "c" + (++this.nextId);
    const frame = JSON.stringify({ ...fields, id, type });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CommandError({ code: "timeout", message: "No reply in time." }));
        // Nothing heard for a whole timeout: the connection is probably dead. Replace it.
        if (this.ws && Date.now() - this.lastRecv >= timeoutMs) this._drop("command timeout");
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, type });
      try {
        this.ws.send(frame);
      } catch {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new CommandError({ code: "disconnected", message: "Not connected." }));
      }
    });
  }

  _connect() {
    if (this.stopped) return;
    this._setState(this.everOpened ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(this.url, PROTOCOL);
    } catch {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    let opened = false;
    let openedAt = 0;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      opened = true;
      openedAt = Date.now();
      this.lastRecv = openedAt;
      const reconnect = this.everOpened;
      this.everOpened = true;
      this._setState("open", { reconnect });
      for (const fn of this.openFns) safe(fn, { reconnect });
    };
    ws.onmessage = (e) => { if (this.ws === ws) this._onFrame(e.data); };
    ws.onerror = () => { /* a close event follows */ };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this._failPending("disconnected", "The connection was lost.");
      if (this.stopped) return;
      if (!opened) for (const fn of this.failFns) safe(fn, e);
      // Only a connection that stayed up for a while resets the backoff: a server that
      // accepts and drops at once must not be hammered.
      if (opened && Date.now() - openedAt > 5000) this.attempt = 0;
      this._scheduleReconnect();
    };
  }

  _scheduleReconnect() {
    if (this.stopped) return;
    let delay;
    if (this.serverDelay !== null) {
      delay = this.serverDelay;
      this.serverDelay = null;
    } else {
      const cap = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** this.attempt);
      delay = cap / 2 + Math.random() * (cap / 2); // "equal jitter": spread, never instant
      this.attempt++;
    }
    const offline = typeof navigator !== "undefined" && navigator.onLine === false;
    this._setState(offline ? "offline" : "reconnecting", { delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => { this.retryTimer = null; this._connect(); }, delay);
  }

  _drop(reason) {
    const ws = this.ws;
    if (!ws) return;
    try { ws.close(4000, reason); } catch { /* ignore */ }
    // Do not wait for the closing handshake of a dead connection.
    ws.onclose?.({ code: 4000, reason, wasClean: false });
  }

  _onFrame(data) {
    this.lastRecv = Date.now();
    if (typeof data !== "string") return;
    for (const line of data.split("\n")) {
      if (!line.trim()) continue;
      let msg;
      try { msg = JSON.parse(line); } catch { console.warn("haven: bad frame line", line); continue; }
      if (!msg || typeof msg !== "object") continue;
      this._dispatch(msg);
    }
  }

  _dispatch(msg) {
    if ((msg.type === "ok" || msg.type === "error") && msg.re !== undefined && msg.re !== null) {
      const p = this.pending.get(msg.re);
      if (!p) return; // a late reply after a timeout
      this.pending.delete(msg.re);
      clearTimeout(p.timer);
      if (msg.type === "ok") p.resolve(msg);
      else p.reject(new CommandError(msg));
      return;
    }
    if (msg.type === "reconnect") {
      // The node is draining: go elsewhere after retry_after_ms (plus jitter, so that a
      // node's clients do not all arrive at once), then recover with join since.
      const after = Math.max(0, Number(msg.retry_after_ms) || 0);
      this.serverDelay = after + Math.random() * Math.min(2000, Math.max(250, after));
      this._emit(msg);
      this._drop("server asked to reconnect");
      return;
    }
    this._emit(msg);
  }

  _emit(msg) {
    for (const fn of this.handlers.get(msg.type) || []) safe(fn, msg);
    for (const fn of this.handlers.get("*") || []) safe(fn, msg);
  }

  _failPending(code, message) {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(new CommandError({ code, message }));
    }
  }

  _setState(state, detail = {}) {
    this.state = state;
    for (const fn of this.stateFns) safe(fn, state, detail);
  }
}

function safe(fn, ...args) {
  try { fn(...args); } catch (e) { console.error("haven:", e); }
}

/** crypto.randomUUID needs a secure context; fall back to getRandomValues elsewhere. */
export function uuid() {
  if (globalThis.crypto?.randomUUID) {
    try { return crypto.randomUUID(); } catch { /* not a secure context */ }
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
