// The live room view: messages merged by seq, history on scroll-up, presence, typing,
// sending with pending state and idempotent resend, delete, report, moderation notices.
// User text is rendered with textContent only (see ui.js h()).

import { uuid } from "./socket.js";
import { h, notify, formatTime, formatFull, formatUntil, roleBadge, avatarClass, explainError } from "./ui.js";

const HISTORY_PAGE = 50;
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOW_MS = 5000;
const KIND_LABEL = { chat: "Chat", webinar: "Webinar", support: "Support group" };

export function kindLabel(kind) { return KIND_LABEL[kind] || kind || ""; }
export function sponsorName(s) {
  if (!s) return "";
  if (typeof s === "string") return s;
  return s.name || s.display_name || "";
}
function userId(u) { return u && typeof u === "object" ? u.id : u; }

export class RoomView {
  /**
   * ctx: {slug, room?, socket, me, container, askGuidelines(room, text, version) → Promise<bool>,
   *       openReport(text) → Promise<reason|null>, showGuidelines(room), onDecline(), onBack(),
   *       onRemoved(slug)}
   */
  constructor(ctx) {
    this.ctx = ctx;
    this.slug = ctx.slug;
    this.socket = ctx.socket;
    this.me = ctx.me;
    this.room = ctx.room || { slug: ctx.slug, name: ctx.slug };
    this.msgs = new Map(); // seq -> {msg, el}
    this.outbox = new Map(); // client_msg_id -> {id, text, el, state}
    this.typers = new Map(); // user id -> {name, timer}
    this.lastSeq = 0;
    this.hasJoined = false; // joined at least once: later joins send since
    this.joined = false; // joined on the current connection
    this.joining = null;
    this.removed = false;
    this.closed = false;
    this.loadingHistory = false;
    this.reachedStart = false;
    this.lastTypingSent = 0;
    this.online = null;
  }

  // ---------- DOM ----------

