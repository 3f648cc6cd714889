// The room's outbox: messages typed but not yet confirmed by the server, sent with a
// client_msg_id so that resending after a reconnect or a timeout never posts twice, and
// what happens when the server refuses or holds a post (screening, mute, lock, waits).

import { uuid } from "./socket.js";
import { explainError } from "./ui.js";
import { renderPending, setPendingState } from "./messages.js";
import { personalInfoWarning, redactedNotice } from "./screening.js";

export class Outbox {
  /** view: the RoomView (socket, slug, me, els, guard, joined, join(), status(), ...). */
  constructor(view) {
    this.v = view;
    this.entries = new Map(); // client_msg_id -> {id, text, el, state}
    this.held = new Map(); // client_msg_id -> entry held for review (no seq yet)
  }

  add(text) {
    const entry = { id: uuid(), text, state: "queued", el: null };
    entry.el = renderPending(this.v.me, entry);
    this.entries.set(entry.id, entry);
    this.v.els.list.append(entry.el);
    this.trySend(entry);
  }

  setState(entry, state, label) {
    setPendingState(entry, state, label, {
      retry: () => this.trySend(entry),
      discard: () => { this.entries.delete(entry.id); entry.el.remove(); },
    });
  }

  /** Resend what is queued (after a join, or a re-join that recovered the connection). */
  flush() {
    for (const entry of this.entries.values()) if (entry.state === "queued") this.trySend(entry);
  }

  /** Removed from the room: nothing more will be sent. */
  clear() { this.entries.clear(); }

  /** A message event by the current member. */
  ownMessage(ev) {
    // It may arrive before the ok reply: hide the pending copy.
    for (const entry of this.entries.values()) {
      if (entry.state === "sending" && entry.text === ev.text) { entry.el.hidden = true; break; }
    }
    // A held post a moderator approved arrives as a new message: drop the waiting copy.
    for (const [id, entry] of this.held) {
      if (entry.text === ev.text) { entry.el.remove(); this.held.delete(id); break; }
    }
  }

  async trySend(entry) {
    const v = this.v;
    if (!this.entries.has(entry.id) || entry.state === "sending") return;
    if (!v.joined) { this.setState(entry, "queued", "Waiting for connection…"); return; }
    this.setState(entry, "sending", "Sending…");
    try {
      const reply = await v.socket.request("send", { room: v.slug, text: entry.text, client_msg_id: entry.id,
        ...(entry.confirmPersonalInfo ? { confirm_personal_info: true } : {}) });
      this.confirm(entry, reply);
    } catch (err) {
      if (!this.entries.has(entry.id)) return;
      switch (err.code) {
        case "disconnected":
          this.setState(entry, "queued", "Waiting for connection…"); // re-sent after re-join
          return;
        case "timeout":
          // It may have been stored: resending the same client_msg_id is safe.
          this.setState(entry, "queued", "Still sending…");
          setTimeout(() => { if (entry.state === "queued") this.trySend(entry); }, 1500);
          return;
        case "not_member":
          this.setState(entry, "queued", "Rejoining…");
          if (!entry.rejoined) { entry.rejoined = true; v.join(); return; }
          break;
        case "guidelines_required":
          // The guidelines changed while we were in the room: join again, which shows the
          // new guidelines; once accepted, the re-join re-sends the queued messages.
          if (entry.guidelinesRetry) break;
          entry.guidelinesRetry = true;
          this.setState(entry, "queued", "Waiting for you to accept the new guidelines…");
          v.joined = false;
          v.join();
          return;
        case "personal_info": // screening.js: nothing was posted; the member decides
          this.personalInfo(entry, err);
          return;
        case "held":
          this.markHeld(entry, err.held_id);
          v.status(explainError(err), "info");
          return;
        case "blocked":
          this.refused(entry);
          v.status(`Your message was not posted. ${explainError(err)}`, "error");
          return;
        case "muted":
          this.refused(entry);
          v.status("");
          v.guard.mute(err.until, ""); // the banner explains; the composer stays disabled
          return;
        case "room_locked":
          this.refused(entry);
          v.status("");
          v.room.locked = true;
          v.renderHeader();
          v.guard.setLocked(true);
          return;
        case "slow_mode":
        case "spam":
        case "rate_limited":
          this.refused(entry);
          v.status("");
          v.guard.wait(err.code, err.retry_after_ms);
          return;
      }
      this.setState(entry, "failed", "Not sent");
      v.status(explainError(err), "error");
    }
  }

  /**
   * The server refused this text for now (a rule, a mute, a lock, a wait). Give it back as
   * the draft so nothing the member wrote is lost; if they are already writing something
   * else, keep it as a failed message with "Try again" instead.
   */
  refused(entry) {
    const t = this.v.els.textarea;
    if (t.value.trim()) {
      this.setState(entry, "failed", "Not sent");
      return;
    }
    this.entries.delete(entry.id);
    entry.el.remove();
    t.value = entry.text;
    this.v.autosize();
  }

  /** The room asks before posting personal information: edit it, or post it as written. */
  personalInfo(entry, err) {
    const v = this.v;
    this.setState(entry, "failed", "Not sent: contains personal information");
    v.els.composerWrap.querySelector(".pi-warning")?.remove();
    const card = personalInfoWarning(entry.text, err, {
      onEdit: () => { this.entries.delete(entry.id); entry.el.remove(); this.refusedText(entry.text); },
      onPostAnyway: () => { entry.confirmPersonalInfo = true; entry.state = "failed"; this.trySend(entry); },
    });
    v.els.composerWrap.prepend(card);
    card.querySelector(".pi-edit")?.focus();
  }

  refusedText(text) {
    const t = this.v.els.textarea;
    if (!t.value.trim()) t.value = text;
    this.v.autosize();
    t.focus();
  }

  /** Held for review: shown as waiting until a moderator approves it (then it arrives). */
  markHeld(entry, heldId) {
    this.entries.delete(entry.id);
    this.held.set(entry.id, entry);
    if (heldId) entry.el.dataset.heldId = String(heldId);
    this.setState(entry, "held", "Waiting for a moderator's review");
  }

  confirm(entry, reply) {
    const v = this.v;
    this.entries.delete(entry.id);
    if (reply.seq === undefined || reply.seq === null) { // accepted but not published
      this.markHeld(entry, reply.held_id);
      return;
    }
    entry.el.remove();
    if (reply.redacted) v.status(redactedNotice(reply.categories), "info"); // screening.js
    if (!v.msgs.has(Number(reply.seq))) {
      const stick = v.nearBottom();
      v.addMessage({ room: v.slug, seq: reply.seq, message_id: reply.message_id, author: v.me, text: reply.text ?? entry.text, ts: reply.ts || new Date().toISOString(), _local: true });
      if (stick) v.scrollToBottom();
    }
  }
}
