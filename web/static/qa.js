// Q&A for the room's current session: members ask and upvote; the session's host and the
// room's staff mark questions answered or dismiss them; moderators review held ones.
// Vote counts only go up and a question's status only moves forward, whatever order the
// events arrive in (docs/PROTOCOL.md, "Sessions, Q&A and polls").

import { api } from "./api.js";
import { h, notify, explainError, formatTime } from "./ui.js";

const STATUS_RANK = { held: 0, open: 1, answered: 2, dismissed: 2 };

export class QAPanel {
  /** opts: {slug, socket, me, perms() → {moderator, canManage(session)}} */
  constructor(opts) {
    this.opts = opts;
    this.session = null;
    this.questions = new Map(); // id → question
    this.alerts = new Map(); // question id → reason of a matching alert rule (moderators)
    this.voted = new Set();
    this.text = h("textarea", { id: "qa-text", rows: "2", maxlength: "500", placeholder: "Ask the hosts a question…", "aria-label": "Your question" });
    this.askBtn = h("button", { id: "qa-ask", type: "submit", class: "btn btn-primary btn-small" }, "Ask");
    this.note = h("p", { class: "qa-note", role: "status" });
    this.form = h("form", { class: "qa-form", novalidate: true }, this.text, this.askBtn);
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.ask(); });
    this.list = h("ol", { class: "qa-list", "aria-label": "Questions" });
    this.empty = h("p", { class: "muted qa-empty" }, "No questions yet.");
    this.el = h("div", { class: "qa" }, this.form, this.note, this.empty, this.list);
  }

  /** Show the questions of session (the room's live one, else the next one). */
  setSession(session) {
    const id = session?.id || "";
    const same = id === (this.session?.id || "");
    this.session = session;
    if (!same) {
      this.questions.clear();
      this.alerts.clear();
      this.note.textContent = "";
      if (id) this.load();
    }
    this.render();
  }

  async load() {
    const id = this.session?.id;
    if (!id) return;
    try {
      const res = await api.questions(id);
      if (this.session?.id !== id) return;
      for (const q of res?.questions || []) this.upsert(q);
    } catch (err) {
      this.note.textContent = "Could not load the questions: " + explainError(err);
    }
    this.render();
  }

  upsert(q) {
    if (!q?.id || (this.session && q.session && q.session !== this.session.id)) return;
    const old = this.questions.get(q.id);
    if (old) {
      q = { ...old, ...q, votes: Math.max(old.votes || 0, q.votes || 0) };
      if ((STATUS_RANK[q.status] ?? 0) < (STATUS_RANK[old.status] ?? 0) || (STATUS_RANK[old.status] === 2)) q.status = old.status;
    }
    this.questions.set(q.id, q);
  }

  /** An erased account's questions, now under its pseudonym (author_renamed). */
  renameAuthor(author) {
    if (!author?.id) return;
    let changed = false;
    for (const [id, q] of this.questions) {
      if (q.author?.id !== author.id) continue;
      this.questions.set(id, { ...q, author });
      changed = true;
    }
    if (changed) this.render();
  }

  handleEvent(ev) {
    if (!this.session) return;
    if (ev.type === "qa.question") this.upsert(ev.question);
    else if (ev.type === "qa.update") {
      if (ev.session && ev.session !== this.session.id) return;
      const old = this.questions.get(ev.question_id);
      if (!old) { this.load(); return; } // e.g. a held question just approved: fetch it
      this.upsert({ id: ev.question_id, votes: ev.votes, status: ev.status });
    } else if (ev.type === "qa.alert") {
      if (ev.session && ev.session !== this.session.id) return;
      this.alerts.set(ev.question_id, ev.reason || "matched a room rule");
    } else return;
    this.render();
  }

  async ask() {
    const text = this.text.value.trim();
    if (!text || !this.session) return;
    this.askBtn.disabled = true;
    this.note.textContent = "";
    try {
      const r = await this.opts.socket.request("qa.ask", { room: this.opts.slug, session: this.session.id, text });
      this.text.value = "";
      this.note.textContent = r.status === "held" ? "Your question is waiting for a moderator's review." : "Your question was posted.";
    } catch (err) {
      if (err.code === "held") {
        this.text.value = "";
        this.note.textContent = "Your question is waiting for a moderator's review. It will appear if they approve it.";
      } else {
        this.note.textContent = explainError(err);
      }
    } finally {
      this.askBtn.disabled = false;
    }
  }

  async command(btn, type, id) {
    btn.disabled = true;
    try {
      const r = await this.opts.socket.request(type, { room: this.opts.slug, question_id: id });
      if (type === "qa.vote") {
        this.voted.add(id);
        this.upsert({ id, votes: r.votes });
      } else if (r.status) this.upsert({ id, status: r.status });
      this.render();
    } catch (err) {
      btn.disabled = false;
      notify(explainError(err), { kind: "error", key: "qa" });
    }
  }

  render() {
    const perms = this.opts.perms();
    const manage = !!this.session && perms.canManage(this.session);
    this.el.hidden = !this.session;
    this.form.hidden = !this.session;
    const all = [...this.questions.values()];
    const byVotes = (a, b) => (b.votes || 0) - (a.votes || 0) || String(a.ts).localeCompare(String(b.ts));
    const groups = [
      ["held", all.filter((q) => q.status === "held").sort(byVotes)],
      ["open", all.filter((q) => q.status === "open").sort(byVotes)],
      ["answered", all.filter((q) => q.status === "answered").sort(byVotes)],
      ["dismissed", all.filter((q) => q.status === "dismissed").sort(byVotes)],
    ];
    this.empty.hidden = all.length > 0;
    this.list.replaceChildren(...groups.flatMap(([, qs]) => qs.map((q) => this.row(q, manage, perms.moderator))));
  }

  row(q, manage, moderator) {
    const me = this.opts.me;
    const own = q.author?.id === me?.id;
    const acts = h("div", { class: "qa-actions" });
    if (q.status === "open") {
      const voted = this.voted.has(q.id);
      const vote = h("button", { type: "button", class: "btn btn-small btn-secondary qa-vote", "aria-pressed": String(voted),
        "aria-label": `Upvote this question (${q.votes || 0} votes)`, disabled: voted || own }, `▲ ${q.votes || 0}`);
      vote.addEventListener("click", () => this.command(vote, "qa.vote", q.id));
      acts.append(vote);
      if (manage) {
        acts.append(this.button("qa-answer", "Mark answered", "qa.answer", q.id), this.button("qa-dismiss", "Dismiss", "qa.dismiss", q.id));
      }
    } else if (q.status === "held" && moderator) {
      acts.append(this.button("qa-approve", "Approve", "qa.approve", q.id), this.button("qa-dismiss", "Dismiss", "qa.dismiss", q.id));
    } else if (q.status !== "held") {
      acts.append(h("span", { class: "qa-votes muted" }, `${q.votes || 0} ${q.votes === 1 ? "vote" : "votes"}`));
    }
    const label = { held: "Waiting for review", answered: "Answered", dismissed: "Dismissed" }[q.status];
    const alert = this.alerts.get(q.id);
    return h("li", { class: `qa-item qa-${q.status}`, dataset: { questionId: q.id, status: q.status } },
      h("p", { class: "qa-meta" }, h("strong", {}, q.author?.display_name || "A member"), own ? " (you)" : "",
        q.ts ? h("time", { class: "muted", datetime: q.ts }, ` · ${formatTime(q.ts)}`) : null,
        label ? h("span", { class: `badge qa-badge-${q.status}` }, label) : null),
      h("p", { class: "qa-text" }, String(q.text ?? "")),
      q.reason && q.status === "held" ? h("p", { class: "qa-reason muted" }, `Held: ${q.reason}`) : null,
      alert ? h("p", { class: "qa-reason muted" }, `Flagged: ${alert}`) : null,
      acts);
  }

  button(cls, label, type, id) {
    const b = h("button", { type: "button", class: `btn btn-small btn-quiet ${cls}` }, label);
    b.addEventListener("click", () => this.command(b, type, id));
    return b;
  }
}