  mount() {
    const c = this.ctx.container;
    this.els = {};
    const e = this.els;
    e.title = h("h1", { id: "room-name" });
    e.sub = h("p", { class: "room-sub" });
    e.sponsor = h("p", { class: "room-sub room-sponsor", hidden: true });
    e.flags = h("div", { class: "room-flags" });
    e.presence = h("span", { id: "presence-count", class: "presence", "aria-live": "off" }, "…");
    e.guidelinesBtn = h("button", { type: "button", class: "btn btn-quiet btn-small room-guidelines", onclick: () => this.ctx.showGuidelines(this.room) }, "Guidelines");
    const back = h("button", { type: "button", class: "btn btn-quiet btn-small room-back", "aria-label": "Back to rooms", onclick: () => this.ctx.onBack() }, "← Rooms");
    const header = h("header", { class: "room-header" },
      back,
      h("div", { class: "room-title" }, e.title, e.sub, e.sponsor, e.flags),
      e.guidelinesBtn,
      e.presence);

    e.historyStatus = h("div", { class: "history-status" });
    e.list = h("ol", { class: "messages", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "Messages" });
    e.wrap = h("div", { class: "messages-wrap", tabindex: "0" }, e.historyStatus, e.list);
    e.wrap.addEventListener("scroll", () => { if (e.wrap.scrollTop < 120) this.loadOlder(); }, { passive: true });

    e.typing = h("div", { class: "typing", id: "typing" });

    e.textarea = h("textarea", { name: "text", rows: "1", placeholder: "Write a message…", "aria-label": "Message", maxlength: "4000", autocomplete: "off" });
    e.send = h("button", { id: "send", type: "submit", class: "btn btn-primary" }, "Send");
    e.composer = h("form", { id: "composer", autocomplete: "off" }, e.textarea, e.send);
    e.status = h("p", { class: "composer-status", role: "status", "aria-live": "polite", hidden: true });
    e.hint = h("p", { class: "composer-hint" }, "Enter to send · Shift+Enter for a new line · Please don't share personal details.");
    e.composerWrap = h("div", { class: "composer-wrap" }, e.status, e.composer, e.hint);

    e.composer.addEventListener("submit", (ev) => { ev.preventDefault(); this.submit(); });
    e.textarea.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); this.submit(); }
    });
    e.textarea.addEventListener("input", () => { this.autosize(); this.maybeSendTyping(); });

    c.replaceChildren(header, e.wrap, e.typing, e.composerWrap);
    c.dataset.slug = this.slug;
    this.renderHeader();
    this.renderHistoryStatus();
  }

  autosize() {
    const t = this.els.textarea;
    t.style.height = "auto"; // CSSOM, allowed by the CSP (unlike style attributes in markup)
    t.style.height = Math.min(t.scrollHeight + 2, window.innerHeight * 0.4) + "px";
  }

  renderHeader() {
    const r = this.room, e = this.els;
    if (!e) return;
    e.title.textContent = r.name || r.slug;
    e.sub.textContent = [r.condition, kindLabel(r.kind), r.visibility === "private" ? "Private" : ""].filter(Boolean).join(" · ");
    const sp = sponsorName(r.sponsor);
    e.sponsor.hidden = !sp;
    e.sponsor.textContent = sp ? `Sponsored by ${sp}` : "";
    const flags = [];
    if (r.locked) flags.push(h("span", { class: "flag flag-warn" }, "Locked"));
    if (r.slow_mode_s > 0) flags.push(h("span", { class: "flag" }, `Slow mode: ${r.slow_mode_s} s`));
    e.flags.replaceChildren(...flags);
    e.flags.hidden = flags.length === 0;
    document.title = `${r.name || r.slug} — Haven`;
  }

  setOnline(n) {
    if (typeof n !== "number") return;
    this.online = n;
    this.els.presence.textContent = `${n} online`;
    this.els.presence.title = `${n} ${n === 1 ? "person" : "people"} in this room now`;
  }

  renderHistoryStatus() {
    const s = this.els.historyStatus;
    s.replaceChildren();
    if (!this.hasJoined) { s.textContent = "Joining…"; return; }
    if (this.loadingHistory) { s.textContent = "Loading earlier messages…"; return; }
    if (this.reachedStart) {
      s.textContent = this.msgs.size ? "This is the beginning of the conversation." : "No messages yet — say hello.";
      return;
    }
    s.append(h("button", { type: "button", class: "link-btn", onclick: () => this.loadOlder() }, "Load earlier messages"));
  }

  status(text, kind = "info") {
    const s = this.els.status;
    s.textContent = text || "";
    s.className = `composer-status ${kind}`;
    s.hidden = !text;
  }

  nearBottom() {
    const w = this.els.wrap;
    return w.scrollHeight - w.scrollTop - w.clientHeight < 150;
  }
  scrollToBottom() { const w = this.els.wrap; w.scrollTop = w.scrollHeight; }

  // ---------- joining and recovery ----------

  /** Join (or re-join after a reconnect with since = last seq seen). */
  join(opts = {}) {
    if (this.closed || this.removed) return Promise.resolve();
    if (this.joining && !opts.accept) return this.joining;
    const p = this._join(opts).finally(() => { if (this.joining === p) this.joining = null; });
    this.joining = p;
    return p;
  }

  async _join({ accept } = {}) {
    this.joined = false;
    const fields = { room: this.slug };
    if (this.hasJoined) fields.since = this.lastSeq;
    if (accept !== undefined) fields.accept_guidelines = accept;
    let reply;
    try {
      reply = await this.socket.request("join", fields);
    } catch (err) {
      if (this.closed) return;
      if (err.code === "guidelines_required") {
        const ok = await this.ctx.askGuidelines(this.room, err.guidelines || "", err.guidelines_version);
        if (this.closed) return;
        if (ok) return this._join({ accept: err.guidelines_version });
        this.ctx.onDecline(this.slug);
        return;
      }
      if (err.code === "disconnected") { this.status("Waiting for the connection…"); return; } // onOpen re-joins
      if (err.code === "timeout") { this.status("Haven is slow to answer — retrying…"); return; }
      if (err.code === "banned" || err.code === "forbidden" || err.code === "not_found") {
        this.closeComposer(explainError(err));
        notify(explainError(err), { kind: "error", key: "join-" + this.slug });
        return;
      }
      this.status(explainError(err), "error");
      return;
    }
    if (this.closed) { this.socket.request("leave", { room: this.slug }).catch(() => {}); return; }
    await this.applyJoin(reply);
  }

  async applyJoin(reply) {
    if (reply.room) { this.room = { ...this.room, ...reply.room }; this.renderHeader(); }
    this.setOnline(reply.online);
    const msgs = Array.isArray(reply.messages) ? reply.messages : [];
    const first = !this.hasJoined;
    const lastSeq = Number(reply.last_seq) || 0;
    this.els.list.setAttribute("aria-busy", "true");
    if (reply.truncated && !first) {
      // More was missed than the server returns: start over from the latest messages
      // instead of showing a conversation with a hole in it.
      this.clearMessages();
      notify("You were away for a while — showing the latest messages. Scroll up for earlier ones.", { key: "trunc-" + this.slug });
      const maxSeq = msgs.length ? msgs[msgs.length - 1].seq : 0;
      if (maxSeq >= lastSeq) this.addMessages(msgs);
      else {
        try {
          const h2 = await this.socket.request("history", { room: this.slug, before: lastSeq + 1, limit: HISTORY_PAGE });
          this.addMessages(h2.messages || []);
        } catch { this.addMessages(msgs); }
      }
    } else {
      this.addMessages(msgs);
    }
    this.els.list.removeAttribute("aria-busy");
    this.lastSeq = Math.max(this.lastSeq, lastSeq);
    this.hasJoined = true;
    this.joined = true;
    if (first || reply.truncated) {
      const oldest = this.oldestSeq();
      this.reachedStart = !oldest ? lastSeq === 0 || msgs.length === 0 : oldest <= 1;
      this.scrollToBottom();
    }
    this.renderHistoryStatus();
    if (!this.removed) this.status("");
    this.flushOutbox();
  }

  /** The connection dropped: replies to this connection's commands will not come. */
  disconnected() {
    this.joined = false;
  }

  leave() {
    this.closed = true;
    for (const t of this.typers.values()) clearTimeout(t.timer);
    if (this.joined && !this.removed) this.socket.request("leave", { room: this.slug }).catch(() => {});
    this.joined = false;
  }

  // ---------- messages ----------

  oldestSeq() {
    const first = this.els.list.querySelector(".message[data-seq]");
    return first ? Number(first.dataset.seq) : 0;
  }

  clearMessages() {
    this.msgs.clear();
    for (const el of [...this.els.list.querySelectorAll(".message[data-seq]")]) el.remove();
  }

  addMessages(list) {
    for (const m of list) this.addMessage(m);
  }

  /** Insert or update a stored message, keeping the list ordered by seq and unique. */
  addMessage(m) {
    const seq = Number(m.seq);
    if (!Number.isFinite(seq) || seq <= 0 || m.room && m.room !== this.slug) return;
    this.lastSeq = Math.max(this.lastSeq, seq);
    const have = this.msgs.get(seq);
    if (have) {
      if (have.msg._local && !m._local) { // our optimistic copy: take the server's version
        const el = this.renderMessage(m);
        have.el.replaceWith(el);
        this.msgs.set(seq, { msg: m, el });
      }
      return;
    }
    const el = this.renderMessage(m);
    this.msgs.set(seq, { msg: m, el });
    const list = this.els.list;
    // Usually the newest: walk back from the end.
    let before = null;
    const seqd = list.querySelectorAll(".message[data-seq]");
    for (let i = seqd.length - 1; i >= 0; i--) {
      if (Number(seqd[i].dataset.seq) < seq) { before = seqd[i].nextElementSibling; break; }
      if (i === 0) before = seqd[0];
    }
    if (seqd.length === 0) before = list.querySelector(".message.pending, .message.failed, .message.held");
    list.insertBefore(el, before);
  }

  renderMessage(m) {
    const author = m.author || {};
    const own = this.me && author.id === this.me.id;
    const deleted = !!(m.deleted || m.deleted_at);
    const name = author.display_name || "Member";
    const li = h("li", {
      class: "message" + (own ? " own" : "") + (deleted ? " deleted" : ""),
      dataset: { seq: String(m.seq), ...(m.message_id ? { messageId: String(m.message_id) } : {}) },
    },
    h("span", { class: `avatar ${avatarClass(author.id)}`, "aria-hidden": "true" }, (name.trim()[0] || "?").toUpperCase()),
    h("div", { class: "meta" },
      h("span", { class: "author" }, name),
      roleBadge(author),
      h("time", { datetime: m.ts || "", title: m.ts ? formatFull(m.ts) : "" }, formatTime(m.ts))),
    h("p", { class: "text" }, deleted ? "message deleted" : String(m.text ?? "")));
    if (!deleted) li.append(this.renderActions(m, own));
    return li;
  }

  renderActions(m, own) {
    const acts = h("div", { class: "msg-actions" });
    const canModerate = this.me && (this.me.role === "admin" || this.me.role === "moderator");
    if (own || canModerate) {
      const del = h("button", { type: "button", class: "btn btn-small delete", "aria-label": "Delete message" }, "Delete");
      let armed = null;
      del.addEventListener("click", () => {
        if (!armed) { // two steps, no blocking confirm(): click "Delete", then "Really delete?"
          del.textContent = "Really delete?";
          del.classList.add("btn-danger", "confirm");
          armed = setTimeout(() => { armed = null; del.textContent = "Delete"; del.classList.remove("btn-danger", "confirm"); }, 5000);
          return;
        }
        clearTimeout(armed);
        armed = null;
        this.deleteMessage(m.seq, del);
      });
      acts.append(del);
    }
    if (!own) {
      acts.append(h("button", { type: "button", class: "btn btn-small report", "aria-label": "Report message", onclick: () => this.reportMessage(m) }, "Report"));
    }
    return acts;
  }

  markDeleted(seq) {
    const have = this.msgs.get(Number(seq));
    if (!have) return;
    have.msg = { ...have.msg, deleted: true };
    have.el.classList.add("deleted");
    have.el.querySelector(".text").textContent = "message deleted";
    have.el.querySelector(".msg-actions")?.remove();
  }

  async deleteMessage(seq, btn) {
    btn.disabled = true;
    try {
      await this.socket.request("delete", { room: this.slug, seq: Number(seq) });
      this.markDeleted(seq);
    } catch (err) {
      btn.disabled = false;
      btn.textContent = "Delete";
      btn.classList.remove("btn-danger", "confirm");
      notify("Could not delete the message: " + explainError(err), { kind: "error" });
    }
  }

  async reportMessage(m) {
    const reason = await this.ctx.openReport(m.text || "");
    if (!reason) return;
    try {
      await this.socket.request("report", { room: this.slug, seq: Number(m.seq), reason });
      notify("Thank you. A moderator will review this message.", { key: "report" });
    } catch (err) {
      notify("Your report was not sent: " + explainError(err), { kind: "error", key: "report" });
    }
  }

  async loadOlder() {
    if (this.loadingHistory || this.reachedStart || !this.hasJoined || !this.joined) return;
    const before = this.oldestSeq();
    if (!before) { this.reachedStart = true; this.renderHistoryStatus(); return; }
    this.loadingHistory = true;
    this.renderHistoryStatus();
    const w = this.els.wrap;
    try {
      const reply = await this.socket.request("history", { room: this.slug, before, limit: HISTORY_PAGE });
      const msgs = reply.messages || [];
      const prevH = w.scrollHeight, prevTop = w.scrollTop;
      this.els.list.setAttribute("aria-busy", "true");
      this.addMessages(msgs);
      this.els.list.removeAttribute("aria-busy");
      w.scrollTop = prevTop + (w.scrollHeight - prevH); // keep the reader's place
      if (msgs.length < HISTORY_PAGE || this.oldestSeq() <= 1) this.reachedStart = true;
    } catch (err) {
      if (err.code !== "disconnected") notify("Could not load earlier messages: " + explainError(err), { kind: "error", key: "history" });
    } finally {
      this.loadingHistory = false;
      this.renderHistoryStatus();
    }
  }

  // ---------- sending ----------

  submit() {
    if (this.removed || this.closed) return;
    const text = this.els.textarea.value;
    if (!text.trim()) return;
    this.els.textarea.value = "";
    this.autosize();
    this.lastTypingSent = 0;
    this.status("");
    const entry = { id: uuid(), text, state: "queued", el: null };
    entry.el = this.renderPending(entry);
    this.outbox.set(entry.id, entry);
    this.els.list.append(entry.el);
    this.scrollToBottom();
    this.trySend(entry);
    this.els.textarea.focus();
  }

  renderPending(entry) {
    const name = this.me?.display_name || "You";
    return h("li", { class: "message own pending", dataset: { clientMsgId: entry.id } },
      h("span", { class: `avatar ${avatarClass(this.me?.id)}`, "aria-hidden": "true" }, (name[0] || "?").toUpperCase()),
      h("div", { class: "meta" },
        h("span", { class: "author" }, name),
        roleBadge(this.me),
        h("span", { class: "status" }, "Sending…")),
      h("p", { class: "text" }, entry.text));
  }

  setPendingState(entry, state, label) {
    entry.state = state;
    const el = entry.el;
    el.classList.toggle("pending", state !== "failed");
    el.classList.toggle("failed", state === "failed");
    el.querySelector(".status").textContent = label;
    el.querySelector(".failed-actions")?.remove();
    if (state === "failed") {
      el.append(h("div", { class: "failed-actions" },
        h("button", { type: "button", class: "btn btn-small btn-secondary retry", onclick: () => this.trySend(entry) }, "Try again"),
        h("button", { type: "button", class: "btn btn-small btn-quiet discard", onclick: () => { this.outbox.delete(entry.id); el.remove(); } }, "Discard")));
    }
  }

  async trySend(entry) {
    if (!this.outbox.has(entry.id) || entry.state === "sending") return;
    if (!this.joined) { this.setPendingState(entry, "queued", "Waiting for connection…"); return; }
    this.setPendingState(entry, "sending", "Sending…");
    try {
      const reply = await this.socket.request("send", { room: this.slug, text: entry.text, client_msg_id: entry.id });
      this.confirm(entry, reply);
    } catch (err) {
      if (!this.outbox.has(entry.id)) return;
      switch (err.code) {
        case "disconnected":
          this.setPendingState(entry, "queued", "Waiting for connection…"); // re-sent after re-join
          return;
        case "timeout":
          // It may have been stored: resending the same client_msg_id is safe.
          this.setPendingState(entry, "queued", "Still sending…");
          setTimeout(() => { if (entry.state === "queued") this.trySend(entry); }, 1500);
          return;
        case "not_member":
          this.setPendingState(entry, "queued", "Rejoining…");
          if (!entry.rejoined) { entry.rejoined = true; this.join(); return; }
          break;
        case "guidelines_required":
          // The guidelines changed while we were in the room: join again, which shows the
          // new guidelines; once accepted, the re-join re-sends the queued messages.
          if (entry.guidelinesRetry) break;
          entry.guidelinesRetry = true;
          this.setPendingState(entry, "queued", "Waiting for you to accept the new guidelines…");
          this.joined = false;
          this.join();
          return;
      }
      this.setPendingState(entry, "failed", "Not sent");
      this.status(explainError(err), "error");
    }
  }

  confirm(entry, reply) {
    this.outbox.delete(entry.id);
    if (reply.seq === undefined || reply.seq === null) {
      // Accepted but not published (e.g. held for review by the moderation pipeline).
      entry.state = "held";
      entry.el.classList.remove("pending");
      entry.el.classList.add("held");
      entry.el.querySelector(".status").textContent = reply.held || reply.status === "held" ? "Held for review" : "Sent";
      return;
    }
    entry.el.remove();
    if (!this.msgs.has(Number(reply.seq))) {
      const stick = this.nearBottom();
      this.addMessage({ room: this.slug, seq: reply.seq, message_id: reply.message_id, author: this.me, text: reply.text ?? entry.text, ts: reply.ts || new Date().toISOString(), _local: true });
      if (stick) this.scrollToBottom();
    }
  }

  flushOutbox() {
    for (const entry of this.outbox.values()) if (entry.state === "queued") this.trySend(entry);
  }

  maybeSendTyping() {
    if (!this.joined || this.removed) return;
    if (!this.els.textarea.value.trim()) return;
    const now = Date.now();
    if (now - this.lastTypingSent < TYPING_SEND_EVERY_MS) return;
    this.lastTypingSent = now;
    this.socket.request("typing", { room: this.slug }).catch(() => {});
  }

  renderTyping() {
    const names = [...this.typers.values()].map((t) => t.name);
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = "Several people are typing…";
    this.els.typing.textContent = text;
  }

  stopTyping(id) {
    const t = this.typers.get(id);
    if (!t) return;
    clearTimeout(t.timer);
    this.typers.delete(id);
    this.renderTyping();
  }

  closeComposer(text) {
    this.els.composerWrap.replaceChildren(h("p", { class: "room-closed", role: "status" }, text));
  }

  // ---------- events ----------

  handleEvent(ev) {
    switch (ev.type) {
      case "message": {
        const stick = this.nearBottom();
        const author = ev.author || {};
        if (this.me && author.id === this.me.id) {
          // Our own message may arrive before the ok reply: hide the pending copy.
          for (const entry of this.outbox.values()) {
            if (entry.state === "sending" && entry.text === ev.text) { entry.el.hidden = true; break; }
          }
        }
        this.addMessage(ev);
        this.stopTyping(author.id);
        if (stick || (this.me && author.id === this.me.id)) this.scrollToBottom();
        if (this.reachedStart) this.renderHistoryStatus();
        break;
      }
      case "message_deleted":
        this.markDeleted(ev.seq);
        break;
      case "presence":
        this.setOnline(ev.online);
        if (ev.left) this.stopTyping(userId(ev.left));
        break;
      case "typing": {
        const u = ev.user || {};
        const id = userId(u);
        if (!id || (this.me && id === this.me.id)) return;
        const prev = this.typers.get(id);
        if (prev) clearTimeout(prev.timer);
        this.typers.set(id, { name: u.display_name || "Someone", timer: setTimeout(() => this.stopTyping(id), TYPING_SHOW_MS) });
        this.renderTyping();
        break;
      }
      case "moderation":
        this.handleModeration(ev);
        break;
      case "removed":
        this.handleRemoved(ev);
        break;
    }
  }

  handleModeration(ev) {
    const target = ev.target;
    const tid = userId(target);
    const aboutMe = tid ? this.me && tid === this.me.id : ev.action === "mute" || ev.action === "unmute";
    const who = target && typeof target === "object" ? target.display_name : "A member";
    const reason = ev.reason ? ` Reason: ${ev.reason}` : "";
    const room = this.room.name || this.slug;
    let text;
    let kind = "warn";
    switch (ev.action) {
      case "mute":
        if (aboutMe) {
          text = (ev.until ? `You are muted in ${room} until ${formatUntil(ev.until)}.` : `You are muted in ${room}.`) + reason;
          this.status(text, "error");
        } else text = `${who} was muted by a moderator.`;
        break;
      case "unmute":
        if (aboutMe) { text = `You can post in ${room} again.`; kind = "info"; this.status(""); }
        else return;
        break;
      case "slow_mode": {
        const s = Number(ev.seconds ?? ev.slow_mode_s ?? ev.value ?? ev.duration_s ?? 0);
        this.room.slow_mode_s = s;
        this.renderHeader();
        text = s > 0 ? `Slow mode: ${s} s between messages.` : "Slow mode is off.";
        kind = "info";
        break;
      }
      case "lock":
      case "unlock": {
        const locked = ev.action === "unlock" ? false : ev.locked !== undefined ? !!ev.locked : true;
        this.room.locked = locked;
        this.renderHeader();
        text = locked ? `Room locked: no new messages in ${room} for now.` + reason : `${room} is open again.`;
        kind = locked ? "warn" : "info";
        break;
      }
      case "remove":
      case "ban":
        if (aboutMe) return; // a "removed" event follows
        text = `${who} was ${ev.action === "ban" ? "banned" : "removed"} by a moderator.`;
        kind = "info";
        break;
      default:
        text = `Moderation in ${room}: ${ev.action}${aboutMe ? " (you)" : ""}.` + reason;
    }
    notify(text, { kind, timeout: aboutMe ? 0 : 10000, key: `mod-${this.slug}-${ev.action}-${tid || ""}` });
  }

  handleRemoved(ev) {
    this.removed = true;
    this.joined = false;
    for (const entry of this.outbox.values()) this.setPendingState(entry, "failed", "Not sent");
    this.outbox.clear();
    const room = this.room.name || this.slug;
    const text = ev.banned
      ? `You were banned from ${room}` + (ev.reason ? `: ${ev.reason}` : ".")
      : `You were removed from this room: ${ev.reason || "no reason given"}`;
    this.closeComposer(text);
    notify(text, { kind: "error", timeout: 0, key: "removed-" + this.slug });
    this.ctx.onRemoved?.(this.slug, ev);
  }
}
