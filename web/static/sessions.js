// A webinar or support room's sessions: upcoming and live, each with its host, start time
// and sponsorship disclosure; a form for those who may schedule; Start, Join and End.

import { api } from "./api.js";
import { h, notify, explainError, formError, formatFull, twoStep } from "./ui.js";

function localInputValue(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export class SessionsList {
  /**
   * opts: {slug, me, roomKind(), perms() → {staff, canStartEnd(s)}, inSession() → bool,
   *        onStart(session), onJoin(session), onEnd(session), onChange(list)}
   */
  constructor(opts) {
    this.opts = opts;
    this.list = [];
    this.loaded = false;
    this.listEl = h("ul", { class: "session-list", "aria-labelledby": "sessions-title" });
    this.status = h("p", { class: "muted sessions-status" });
    this.toggle = h("button", { id: "session-schedule-toggle", type: "button", class: "btn btn-secondary btn-small", "aria-expanded": "false", "aria-controls": "session-form", hidden: true }, "Schedule a session");
    this.toggle.addEventListener("click", () => this.showForm(this.form.hidden));
    this.form = this.buildForm();
    this.el = h("section", { class: "sessions", "aria-labelledby": "sessions-title" },
      h("div", { class: "sessions-head" }, h("h2", { id: "sessions-title" }, "Sessions"), this.toggle),
      this.form, this.status, this.listEl);
  }

  buildForm() {
    this.hostSel = h("select", { id: "session-host", name: "host" });
    // Kept as fields: form.title would be the form's own title attribute, not the input.
    this.titleIn = h("input", { id: "session-title", name: "title", type: "text", maxlength: "200", required: true, autocomplete: "off" });
    this.startsIn = h("input", { id: "session-starts", name: "starts_at", type: "datetime-local", required: true });
    this.sponsorIn = h("input", { id: "session-sponsor", name: "sponsor", type: "text", maxlength: "500", autocomplete: "off", "aria-describedby": "session-sponsor-help" });
    const f = h("form", { id: "session-form", class: "session-form card", hidden: true, novalidate: true },
      h("div", { class: "field" }, h("label", { for: "session-title" }, "Title"), this.titleIn),
      h("div", { class: "grid-2" },
        h("div", { class: "field" }, h("label", { for: "session-starts" }, "Starts"), this.startsIn),
        h("div", { class: "field" }, h("label", { for: "session-host" }, "Host"), this.hostSel)),
      h("div", { class: "field" }, h("label", { for: "session-sponsor" }, "Sponsor ", h("span", { class: "muted" }, "(if any)")),
        this.sponsorIn,
        h("p", { id: "session-sponsor-help", class: "help" }, "If a company or organisation pays for or supports this session, name it. Members will see “Sponsored by …” with the session.")),
      h("p", { class: "form-error", role: "alert", hidden: true }),
      h("div", { class: "dialog-actions" },
        h("button", { type: "button", class: "btn btn-quiet", onclick: () => this.showForm(false) }, "Cancel"),
        h("button", { id: "session-submit", type: "submit", class: "btn btn-primary" }, "Schedule")));
    f.addEventListener("submit", (e) => { e.preventDefault(); this.submit(); });
    return f;
  }

  async showForm(open) {
    this.form.hidden = !open;
    this.toggle.setAttribute("aria-expanded", String(open));
    if (!open) return;
    formError(this.form, "");
    this.startsIn.value = localInputValue(new Date());
    const me = this.opts.me;
    this.hostSel.replaceChildren(h("option", { value: me.id }, `Me (${me.display_name})`));
    this.titleIn.focus();
    // Moderators may name one of the room's hosts; the member list is theirs only.
    if (!this.opts.perms().moderator) return;
    try {
      const res = await api.members(this.opts.slug, 500);
      for (const m of res?.members || []) {
        if (m.role === "host" && m.user && m.user.id !== me.id && !m.banned) this.hostSel.append(h("option", { value: m.user.id }, m.user.display_name));
      }
    } catch { /* not a moderator: only "Me" */ }
  }

  async submit() {
    const f = this.form;
    formError(f, "");
    const title = this.titleIn.value.trim();
    const when = new Date(this.startsIn.value);
    if (!title) { formError(f, "Please give the session a title."); this.titleIn.focus(); return; }
    if (isNaN(when)) { formError(f, "Please choose when the session starts."); this.startsIn.focus(); return; }
    const btn = f.querySelector("#session-submit");
    btn.disabled = true;
    try {
      const res = await api.scheduleSession({ room: this.opts.slug, title, host: this.hostSel.value,
        starts_at: when.toISOString(), sponsor: this.sponsorIn.value.trim() });
      if (res?.session) this.update(res.session);
      f.reset();
      this.showForm(false);
      notify(`“${title}” is scheduled.`, { key: "session-scheduled" });
    } catch (err) {
      formError(f, explainError(err));
    } finally {
      btn.disabled = false;
    }
  }

  async load() {
    try {
      const res = await api.sessions(this.opts.slug);
      this.list = [];
      for (const s of res?.sessions || []) this.merge(s);
      this.loaded = true;
      this.status.textContent = "";
    } catch (err) {
      this.status.textContent = "Could not load the sessions: " + explainError(err);
    }
    this.render();
    this.opts.onChange?.(this.list);
  }

  merge(s) {
    if (!s?.id) return;
    const i = this.list.findIndex((x) => x.id === s.id);
    if (s.state === "ended") { if (i >= 0) this.list.splice(i, 1); return; }
    if (i >= 0) this.list[i] = { ...this.list[i], ...s };
    else this.list.push(s);
    const rank = (x) => (x.state === "live" ? 0 : 1);
    this.list.sort((a, b) => rank(a) - rank(b) || String(a.starts_at).localeCompare(String(b.starts_at)));
  }

  /** A session.update event (or our own change). */
  update(s) {
    this.merge(s);
    this.render();
    this.opts.onChange?.(this.list);
  }

  current() { return this.list.find((s) => s.state === "live") || this.list[0] || null; }

  render() {
    const perms = this.opts.perms();
    this.toggle.hidden = !perms.staff;
    if (this.loaded && !this.list.length) {
      this.status.textContent = perms.staff ? "No sessions are scheduled. Schedule one to go live." : "No sessions are scheduled in this room yet.";
    } else if (this.loaded) this.status.textContent = "";
    this.listEl.replaceChildren(...this.list.map((s) => this.row(s, perms)));
  }

  row(s, perms) {
    const live = s.state === "live";
    const inIt = this.opts.inSession();
    const acts = h("div", { class: "session-actions" });
    const manage = perms.canStartEnd(s);
    if (!live && manage) acts.append(this.action("session-start", "Start", () => this.opts.onStart(s), `Start ${s.title}`, "btn-primary"));
    if (live && !inIt) acts.append(this.action("session-join", "Join", () => this.opts.onJoin(s), `Join ${s.title}`, "btn-primary"));
    if (manage) {
      const end = h("button", { type: "button", class: "btn btn-small btn-quiet session-end", "aria-label": live ? `End ${s.title}` : `Call off ${s.title}` }, live ? "End" : "Call off");
      twoStep(end, live ? "Really end?" : "Really call off?", () => this.run(end, () => this.opts.onEnd(s)));
      acts.append(end);
    }
    const host = s.host?.display_name || "a host";
    return h("li", { class: `session${live ? " session-live" : ""}`, dataset: { sessionId: s.id, state: s.state } },
      h("div", { class: "session-main" },
        h("p", { class: "session-when" }, live ? h("span", { class: "live-dot" }, "Live now") : formatFull(s.starts_at)),
        h("h3", { class: "session-title" }, s.title),
        h("p", { class: "session-host muted" }, `Hosted by ${host}`),
        s.sponsor ? h("p", { class: "session-sponsor" }, `Sponsored by ${s.sponsor}`) : null),
      acts);
  }

  action(cls, label, fn, aria, kind = "btn-secondary") {
    const b = h("button", { type: "button", class: `btn btn-small ${kind} ${cls}`, "aria-label": aria }, label);
    b.addEventListener("click", () => this.run(b, fn));
    return b;
  }

  async run(btn, fn) {
    btn.disabled = true;
    try {
      await fn();
    } catch (err) {
      notify(explainError(err), { kind: "error", key: "session-action" });
    } finally {
      btn.disabled = false;
    }
  }
}
