// The review queue in the moderator panel: posts held by a keyword rule (approve or
// reject), members' reports (dismiss or mark actioned) and alerts on published posts.
// Loaded from GET /api/rooms/{slug}/queue, then kept live by review.* events, so that two
// moderators working the same room never decide the same item twice.

import { api } from "./api.js";
import { h, formatTime, formatFull, explainError, twoStep } from "./ui.js";

export const CATEGORY_LABEL = {
  harassment: "Harassment or bullying",
  misinformation: "Medical misinformation",
  "self-harm": "Someone may be at risk of self-harm",
  spam: "Spam or advertising",
  "personal-information": "Shares personal information",
  other: "Something else",
};
const DECISION = { approved: "approved", rejected: "rejected", dismissed: "dismissed", actioned: "marked as actioned" };

export class ReviewQueue {
  /**
   * ctx: {slug, socket, actOn(user, quote), nameOf(userOrId), noteUser(user),
   *       onCount(n), onDecided(), messageText(seq), showMessage(seq)}
   */
  constructor(ctx) {
    this.ctx = ctx;
    this.items = new Map(); // "held:ID" | "report:ID" | "alert:SEQ" -> {kind, data, el}
    this.loaded = false;
  }

  mount(pane) {
    this.status = h("p", { class: "mod-status", role: "status" });
    this.lists = {
      held: h("ul", { class: "review-list", "aria-label": "Held posts" }),
      report: h("ul", { class: "review-list", "aria-label": "Reports" }),
      alert: h("ul", { class: "review-list", "aria-label": "Alerts" }),
    };
    this.heads = {
      held: h("h3", {}, "Held posts"),
      report: h("h3", {}, "Reports"),
      alert: h("h3", {}, "Alerts"),
    };
    this.empty = h("p", { class: "muted mod-empty" }, "Nothing is waiting for review.");
    pane.replaceChildren(this.status, this.empty,
      this.heads.held, this.lists.held, this.heads.report, this.lists.report, this.heads.alert, this.lists.alert);
    this.renderHeads();
  }

  /** Load the queue (or take the reply the moderator probe already fetched). */
  async load(reply) {
    this.status.textContent = "Loading the review queue…";
    try {
      const q = reply || await api.queue(this.ctx.slug);
      for (const x of [...this.items.values()]) if (x.kind !== "alert") this.drop(x);
      for (const held of q?.held || []) this.add("held", held);
      for (const report of q?.reports || []) this.add("report", report);
      this.loaded = true;
      this.status.textContent = "";
    } catch (err) {
      this.status.replaceChildren(`Could not load the review queue: ${explainError(err)} `,
        h("button", { type: "button", class: "link-btn", onclick: () => this.load() }, "Try again"));
    }
    this.renderHeads();
  }

  handleEvent(ev) {
    switch (ev.type) {
      case "review.held": if (ev.held) this.add("held", ev.held); break;
      case "review.report": if (ev.report) this.add("report", ev.report); break;
      case "review.alert": this.add("alert", { seq: ev.seq, author: ev.author, rule_id: ev.rule_id, reason: ev.reason, ts: new Date().toISOString() }); break;
      case "review.resolved": {
        const x = this.items.get(`${ev.kind}:${ev.id}`);
        if (!x) return;
        this.drop(x);
        this.status.textContent = `${this.ctx.nameOf(ev.by)} ${DECISION[ev.decision] || ev.decision} a ${ev.kind === "held" ? "held post" : "report"}.`;
        this.ctx.onDecided();
        break;
      }
      default: return;
    }
    this.renderHeads();
  }

  get count() { return this.items.size; }

  renderHeads() {
    const n = { held: 0, report: 0, alert: 0 };
    for (const x of this.items.values()) n[x.kind]++;
    for (const k of Object.keys(n)) {
      this.heads[k].textContent = `${{ held: "Held posts", report: "Reports", alert: "Alerts" }[k]} (${n[k]})`;
      this.heads[k].hidden = this.lists[k].hidden = n[k] === 0;
    }
    this.empty.hidden = this.items.size > 0 || !this.loaded;
    this.ctx.onCount(this.items.size);
  }

  key(kind, data) { return `${kind}:${kind === "alert" ? data.seq : data.id}`; }

  add(kind, data) {
    const key = this.key(kind, data);
    if (this.items.has(key)) return;
    if (data.author) this.ctx.noteUser(data.author);
    const x = { kind, data, el: null };
    x.el = this.render(x);
    this.items.set(key, x);
    this.lists[kind].append(x.el);
  }

  drop(x) {
    this.items.delete(this.key(x.kind, x.data));
    x.el.remove();
  }

