// Live polls of the room's current session: hosts open one (2–6 options) and close it;
// members vote once and then follow the results live. A poll's total never goes down and
// a closed poll stays closed, whatever order poll.results events arrive in.

import { api } from "./api.js";
import { h, notify, explainError } from "./ui.js";

const MIN_OPTIONS = 2, MAX_OPTIONS = 6;

export class PollsPanel {
  /** opts: {slug, socket, perms() → {canManage(session)}} */
  constructor(opts) {
    this.opts = opts;
    this.session = null;
    this.polls = new Map(); // id → poll
    this.voted = new Map(); // poll id → option index (or -1: voted elsewhere)
    this.list = h("ol", { class: "poll-list", "aria-label": "Polls" });
    this.empty = h("p", { class: "muted polls-empty" }, "No polls yet.");
    this.form = this.buildForm();
    this.el = h("div", { class: "polls" }, this.form, this.empty, this.list);
  }

  buildForm() {
    this.question = h("input", { id: "poll-question", type: "text", maxlength: "300", autocomplete: "off" });
    this.options = h("div", { class: "poll-options" });
    this.addBtn = h("button", { type: "button", class: "btn btn-small btn-quiet", onclick: () => this.addOption() }, "Add an option");
    const f = h("form", { id: "poll-form", class: "poll-form", novalidate: true },
      h("div", { class: "field" }, h("label", { for: "poll-question" }, "New poll"), this.question),
      this.options, this.addBtn,
      h("p", { class: "form-error", role: "alert", hidden: true }),
      h("button", { id: "poll-open", type: "submit", class: "btn btn-primary btn-small" }, "Open poll"));
    for (let i = 0; i < MIN_OPTIONS; i++) this.addOption();
    f.addEventListener("submit", (e) => { e.preventDefault(); this.open(); });
    return f;
  }

  addOption() {
    const n = this.options.children.length;
    if (n >= MAX_OPTIONS) return;
    this.options.append(h("input", { type: "text", class: "poll-option", maxlength: "100", autocomplete: "off", "aria-label": `Option ${n + 1}`, placeholder: `Option ${n + 1}` }));
    this.addBtn.hidden = n + 1 >= MAX_OPTIONS;
  }

  setSession(session) {
    const id = session?.id || "";
    const same = id === (this.session?.id || "");
    this.session = session;
    if (!same) {
      this.polls.clear();
      if (id) this.load();
    }
    this.render();
  }

  async load() {
    const id = this.session?.id;
    try {
      const res = await api.polls(id);
      if (this.session?.id !== id) return;
      for (const p of res?.polls || []) this.merge(p);
    } catch (err) {
      notify("Could not load the polls: " + explainError(err), { kind: "error", key: "polls" });
    }
    this.render();
  }

  merge(p) {
    if (!p?.id || (this.session && p.session && p.session !== this.session.id)) return;
    const old = this.polls.get(p.id);
    if (old) {
      if ((old.total || 0) > (p.total || 0)) p = { ...p, counts: old.counts, total: old.total };
      if (old.state === "closed") p = { ...p, state: "closed", closed_at: old.closed_at || p.closed_at };
    }
    this.polls.set(p.id, p);
  }

  handleEvent(ev) {
    if (ev.type !== "poll.results" || !this.session) return;
    this.merge(ev.poll);
    this.render();
  }

  async open() {
    const f = this.form;
    const question = this.question.value.trim();
    const options = [...this.options.querySelectorAll("input")].map((i) => i.value.trim()).filter(Boolean);
    const err = (m) => { f.querySelector(".form-error").textContent = m; f.querySelector(".form-error").hidden = !m; };
    err("");
    if (!question) { err("Please write the poll's question."); return; }
    if (options.length < MIN_OPTIONS) { err("A poll needs at least two options."); return; }
    const btn = f.querySelector("#poll-open");
    btn.disabled = true;
    try {
      const r = await this.opts.socket.request("poll.open", { room: this.opts.slug, session: this.session.id, question, options });
      if (r.poll) this.merge(r.poll);
      this.question.value = "";
      this.options.replaceChildren();
      for (let i = 0; i < MIN_OPTIONS; i++) this.addOption();
      this.render();
    } catch (e) {
      err(explainError(e));
    } finally {
      btn.disabled = false;
    }
  }

  async command(btn, type, fields, after) {
    btn.disabled = true;
    try {
      const r = await this.opts.socket.request(type, { room: this.opts.slug, ...fields });
      after?.();
      if (r.poll) this.merge(r.poll);
    } catch (err) {
      if (type === "poll.vote" && err.code === "conflict" && /already voted/i.test(err.message || "")) this.voted.set(fields.poll_id, -1);
      else notify(explainError(err), { kind: "error", key: "poll" });
    }
    btn.disabled = false;
    this.render();
  }

  render() {
    const manage = !!this.session && this.opts.perms().canManage(this.session);
    this.el.hidden = !this.session;
    this.form.hidden = !manage || this.session?.state !== "live";
    const polls = [...this.polls.values()].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    this.empty.hidden = polls.length > 0;
    this.empty.textContent = this.session?.state === "live" ? "No polls yet." : "Polls open during the live session.";
    this.list.replaceChildren(...polls.map((p) => this.row(p, manage)));
  }

  row(p, manage) {
    const open = p.state === "open";
    const mine = this.voted.get(p.id);
    const showResults = manage || !open || mine !== undefined;
    const total = p.total || 0;
    const opts = (p.options || []).map((text, i) => {
      const n = p.counts?.[i] || 0;
      const pct = total ? Math.round((n * 100) / total) : 0;
      const label = h("span", { class: "poll-option-text" }, text, mine === i ? h("span", { class: "muted" }, " (your vote)") : null);
      const parts = [];
      if (open && mine === undefined) {
        const b = h("button", { type: "button", class: "btn btn-secondary btn-small poll-vote", dataset: { option: String(i) } }, text);
        b.addEventListener("click", () => this.command(b, "poll.vote", { poll_id: p.id, option: i }, () => this.voted.set(p.id, i)));
        parts.push(b);
      } else parts.push(label);
      if (showResults) {
        parts.push(h("meter", { class: "poll-meter", min: "0", max: String(Math.max(total, 1)), value: String(n), "aria-label": `${text}: ${n} of ${total}` }),
          h("span", { class: "poll-count", dataset: { option: String(i) } }, `${n} (${pct}%)`));
      }
      return h("li", { class: "poll-choice" }, ...parts);
    });
    const head = h("p", { class: "poll-state muted" }, open ? `Open · ${total} ${total === 1 ? "vote" : "votes"}` : `Closed · final results, ${total} ${total === 1 ? "vote" : "votes"}`);
    const li = h("li", { class: `poll poll-${p.state}`, dataset: { pollId: p.id, state: p.state } },
      h("h4", { class: "poll-question" }, p.question), head, h("ul", { class: "poll-choices" }, ...opts));
    if (manage && open) {
      const close = h("button", { type: "button", class: "btn btn-small btn-quiet poll-close" }, "Close poll");
      close.addEventListener("click", () => this.command(close, "poll.close", { poll_id: p.id }));
      li.append(close);
    }
    return li;
  }
}
