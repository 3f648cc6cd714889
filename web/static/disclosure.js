// Sponsorship disclosure and account badges (issue 7).
//
// - userBadges(user): the role badge and the badges only admins set ("Verified clinician",
//   "Affiliated with …"), shown beside an author's name in messages and member lists.
//   They come from the server's user object; there is no way for a member to hide them.
// - DisclosureBanner: the room's sponsor and disclosure text (and sponsored sessions), from
//   the join reply. It can be folded to one line but never removed: every join unfolds it.
// - renderBadgesCard / renderDisclosureEditor: the admin forms.
// User text only ever becomes text nodes (ui.js h()).

import { api } from "./api.js";
import { h, roleBadge, formError, notify, explainError } from "./ui.js";

/** The badges to show beside user's name: their role, then the admin-set badges. */
export function userBadges(user) {
  if (!user) return [];
  const role = roleBadge(user);
  const out = role ? [role] : [];
  for (const b of Array.isArray(user.badges) ? user.badges : []) {
    if (b?.kind === "clinician") {
      if (role?.classList.contains("badge-clinician")) continue; // the role badge says it already
      out.push(h("span", { class: "badge badge-clinician", title: String(b.label || "Verified clinician") }, "clinician ✓"));
    } else if (b?.kind === "affiliated") {
      out.push(h("span", { class: "badge badge-affiliated", title: "Set by the community's administrators" }, String(b.label || "Affiliated")));
    }
  }
  return out.flatMap((el, i) => (i ? [" ", el] : [el]));
}

function sessionLine(s) {
  const what = s.kind === "support" ? "Support session" : "Webinar";
  const when = s.state === "live" ? " (live now)" : "";
  return `${what} “${s.title || "untitled"}”${when} is sponsored by ${s.sponsor}.`;
}

/** The sponsorship banner of a room (and of its webinars). update(disclosure) after each join. */
export class DisclosureBanner {
  constructor() {
      this.title = h("p", { class: "disclosure-title" });
    this.text = h("p", { class: "disclosure-text" });
    this.sessions = h("ul", { class: "disclosure-sessions" });
    this.fold = h("button", { type: "button", class: "btn btn-quiet btn-small disclosure-fold", "aria-expanded": "true" }, "Show less");
    this.fold.addEventListener("click", () => this.setFolded(!this.el.classList.contains("folded")));
    this.el = h("section", { class: "disclosure-banner", role: "note", "aria-label": "Sponsorship disclosure", hidden: true },
      h("div", { class: "disclosure-body" }, this.title, this.text, this.sessions), this.fold);
  }

  setFolded(folded) {
    this.el.classList.toggle("folded", folded);
    this.fold.setAttribute("aria-expanded", String(!folded));
    this.fold.textContent = folded ? "Show disclosure" : "Show less";
  }

  /** d: the join reply's disclosure ({sponsor?, text?, sessions?}) or null. */
  update(d) {
    const sponsor = d?.sponsor ? String(d.sponsor) : "";
    const text = d?.text ? String(d.text) : "";
    const sessions = Array.isArray(d?.sessions) ? d.sessions.filter((s) => s?.sponsor) : [];
    this.el.hidden = !sponsor && !text && !sessions.length;
    if (this.el.hidden) return;
    this.title.textContent = sponsor ? `Sponsored by ${sponsor}` : "Sponsorship disclosure";
    this.text.textContent = text;
    this.text.hidden = !text;
    this.sessions.replaceChildren(...sessions.map((s) => h("li", {}, sessionLine(s))));
    this.sessions.hidden = !sessions.length;
    this.setFolded(false); // every join shows it in full again: it cannot be dismissed for good
  }
}

function field(label, input, help) {
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input, help ? h("p", { class: "help" }, help) : null);
}

/** Admin: a room's sponsor and disclosure text, saved with PATCH /api/rooms/{slug}. */
export function renderDisclosureEditor(r) {
  const id = (s) => `disclosure-${r.slug}-${s}`;
  const sponsor = h("input", { id: id("sponsor"), name: "sponsor", type: "text", maxlength: "500", value: r.sponsor || "", autocomplete: "off" });
  const text = h("textarea", { id: id("text"), name: "disclosure", rows: "3", maxlength: "2000" });
  text.value = r.disclosure || "";
  const ok = h("p", { class: "form-ok", role: "status", hidden: true });
  const save = h("button", { type: "submit", class: "btn btn-secondary" }, "Save disclosure");
  const form = h("form", { class: "form disclosure-form", dataset: { slug: r.slug }, novalidate: true },
    h("h3", {}, "Sponsorship disclosure"),
    field("Sponsor", sponsor, "The company or organisation that funds or supports this room, if any."),
    field("Disclosure", text, "Shown prominently to everyone in the room. Members cannot dismiss it."),
    h("p", { class: "form-error", role: "alert", hidden: true }), ok, save);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    formError(form, "");
    ok.hidden = true;
    const body = {};
    if (sponsor.value.trim() !== (r.sponsor || "")) body.sponsor = sponsor.value.trim();
    if (text.value.trim() !== (r.disclosure || "")) body.disclosure = text.value.trim();
    if (!Object.keys(body).length) { ok.textContent = "Nothing to save."; ok.hidden = false; return; }
    save.disabled = true;
    try {
      const res = await api.updateRoom(r.slug, body);
      Object.assign(r, res?.room || body);
      ok.textContent = "Saved. Members see it when they next join.";
      ok.hidden = false;
    } catch (err) {
      formError(form, explainError(err));
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

/** Admin: set an account's badges (PUT /api/users/{id}/badges). */
export function renderBadgesCard() {
  const user = h("input", { id: "badges-user", name: "user", type: "text", required: true, autocomplete: "off", spellcheck: "false", placeholder: "u_…" });
  const affiliation = h("input", { id: "badges-affiliation", name: "affiliation", type: "text", maxlength: "100", autocomplete: "off", placeholder: "e.g. Novo Nordisk" });
  const verified = h("input", { id: "badges-verified", name: "verified_clinician", type: "checkbox" });
  const ok = h("p", { class: "form-ok", role: "status", hidden: true });
  const save = h("button", { type: "submit", class: "btn btn-primary" }, "Set badges");
  const form = h("form", { id: "badges-form", class: "form", novalidate: true },
    field("Account ID", user, "The member's ID, as shown in a room's member list."),
    field("Company affiliation", affiliation, "Leave empty for none. Posts by affiliated accounts that name a listed product are held for medical/legal review."),
    h("div", { class: "field field-check" }, verified, h("label", { for: "badges-verified" }, " Verified clinician")),
    h("p", { class: "form-error", role: "alert", hidden: true }), ok, save);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    formError(form, "");
    ok.hidden = true;
    const id = user.value.trim();
    if (!id) { formError(form, "Please enter the account ID."); return; }
    save.disabled = true;
    try {
      const res = await api.setBadges(id, { affiliation: affiliation.value.trim(), verified_clinician: verified.checked });
      ok.replaceChildren(`Saved for ${res?.user?.display_name || id}: `, ...(userBadges(res?.user).length ? userBadges(res.user) : ["no badges"]));
      ok.hidden = false;
      notify("Badges saved.");
    } catch (err) {
      formError(form, err.code === "not_found" ? "No account has that ID." : explainError(err));
    } finally {
      save.disabled = false;
    }
  });
  return h("section", { class: "card", "aria-labelledby": "badges-title" }, h("h2", { id: "badges-title" }, "Account badges"), form);
}
