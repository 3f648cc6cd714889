// The live room view: messages merged by seq, history on scroll-up, presence, typing,
// sending with pending state and idempotent resend, delete, report, and what moderation
// means for this member (restrictions.js) or, for moderators, the panel (moderation.js).
// User text is rendered with textContent only (see ui.js h()).

import { h, notify, explainError } from "./ui.js";
import { ComposerGuard, renderGone, applyModerationEvent } from "./restrictions.js";
import { attachModerator, detachModerator, moderates } from "./moderation.js";
import { renderMessage } from "./messages.js";
import { Outbox } from "./sending.js";
import { attachWebinar } from "./webinar.js";
import { DisclosureBanner } from "./disclosure.js";
import { applyEdit, showResources, showCrisisAlert } from "./screening.js";

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
   *       openReport(text) → Promise<{category, reason}|null>, showGuidelines(room), onDecline(),
   *       onBack(), onRemoved(slug), onRejoin(slug)}
   */
  constructor(ctx) {
    this.ctx = ctx;
    this.slug = ctx.slug;
    this.socket = ctx.socket;
    this.me = ctx.me;
    this.room = ctx.room || { slug: ctx.slug, name: ctx.slug };
    this.msgs = new Map(); // seq -> {msg, el}
    this.outbox = new Outbox(this); // messages not yet confirmed, and those held for review
    this.isModerator = false; // of this room: decided from the join reply (applyStanding)
    this.standing = null; // the join reply's member: {role, muted_until?}
    this.panel = null;
    this.webinar = null; // webinar and support rooms: sessions, media, Q&A and polls (webinar.js)
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
    e.modToggle = h("button", { id: "mod-toggle", type: "button", class: "btn btn-secondary btn-small room-mod-toggle", "aria-expanded": "false", "aria-controls": "mod-panel", hidden: true },
      "Moderation", h("span", { class: "count", hidden: true }));
    const header = h("header", { class: "room-header" },
      back,
      h("div", { class: "room-title" }, e.title, e.sub, e.sponsor, e.flags),
      e.guidelinesBtn,
      e.presence,
      e.modToggle);

    e.historyStatus = h("div", { class: "history-status" });
    e.list = h("ol", { class: "messages", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "Messages" });
    e.wrap = h("div", { class: "messages-wrap", tabindex: "0" }, e.historyStatus, e.list);
    e.wrap.addEventListener("scroll", () => { if (e.wrap.scrollTop < 120) this.loadOlder(); }, { passive: true });

    e.typing = h("div", { class: "typing", id: "typing" });

    e.textarea = h("textarea", { name: "text", rows: "1", placeholder: "Write a message…", "aria-label": "Message", maxlength: "4000", autocomplete: "off" });
    e.send = h("button", { id: "send", type: "submit", class: "btn btn-primary" }, "Send");
    e.composer = h("form", { id: "composer", autocomplete: "off" }, e.textarea, e.send);
    e.status = h("p", { class: "composer-status", role: "status", "aria-live": "polite", hidden: true });
    e.banner = h("div", { class: "room-banner", role: "status", hidden: true });
    e.wait = h("p", { class: "composer-wait", role: "status", hidden: true });
    e.hint = h("p", { class: "composer-hint" }, "Enter to send · Shift+Enter for a new line · Please don't share personal details.");
    e.composerWrap = h("div", { class: "composer-wrap" }, e.banner, e.status, e.wait, e.composer, e.hint);

    e.composer.addEventListener("submit", (ev) => { ev.preventDefault(); this.submit(); });
    e.textarea.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); this.submit(); }
    });
    e.textarea.addEventListener("input", () => { this.autosize(); this.maybeSendTyping(); });

    e.chat = h("div", { class: "room-chat" }, e.wrap, e.typing, e.composerWrap);
    e.panel = h("aside", { id: "mod-panel", class: "mod-panel", hidden: true });
    e.body = h("div", { class: "room-body" }, e.chat, e.panel);
    e.disclosure = new DisclosureBanner(); // sponsor and disclosure, from each join reply
    c.replaceChildren(header, e.disclosure.el, e.body);
    c.dataset.slug = this.slug;
    this.guard = new ComposerGuard({ banner: e.banner, wait: e.wait, textarea: e.textarea, send: e.send },
      { onLift: (text) => this.status(text, "info") });
    this.renderHeader();
    this.renderHistoryStatus();
    this.guard.render();
    attachWebinar(this);
  }

  /**
   * The member's own standing from a join reply ({role, muted_until?}): moderators of this
   * room get the panel and moderator controls (moderation.js), hosts the composer's
   * exemptions, and a mute in force shows at once, after a page reload too. A reply
   * without `member` (an older server) leaves the room role to the global role alone.
   */
  applyStanding(member) {
    const known = !!member && typeof member === "object";
    if (known) {
      this.standing = member;
      const until = Date.parse(member.muted_until || "");
      if (until > Date.now()) {
        // Keep the reason an earlier mute event gave when it is the same mute.
        const same = this.guard.muted && Math.abs(this.guard.mutedUntil - until) < 1000;
        this.guard.mute(member.muted_until, same ? this.guard.muteReason : "");
      } else if (this.guard.mutedUntil > 0) {
        this.guard.unmute(); // lifted while we were away
      }
    }
    const host = known && member.role === "host";
    if (moderates(this.me, known ? member : null)) attachModerator(this);
    else if (known) {
      detachModerator(this, host);
      this.guard.setExempt(host); // the server exempts hosts from slow mode and lock too
    }
  }

  showMessage(seq) {
    const x = this.msgs.get(Number(seq));
    if (!x) return;
    x.el.scrollIntoView({ block: "center" });
    x.el.classList.add("flash");
    x.el.tabIndex = -1;
    x.el.focus({ preventScroll: true });
    setTimeout(() => x.el.classList.remove("flash"), 2000);
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
      if (err.code === "banned") {
        this.removed = true;
        this.showGone({ rejoinRefused: true });
        notify(explainError(err), { kind: "error", key: "join-" + this.slug });
        return;
      }
      if (err.code === "forbidden" || err.code === "not_found") {
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
    if (reply.room) {
      this.room = { ...this.room, ...reply.room };
      this.renderHeader();
      this.guard.setLocked(this.room.locked);
      this.panel?.renderRoom();
    }
    this.els.disclosure?.update(reply.disclosure);
    this.setOnline(reply.online);
    // Joined: "waiting for the connection" and the like are over (before the standing, whose
    // "your mute has ended" must stay).
    if (!this.removed) this.status("");
    if (!this.closed && !this.removed) this.applyStanding(reply.member);
    if (!this.closed && !this.removed) {
      attachWebinar(this); // the room's kind may be known only now
      this.webinar?.joined(reply);
    }
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
    this.panel?.noteMessages(msgs);
    this.lastSeq = Math.max(this.lastSeq, lastSeq);
    this.hasJoined = true;
    this.joined = true;
    if (first || reply.truncated) {
      const oldest = this.oldestSeq();
      this.reachedStart = !oldest ? lastSeq === 0 || msgs.length === 0 : oldest <= 1;
      this.scrollToBottom();
    }
    this.renderHistoryStatus();
    this.outbox.flush();
  }

  /** The connection dropped: replies to this connection's commands will not come. */
  disconnected() {
    this.joined = false;
    this.webinar?.disconnected();
  }

  leave() {
    this.closed = true;
    this.guard?.destroy();
    this.panel?.destroy();
    this.webinar?.destroy();
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
      if (have.msg._local && !m._local) this.replaceMessage(seq, m); // our optimistic copy: take the server's version
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

  renderMessage(m) { return renderMessage(this, m); }

  renameAuthor(author) {
    if (!author?.id) return;
    for (const [seq, have] of this.msgs) {
      if (have.msg.author?.id === author.id) this.replaceMessage(seq, { ...have.msg, author });
    }
  }

  /** Show msg in place of the message seq already on screen. */
  replaceMessage(seq, msg) {
    const have = this.msgs.get(seq);
    if (!have) return;
    const el = this.renderMessage(msg);
    have.el.replaceWith(el);
    this.msgs.set(seq, { msg, el });
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
    const report = await this.ctx.openReport(m.text || "");
    if (!report) return;
    try {
      // reason stays required by older servers; category is how moderators sort reports.
      await this.socket.request("report", { room: this.slug, seq: Number(m.seq), category: report.category, reason: report.reason || report.category });
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

  // ---------- sending (sending.js) ----------

  submit() {
    if (this.removed || this.closed || this.guard.blocked) return;
    const text = this.els.textarea.value;
    if (!text.trim()) return;
    this.els.textarea.value = "";
    this.autosize();
    this.lastTypingSent = 0;
    this.status("");
    this.outbox.add(text);
    this.scrollToBottom();
    this.els.textarea.focus();
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
        if (this.me && author.id === this.me.id) this.outbox.ownMessage(ev);
        this.addMessage(ev);
        this.stopTyping(author.id);
        if (stick || (this.me && author.id === this.me.id)) this.scrollToBottom();
        if (this.reachedStart) this.renderHistoryStatus();
        break;
      }
      case "message_deleted":
        this.markDeleted(ev.seq);
        break;
      case "author_renamed": // an erased account's posts, now under its pseudonym
        this.renameAuthor(ev.author);
        break;
      case "message_edited": // screening.js
        applyEdit(this, ev);
        break;
      case "safety.resources":
        showResources(this, ev);
        break;
      case "safety.crisis":
        showCrisisAlert(this, ev);
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
        return; // the panel is gone with the room
    }
    this.webinar?.handleEvent(ev);
    // The panel learns names and presence from the same stream, and takes review.* events.
    this.panel?.handleEvent(ev);
  }

  handleModeration(ev) {
    applyModerationEvent(this, ev);
  }

  handleRemoved(ev) {
    this.removed = true;
    this.joined = false;
    this.outbox.clear();
    const room = this.room.name || this.slug;
    const text = ev.banned
      ? `You were banned from ${room}` + (ev.reason ? `: ${ev.reason}` : ".")
      : `You were removed from this room: ${ev.reason || "no reason given"}`;
    notify(text, { kind: "error", timeout: 0, key: "removed-" + this.slug });
    this.showGone({ banned: !!ev.banned, reason: ev.reason });
    this.ctx.onRemoved?.(this.slug, ev);
  }

  /** Replace the conversation with why the member is out of the room and where to go. */
  showGone(why) {
    for (const t of this.typers.values()) clearTimeout(t.timer);
    this.guard.close();
    this.panel?.destroy();
    this.panel = null;
    this.webinar?.destroy();
    this.webinar = null;
    const e = this.els;
    e.presence.hidden = e.modToggle.hidden = true;
    const card = renderGone({ roomName: this.room.name || this.slug, ...why },
      { onBack: () => this.ctx.onBack(), onRejoin: this.ctx.onRejoin ? () => this.ctx.onRejoin(this.slug) : null });
    e.body.replaceChildren(card);
    card.querySelector("h2").focus();
  }
}
