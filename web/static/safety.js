// The safety console (/safety). Safety reviewers (admins and global moderators) work the
// adverse-event case queue — due times, overdue in red, detail with the verbatim text and
// a private follow-up thread with the author, close with a reason, forward, CSV/JSON
// export — and the crisis alerts. Every member sees their own follow-up threads here: a
// reviewer's question about a post of theirs arrives live as `safety.followup`.
// Every list and detail read is written to the audit log by the server.

import { h, notify, explainError, formatFull } from "./ui.js";

export const CLOSE_REASONS = [
  ["not_ae", "Not an adverse event"],
  ["duplicate", "Duplicate of another case"],
  ["reported_to_regulator", "Reported to the regulator"],
  ["forwarded_complete", "Forwarded; safety team has it"],
  ["insufficient_info", "Insufficient information"],
];

export function isReviewer(me) { return me && (me.role === "admin" || me.role === "moderator"); }

async function call(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  let res;
  try { res = await fetch(path, opts); } catch { throw new Error("Can't reach Haven. Please check your connection."); }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = new Error(data?.error?.message || `HTTP ${res.status}`);
    e.status = res.status; e.code = data?.error?.code;
    throw e;
  }
  return data;
}

const when = (ts) => (ts ? formatFull(ts) : "—");
const list = (v) => (Array.isArray(v) && v.length ? v.join(", ") : "—");

let styled = false;
// The CSP allows no inline styles: the console's sheet is a file of its own.
function ensureStyle() {
  if (styled) return;
  styled = true;
  document.head.append(h("link", { rel: "stylesheet", href: "/safety.css" }));
}

/** Live events: call once after the socket starts. onFollowup shows the link for members. */
export function initSafety(socket, me, { onFollowup } = {}) {
  // A member who was offline when a question came still needs the way to it.
  call("GET", "/api/safety/my-followups").then((r) => { if (r?.followups?.some((f) => !f.mine)) onFollowup?.(); }).catch(() => {});
  socket.on("safety.followup", (ev) => {
    if (ev.from_author) notify(`The author answered about case ${ev.case_id}.`, { key: "safety-fu" });
    else notify("The safety team has sent you a private message. Open “Safety messages” to read and answer it.", { timeout: 0, key: "safety-fu" });
    onFollowup?.(ev);
    current?.refresh();
  });
  if (!isReviewer(me)) return;
  socket.on("safety.overdue", (ev) => {
    notify(`Adverse-event case ${ev.case_id} in ${ev.room} is overdue (${ev.clock} clock, due ${when(ev.due_at)}).`, { kind: "error", timeout: 0, key: "ae-" + ev.case_id + ev.clock });
    current?.refresh();
  });
  socket.on("safety.crisis", (ev) => {
    notify(`Crisis alert in ${ev.room}: someone may be at risk. Open the safety console.`, { kind: "error", timeout: 0 });
    current?.refresh();
  });
}

let current = null; // the console on screen, refreshed by live events

/** Renders the console (reviewers) and the member's own threads into container. */
export function renderSafety(container, me) {
  ensureStyle();
  current = new SafetyConsole(container, me);
  current.refresh();
  return current;
}

/** Call when leaving /safety. */
export function leaveSafety() { current = null; }

class SafetyConsole {
  constructor(container, me) {
    this.me = me;
    this.selected = null;
    container.className = "safety";
    this.threads = h("div");
    const parts = [h("h1", {}, isReviewer(me) ? "Safety console" : "Safety messages")];
    if (isReviewer(me)) {
      this.status = h("select", { "aria-label": "Status" },
        ...[["active", "Open and forwarded"], ["open", "Open"], ["forwarded", "Forwarded"], ["closed", "Closed"], ["", "All"]]
          .map(([v, l]) => h("option", { value: v }, l)));
      this.overdue = h("input", { type: "checkbox" });
      this.room = h("input", { type: "text", placeholder: "room slug", size: 14, "aria-label": "Room" });
      this.csv = h("a", { class: "btn btn-small btn-secondary", download: "" }, "Export CSV");
      this.json = h("a", { class: "btn btn-small btn-secondary", download: "" }, "Export JSON");
      for (const el of [this.status, this.overdue]) el.addEventListener("change", () => this.refresh());
      this.room.addEventListener("change", () => this.refresh());
      this.cases = h("tbody");
      this.casesMsg = h("p", { class: "muted", role: "status" });
      this.detail = h("div", { "aria-live": "polite" });
      this.alerts = h("ul", { class: "thread alerts" });
      this.alertsMsg = h("p", { class: "muted", role: "status" });
      parts.push(
        h("section", {},
          h("h2", {}, "Adverse-event cases"),
          h("p", { class: "help" }, "Day 0 is when Haven received the post. Cases can be closed with a reason, never deleted. Views are audited."),
          h("div", { class: "filters" }, this.status, h("label", {}, this.overdue, " overdue only"), this.room, this.csv, this.json),
          h("table", {}, h("thead", {}, h("tr", {}, ...["Day 0", "Forward by", "Regulatory by", "Status", "Products", "Reactions", "Room"].map((t) => h("th", { scope: "col" }, t)))), this.cases),
          this.casesMsg, this.detail),
        h("section", {}, h("h2", {}, "Crisis alerts"), this.alertsMsg, this.alerts));
    }
    parts.push(h("section", {}, h("h2", {}, isReviewer(me) ? "Threads about your own posts" : "Messages from the safety team"),
      h("p", { class: "help" }, "A member of the safety team may ask about a side effect you described. Only they see your answers; they never see your email."),
      this.threads));
    container.replaceChildren(...parts);
  }

