// Keyword rules in the moderator panel: list, add and delete a room's rules over
// GET/POST/DELETE /api/rooms/{slug}/rules. The server is the judge of a pattern (it refuses
// regexes RE2 cannot run in linear time, or too large ones): its message is shown inline.

import { api } from "./api.js";
import { h, formError, formatFull, explainError, twoStep } from "./ui.js";

const KIND_HELP = {
  word: "A word or phrase, matched whole and ignoring case: “pill” does not match “pillow”.",
  wildcard: "A word pattern: * is any run of letters or digits, ? is one (“cur*” matches cure, cures, curing).",
  regex: "An RE2 regular expression, at most 200 characters. Case-sensitive unless it starts with (?i).",
};
const ACTION_LABEL = { block: "Block the post", hold: "Hold for review", alert: "Publish and alert moderators" };

export class RulesSection {
  /** ctx: {slug, onChanged()} */
  constructor(ctx) {
    this.ctx = ctx;
    this.loaded = false;
  }

  mount(pane) {
    this.status = h("p", { class: "mod-status", role: "status" });
    this.list = h("ul", { class: "rule-list", "aria-label": "Keyword rules" });
    const kind = h("select", { id: "mod-rule-kind", name: "kind" },
      h("option", { value: "word" }, "Word or phrase"), h("option", { value: "wildcard" }, "Wildcard"), h("option", { value: "regex" }, "Regular expression"));
    const help = h("p", { id: "mod-rule-pattern-help", class: "help" }, KIND_HELP.word);
    kind.addEventListener("change", () => { help.textContent = KIND_HELP[kind.value]; });
    const pattern = h("input", { id: "mod-rule-pattern", name: "pattern", type: "text", autocomplete: "off", spellcheck: "false", maxlength: "200", "aria-describedby": "mod-rule-pattern-help" });
    const action = h("select", { id: "mod-rule-action", name: "action" },
      Object.entries(ACTION_LABEL).map(([v, l]) => h("option", { value: v }, l)));
    const reason = h("input", { id: "mod-rule-reason", name: "reason", type: "text", maxlength: "500", autocomplete: "off", "aria-describedby": "mod-rule-reason-help" });
    const submit = h("button", { type: "submit", class: "btn btn-small btn-primary" }, "Add rule");
    const form = h("form", { id: "mod-rule-form", class: "form mod-form", novalidate: true },
      h("h3", {}, "Add a rule"),
      h("div", { class: "field" }, h("label", { for: "mod-rule-kind" }, "Kind"), kind),
      h("div", { class: "field" }, h("label", { for: "mod-rule-pattern" }, "Pattern"), pattern, help),
      h("div", { class: "field" }, h("label", { for: "mod-rule-action" }, "When it matches"), action),
      h("div", { class: "field" }, h("label", { for: "mod-rule-reason" }, "Reason"), reason,
        h("p", { id: "mod-rule-reason-help", class: "help" }, "A blocked member sees this, so write it for them.")),
      h("p", { class: "form-error", role: "alert", hidden: true }),
      submit);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      formError(form, "");
      const body = { kind: kind.value, pattern: pattern.value.trim(), action: action.value, reason: reason.value.trim() };
      if (!body.pattern) { formError(form, "Please enter a pattern."); pattern.focus(); return; }
      if (!body.reason) { formError(form, "Please give a reason."); reason.focus(); return; }
      submit.disabled = true;
      try {
        const res = await api.addRule(this.ctx.slug, body);
        this.addItem(res?.rule || body);
        this.status.textContent = "Rule added.";
        pattern.value = "";
        reason.value = "";
        pattern.focus();
        this.ctx.onChanged();
      } catch (err) {
        formError(form, explainError(err));
      } finally {
        submit.disabled = false;
      }
    });
    this.empty = h("p", { class: "muted mod-empty", hidden: true }, "No keyword rules in this room yet.");
    pane.replaceChildren(
      h("p", { class: "help" }, "Every post is checked against these rules before it is stored. Block wins over hold, hold over alert."),
      this.status, this.empty, this.list, form);
  }

  async load() {
    this.status.textContent = "Loading rules…";
    try {
      const res = await api.rules(this.ctx.slug);
      this.list.replaceChildren();
      for (const r of res?.rules || []) this.addItem(r);
      this.loaded = true;
      this.status.textContent = "";
    } catch (err) {
      this.status.replaceChildren(`Could not load the rules: ${explainError(err)} `,
        h("button", { type: "button", class: "link-btn", onclick: () => this.load() }, "Try again"));
    }
    this.renderEmpty();
  }

  renderEmpty() { this.empty.hidden = !this.loaded || this.list.children.length > 0; }

  addItem(r) {
    const del = h("button", { type: "button", class: "btn btn-small btn-secondary", "aria-label": `Delete rule ${r.pattern}` }, "Delete");
    const err = h("p", { class: "form-error", role: "alert", hidden: true });
    const li = h("li", { class: `rule rule-${r.action}`, dataset: { id: String(r.id ?? "") } },
      h("p", { class: "rule-head" },
        h("code", { class: "rule-pattern" }, r.pattern),
        h("span", { class: "badge" }, r.kind),
        h("span", { class: `badge badge-${r.action}` }, r.action)),
      h("p", { class: "rule-reason" }, r.reason || ""),
      r.created_at ? h("p", { class: "help" }, `Added ${formatFull(r.created_at)}`) : null,
      del, err);
    twoStep(del, "Really delete?", async () => {
      del.disabled = true;
      try {
        await api.deleteRule(this.ctx.slug, r.id);
        li.remove();
        this.status.textContent = "Rule deleted.";
        this.renderEmpty();
        this.ctx.onChanged();
      } catch (e) {
        err.textContent = explainError(e);
        err.hidden = false;
        del.disabled = false;
      }
    });
    this.list.append(li);
    this.renderEmpty();
  }
}