  render(x) {
    const { kind, data } = x;
    const author = data.author || {};
    const err = h("p", { class: "form-error", role: "alert", hidden: true });
    const actOn = h("button", { type: "button", class: "btn btn-small btn-secondary", onclick: () => this.ctx.actOn(author, data.text || data.snapshot || this.ctx.messageText(data.seq)) },
      "Moderate author");
    const li = h("li", { class: `review-item review-${kind}`, dataset: { kind, id: String(kind === "alert" ? data.seq : data.id) } });
    const time = data.ts ? h("time", { datetime: data.ts, title: formatFull(data.ts) }, formatTime(data.ts)) : null;
    const who = h("strong", {}, this.ctx.nameOf(author));
    if (kind === "held") {
      li.append(
        h("p", { class: "review-meta" }, who, " · ", time, h("br"), `Held by a rule: ${data.reason || "no reason given"}`),
        h("blockquote", { class: "review-text" }, String(data.text ?? "")),
        this.heldActions(x, err, actOn), err);
    } else if (kind === "report") {
      const cat = data.category || "other";
      if (cat === "self-harm") li.classList.add("urgent");
      li.append(
        h("p", { class: "review-meta" }, h("span", { class: "review-category" }, CATEGORY_LABEL[cat] || cat), h("br"), "Message by ", who, " · ", time),
        h("blockquote", { class: "review-text" }, String(data.snapshot ?? "")),
        data.reason && data.reason !== cat ? h("p", { class: "review-note" }, `Reporter's note: ${data.reason}`) : null,
        this.reportActions(x, err, actOn), err);
    } else {
      const text = this.ctx.messageText(data.seq);
      li.append(
        h("p", { class: "review-meta" }, who, " posted a message that matched an alert rule", time ? [" · ", time] : null, h("br"), `Rule: ${data.reason || "—"}`),
        text ? h("blockquote", { class: "review-text" }, text) : null,
        this.alertActions(x, err, actOn), err);
    }
    return li;
  }

  heldActions(x, err, actOn) {
    const approve = h("button", { type: "button", class: "btn btn-small btn-primary" }, "Approve");
    const reject = h("button", { type: "button", class: "btn btn-small btn-secondary" }, "Reject…");
    const why = h("input", { type: "text", maxlength: "500", "aria-label": "Reason for rejecting (optional)", placeholder: "Reason (optional)" });
    const confirm = h("button", { type: "button", class: "btn btn-small btn-danger" }, "Reject post");
    const row = h("div", { class: "inline-fields", hidden: true }, why, confirm);
    approve.addEventListener("click", () => this.decide(x, "approve", { held_id: x.data.id }, err, "Approved: the post is now in the room."));
    reject.addEventListener("click", () => { row.hidden = !row.hidden; if (!row.hidden) why.focus(); });
    confirm.addEventListener("click", () => {
      const f = { held_id: x.data.id };
      if (why.value.trim()) f.reason = why.value.trim();
      this.decide(x, "reject", f, err, "Rejected: the post stays out of the room.");
    });
    return h("div", {}, h("div", { class: "review-actions" }, approve, reject, actOn), row);
  }

  reportActions(x, err, actOn) {
    const resolve = (outcome, label, done) => h("button", { type: "button", class: "btn btn-small btn-secondary",
      onclick: () => this.decide(x, "resolve_report", { report_id: x.data.id, outcome }, err, done) }, label);
    const show = this.ctx.messageText(x.data.seq) !== null
      ? h("button", { type: "button", class: "btn btn-small btn-quiet", onclick: () => this.ctx.showMessage(x.data.seq) }, "Show in chat") : null;
    return h("div", { class: "review-actions" },
      resolve("dismissed", "Dismiss", "Report dismissed."),
      resolve("actioned", "Mark actioned", "Report marked as actioned."),
      actOn, show);
  }

  alertActions(x, err, actOn) {
    const del = h("button", { type: "button", class: "btn btn-small btn-secondary" }, "Delete message");
    twoStep(del, "Really delete?", async () => {
      try {
        await this.ctx.socket.request("delete", { room: this.ctx.slug, seq: Number(x.data.seq) });
        this.drop(x);
        this.status.textContent = "Message deleted.";
        this.renderHeads();
        this.ctx.onDecided();
      } catch (e) { err.textContent = explainError(e); err.hidden = false; }
    });
    // Alerts are not stored in the queue: clearing one only tidies this moderator's list.
    const clear = h("button", { type: "button", class: "btn btn-small btn-quiet", onclick: () => { this.drop(x); this.renderHeads(); } }, "Clear");
    const show = h("button", { type: "button", class: "btn btn-small btn-quiet", onclick: () => this.ctx.showMessage(x.data.seq) }, "Show in chat");
    return h("div", { class: "review-actions" }, show, del, actOn, clear);
  }

  async decide(x, type, fields, err, done) {
    const buttons = [...x.el.querySelectorAll("button")];
    for (const b of buttons) b.disabled = true;
    err.hidden = true;
    try {
      await this.ctx.socket.request(type, { room: this.ctx.slug, ...fields });
      this.drop(x);
      this.status.textContent = done;
    } catch (e) {
      if (e.code === "conflict" || e.code === "not_found") {
        // Someone else got there first (or it is gone): the item is no longer ours to decide.
        this.drop(x);
        this.status.textContent = e.code === "conflict" ? "Another moderator already decided that item." : "That item is no longer in the queue.";
      } else {
        err.textContent = explainError(e);
        err.hidden = false;
        for (const b of buttons) b.disabled = false;
        return;
      }
    }
    this.renderHeads();
    this.ctx.onDecided();
  }
}