  query() {
    const q = new URLSearchParams();
    if (this.status.value) q.set("status", this.status.value);
    if (this.overdue.checked) q.set("overdue", "true");
    if (this.room.value.trim()) q.set("room", this.room.value.trim());
    return q.toString();
  }

  async refresh() {
    if (isReviewer(this.me)) {
      const q = this.query();
      this.csv.href = "/api/safety/cases.csv" + (q ? "?" + q : "");
      this.json.href = "/api/safety/cases.json" + (q ? "?" + q : "");
      await Promise.all([this.loadCases(q), this.loadAlerts()]);
      if (this.selected) await this.openCase(this.selected);
    }
    await this.loadThreads();
  }

  async loadCases(q) {
    try {
      const res = await call("GET", "/api/safety/cases" + (q ? "?" + q : ""));
      const cases = res?.cases || [];
      this.cases.replaceChildren(...cases.map((c) => this.caseRow(c)));
      this.casesMsg.textContent = cases.length ? (res.next ? "Showing the first page." : "") : "No cases match.";
    } catch (err) {
      this.casesMsg.textContent = "Could not load the cases: " + explainError(err);
    }
  }

  caseRow(c) {
    const od = new Set(c.overdue || []);
    const row = h("tr", { "data-id": c.id, tabindex: 0, "aria-selected": String(c.id === this.selected) },
      h("td", {}, when(c.aware_at)),
      h("td", { class: od.has("forward") ? "overdue" : "" }, c.status === "open" ? when(c.forward_due_at) : "done"),
      h("td", { class: od.has("regulatory") ? "overdue" : "" }, c.status === "closed" ? "done" : when(c.regulatory_due_at)),
      h("td", {}, c.status + (od.size ? " (overdue)" : "")),
      h("td", {}, list(c.products)), h("td", {}, list(c.reactions)), h("td", {}, c.room));
    const open = () => { this.selected = c.id; this.openCase(c.id); };
    row.addEventListener("click", open);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
    return row;
  }

  async openCase(id) {
    let c;
    try { c = (await call("GET", `/api/safety/cases/${encodeURIComponent(id)}`)).case; } catch (err) {
      this.detail.replaceChildren(h("p", { class: "form-error" }, "Could not open the case: " + explainError(err)));
      return;
    }
    for (const tr of this.cases.children) tr.setAttribute("aria-selected", String(tr.dataset.id === id));
    const reason = h("select", { "aria-label": "Close reason" }, ...CLOSE_REASONS.map(([v, l]) => h("option", { value: v }, l)));
    const act = (path, body, done) => async (e) => {
      e.target.disabled = true;
      try { await call("POST", `/api/safety/cases/${encodeURIComponent(id)}/${path}`, body?.()); notify(done); await this.refresh(); } catch (err) {
        notify(explainError(err), { kind: "error" });
      } finally { e.target.disabled = false; }
    };
    const text = h("textarea", { rows: 2, maxlength: 4000, "aria-label": "Message to the author", placeholder: "Ask the author a follow-up question…" });
    const send = h("button", { type: "button", class: "btn btn-small btn-primary", "data-act": "send-followup" }, "Send to the author");
    send.addEventListener("click", async () => {
      if (!text.value.trim()) return;
      send.disabled = true;
      try { await call("POST", `/api/safety/cases/${encodeURIComponent(id)}/followups`, { text: text.value }); text.value = ""; await this.openCase(id); } catch (err) {
        notify(explainError(err), { kind: "error" });
      } finally { send.disabled = false; }
    });
    const actions = [];
    if (c.status === "open") actions.push(h("button", { type: "button", class: "btn btn-small btn-secondary", "data-act": "forward", onclick: act("forward", null, "Case forwarded.") }, "Mark forwarded to safety team"));
    if (c.status !== "closed") actions.push(reason, h("button", { type: "button", class: "btn btn-small btn-primary", "data-act": "close", onclick: act("close", () => ({ reason: reason.value }), "Case closed.") }, "Close case"));
    this.detail.replaceChildren(
      h("h3", {}, `Case ${c.id}`),
      h("p", {}, `Room ${c.room}, message ${c.message_seq || "(held post " + c.held_id + ")"}, reporter ${c.author}. Status: ${c.status}` +
        (c.closed_reason ? ` (${c.closed_reason} by ${c.closed_by}, ${when(c.closed_at)})` : "")),
      h("blockquote", { class: "verbatim" }, c.text),
      h("p", {}, `Matched: ${list(c.terms)}. Day 0: ${when(c.aware_at)}. Forward by ${when(c.forward_due_at)}; regulatory clock ends ${when(c.regulatory_due_at)}.`),
      h("div", { class: "actions" }, ...actions),
      h("h4", {}, "Follow-up with the author"),
      h("ul", { class: "thread" }, ...(c.followups || []).map((f) => h("li", { class: f.from_author ? "" : "mine" },
        h("strong", {}, f.from_author ? "Author: " : "Reviewer: "), f.text, " ", h("small", { class: "muted" }, when(f.at))))),
      h("div", { class: "actions" }, text, send));
  }

