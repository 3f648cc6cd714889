// The member's privacy page (/privacy): the health-data consent (grant, withdraw), a
// download of all their data, and erasure of their account. Also the consent prompt shown
// when a post is refused with consent_required.

import { h, notify, explainError, sentence } from "./ui.js";

async function call(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch {
    throw { code: "network" };
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw { status: res.status, ...(data?.error || { code: res.status >= 500 ? "unavailable" : "http_" + res.status }) };
  return data;
}

const when = (ts) => (ts ? new Date(ts).toLocaleString() : "");

function problem(err) {
  if (err?.code === "unauthorized" && err.message === "wrong password") return "That password is not right.";
  return err?.message && !["network", "internal", "unavailable"].includes(err.code) ? sentence(err.message) : explainError(err);
}

// ---------- consent prompt ----------

let prompting = null;

/** Ask for the consent a refused post named; resolves true once granted. */
export function askConsent(err) {
  if (prompting) return prompting;
  const d = h("dialog", { class: "dialog", "aria-labelledby": "consent-title", id: "consent-dialog" });
  const status = h("p", { class: "form-error", role: "alert", hidden: true });
  const agree = h("button", { type: "button", class: "btn btn-primary" }, "I agree");
  const later = h("button", { type: "button", class: "btn btn-secondary" }, "Not now");
  d.append(h("div", { class: "dialog-body" },
    h("h2", { id: "consent-title" }, "Consent to share health information"),
    h("p", { class: "muted" }, "This community asks for your consent before you post. You can still read without it, and you can withdraw it at any time from your privacy page."),
    h("div", { class: "guidelines-text", tabindex: "0" }, err.text || ""),
    status,
    h("div", { class: "dialog-actions" }, later, agree)));
  document.body.append(d);
  prompting = new Promise((resolve) => {
    const done = (ok) => {
      d.close();
      d.remove();
      prompting = null;
      resolve(ok);
    };
    later.addEventListener("click", () => done(false));
    d.addEventListener("cancel", (e) => { e.preventDefault(); done(false); });
    agree.addEventListener("click", async () => {
      agree.disabled = true;
      try {
        await call("POST", "/api/me/consents", { kind: err.kind || "health_data", version: err.version });
        notify("Thank you. You can post now — use “Try again” on your message.", { kind: "info" });
        done(true);
      } catch (e) {
        status.textContent = problem(e);
        status.hidden = false;
        agree.disabled = false;
      }
    });
    d.showModal();
    agree.focus();
  });
  return prompting;
}

/**
 * Watch a socket's replies for consent_required, whatever command was refused (a post, a
 * question, an edit), and prompt for the consent. The refusal still reaches the caller.
 */
export function watchConsent(socket) {
  const request = socket.request.bind(socket);
  socket.request = async (...args) => {
    try {
      return await request(...args);
    } catch (err) {
      if (err?.code === "consent_required") askConsent(err);
      throw err;
    }
  };
}

// ---------- privacy page ----------

/** Render the privacy page into c. onErased runs after the account is erased. */
export function renderPrivacy(c, { onErased }) {
  const consents = h("div", { class: "privacy-consents" }, h("p", { class: "muted" }, "Loading…"));
  c.replaceChildren(h("div", { class: "admin-inner privacy-inner" },
    h("h1", {}, "Your privacy"),
    h("section", { class: "privacy-section", "aria-labelledby": "pv-consent" },
      h("h2", { id: "pv-consent" }, "Consent"), consents),
    exportSection(),
    eraseSection(onErased)));
  loadConsents(consents);
}

async function loadConsents(el) {
  let data;
  try {
    data = await call("GET", "/api/me/consents");
  } catch (err) {
    el.replaceChildren(h("p", { class: "form-error", role: "alert" }, problem(err)));
    return;
  }
  const req = data.required;
  const active = (data.consents || []).find((x) => x.active && x.kind === "health_data");
  const parts = [];
  if (!req) {
    parts.push(h("p", {}, "This community does not ask for a separate consent to process health information. Room guidelines are accepted per room when you join."));
  } else {
    const current = active && active.version === req.version;
    parts.push(h("div", { class: "guidelines-text", tabindex: "0" }, req.text));
    parts.push(h("p", { class: current ? "note note-info" : "note" }, current
      ? `You gave this consent on ${when(active.granted_at)}. You can post.`
      : active ? "The consent text has changed since you agreed. Please review it to keep posting."
        : "You have not given this consent, so you can read but not post."));
    const status = h("p", { class: "form-error", role: "alert", hidden: true });
    const act = async (method, path, body) => {
      try {
        await call(method, path, body);
        await loadConsents(el);
      } catch (err) {
        status.textContent = problem(err);
        status.hidden = false;
      }
    };
    parts.push(current
      ? h("button", { type: "button", class: "btn btn-secondary", id: "withdraw-consent",
        onclick: () => act("DELETE", "/api/me/consents/health_data") }, "Withdraw my consent")
      : h("button", { type: "button", class: "btn btn-primary", id: "grant-consent",
        onclick: () => act("POST", "/api/me/consents", { kind: "health_data", version: req.version }) }, "I agree"));
    parts.push(status);
  }
  if ((data.consents || []).length) {
    parts.push(h("h3", {}, "History"), h("ul", { class: "privacy-history" }, data.consents.map((x) =>
      h("li", {}, `Health data, version ${x.version}: given ${when(x.granted_at)}`,
        x.withdrawn_at ? `, ended ${when(x.withdrawn_at)}` : " (in force)"))));
  }
  el.replaceChildren(...parts);
}

function exportSection() {
  return h("section", { class: "privacy-section", "aria-labelledby": "pv-export" },
    h("h2", { id: "pv-export" }, "Download your data"),
    h("p", {}, "A JSON file with your profile, sessions, room memberships, every message you wrote (including deleted ones), the reports you made, your consents and your Q&A and poll activity."),
    h("a", { class: "btn btn-secondary", id: "export-data", href: "/api/me/export", download: "haven-export.json" }, "Download my data"));
}

function eraseSection(onErased) {
  const pw = h("input", { type: "password", id: "erase-password", autocomplete: "current-password", required: true });
  const sure = h("input", { type: "checkbox", id: "erase-sure" });
  const status = h("p", { class: "form-error", role: "alert", hidden: true });
  const btn = h("button", { type: "submit", class: "btn btn-danger", id: "erase-account" }, "Erase my account");
  const form = h("form", { class: "form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "erase-password" }, "Your password"), pw),
    h("div", { class: "field" }, h("label", {}, sure, " I understand that this cannot be undone.")),
    status, btn);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    status.hidden = true;
    const fail = (msg) => { status.textContent = msg; status.hidden = false; };
    if (!pw.value) return fail("Please enter your password.");
    if (!sure.checked) return fail("Please confirm that you understand this cannot be undone.");
    if (!window.confirm("Erase your Haven account now? This cannot be undone.")) return;
    btn.disabled = true;
    try {
      await call("DELETE", "/api/me", { password: pw.value });
      onErased();
    } catch (err) {
      fail(problem(err));
      btn.disabled = false;
    }
  });
  return h("section", { class: "privacy-section", "aria-labelledby": "pv-erase" },
    h("h2", { id: "pv-erase" }, "Erase your account"),
    h("p", {}, "Your email, password and display name are removed, you are signed out everywhere, and your messages are removed or shown under an anonymous “Former member” name, as this community has chosen. Messages the law requires us to keep (reports of side effects of medicines) are kept, without your name."),
    form);
}