  async loadAlerts() {
    try {
      const alerts = (await call("GET", "/api/safety/alerts?limit=50"))?.alerts || [];
      this.alertsMsg.textContent = alerts.length ? "" : "No crisis alerts.";
      this.alerts.replaceChildren(...alerts.map((a) => {
        const ack = h("button", { type: "button", class: "btn btn-small btn-primary", hidden: !!a.acknowledged_at }, "Acknowledge");
        ack.addEventListener("click", async () => {
          ack.disabled = true;
          try { await call("POST", `/api/safety/alerts/${encodeURIComponent(a.id)}/ack`); await this.loadAlerts(); } catch (err) {
            notify(explainError(err), { kind: "error" }); ack.disabled = false;
          }
        });
        // The crisis model's alerts name it as their term: no lexicon phrase matched, and a
        // moderator weighing the post should know it was a learned guess.
        const byModel = (a.terms || []).includes("(crisis model)");
        return h("li", { class: a.acknowledged_at ? "" : "overdue", "data-id": a.id },
          h("strong", {}, `${when(a.at)} · ${a.room}${a.method ? " · method detail (hidden)" : ""}${byModel ? " · found by the crisis model" : ""}: `), a.text, " ",
          a.acknowledged_at ? h("small", { class: "muted" }, `acknowledged by ${a.acknowledged_by}`) : ack);
      }));
    } catch (err) {
      this.alertsMsg.textContent = "Could not load the crisis alerts: " + explainError(err);
    }
  }

  async loadThreads() {
    let items = [];
    try { items = (await call("GET", "/api/safety/my-followups"))?.followups || []; } catch (err) {
      this.threads.replaceChildren(h("p", { class: "form-error" }, "Could not load your messages: " + explainError(err)));
      return;
    }
    if (!items.length) { this.threads.replaceChildren(h("p", { class: "muted" }, "No messages.")); return; }
    const byCase = new Map();
    for (const f of items) (byCase.get(f.case_id) || byCase.set(f.case_id, []).get(f.case_id)).push(f);
    this.threads.replaceChildren(...[...byCase].map(([caseId, fs]) => {
      const box = h("textarea", { rows: 2, maxlength: 4000, "aria-label": "Your answer" });
      const btn = h("button", { type: "button", class: "btn btn-small btn-primary", "data-act": "answer" }, "Send answer");
      btn.addEventListener("click", async () => {
        if (!box.value.trim()) return;
        btn.disabled = true;
        try { await call("POST", `/api/safety/followups/${encodeURIComponent(caseId)}`, { text: box.value }); box.value = ""; await this.loadThreads(); } catch (err) {
          notify(explainError(err), { kind: "error" });
        } finally { btn.disabled = false; }
      });
      return h("div", {}, h("h3", {}, `About your post in ${fs[0].room}`),
        h("ul", { class: "thread" }, ...fs.map((f) => h("li", { class: f.mine ? "mine" : "" },
          h("strong", {}, f.mine ? "You: " : "Safety team: "), f.text, " ", h("small", { class: "muted" }, when(f.at))))),
        h("div", { class: "actions" }, box, btn));
    }));
  }
}
