// Safety screening in the client (docs/PROTOCOL.md "Safety screening"): the sender-side
// warning for personal information (the findings highlighted, "Edit" or "Post anyway"),
// the redacted notice, the support resources shown to a member in crisis, the urgent
// crisis alert at the top of the moderation panel, and editing one's own messages.
// User text only ever becomes text nodes (ui.js h()).

import { h, notify, explainError, formatFull } from "./ui.js";

/** The text with the findings' byte spans marked. Spans are UTF-8 byte offsets. */
export function highlightFindings(text, findings) {
  const bytes = new TextEncoder().encode(text);
  const dec = new TextDecoder();
  const spans = [...(findings || [])]
    .filter((f) => Number.isInteger(f.start) && Number.isInteger(f.end) && f.start < f.end && f.end <= bytes.length)
    .sort((a, b) => a.start - b.start);
  const out = h("p", { class: "pi-text" });
  let pos = 0;
  for (const f of spans) {
    if (f.start < pos) continue; // overlapping: the first one shows
    if (f.start > pos) out.append(dec.decode(bytes.slice(pos, f.start)));
    out.append(h("mark", { class: "pi-mark", title: f.label || f.category }, dec.decode(bytes.slice(f.start, f.end))));
    pos = f.end;
  }
  if (pos < bytes.length) out.append(dec.decode(bytes.slice(pos)));
  return out;
}

function labels(findings) {
  return [...new Set((findings || []).map((f) => f.label || f.category))].join(", ");
}

/**
 * The warn policy refused a post: show the sender what was found and let them edit it or
 * post it as written. onEdit() and onPostAnyway() decide; the card removes itself.
 */
export function personalInfoWarning(text, err, { onEdit, onPostAnyway }) {
  const card = h("div", { class: "pi-warning", role: "alertdialog", "aria-labelledby": "pi-title", "aria-describedby": "pi-help" });
  const done = (fn) => () => { card.remove(); fn(); };
  card.append(
    h("p", { id: "pi-title", class: "pi-title" }, `This message seems to contain personal information (${labels(err.findings)}).`),
    h("p", { id: "pi-help", class: "pi-help" }, "Everyone in the room would see it. You can edit it, or post it as written."),
    highlightFindings(text, err.findings),
    h("div", { class: "pi-actions" },
      h("button", { type: "button", class: "btn btn-primary btn-small pi-edit", onclick: done(onEdit) }, "Edit"),
      h("button", { type: "button", class: "btn btn-secondary btn-small pi-post", onclick: done(onPostAnyway) }, "Post anyway")));
  return card;
}

/** What the sender is told when the room replaced personal information in their post. */
export function redactedNotice(categories) {
  const what = (categories || []).map((c) => c.replaceAll("_", " ")).join(", ") || "personal information";
  return `Posted with personal information removed (${what}), to protect your privacy.`;
}

/** The support resources a member in crisis is sent: a panel above the composer. */
export function showResources(view, ev) {
  view.els.resources?.remove();
  const links = (ev.links || []).filter((l) => /^(https?:|tel:)/.test(String(l.url || "")));
  const panel = h("section", { class: "safety-resources", role: "alert", "aria-labelledby": "safety-res-title" },
    h("h2", { id: "safety-res-title" }, "You're not alone"),
    h("p", {}, String(ev.text || "")),
    links.length ? h("ul", {}, ...links.map((l) => h("li", {},
      h("a", { href: l.url, target: "_blank", rel: "noopener noreferrer" }, String(l.label || l.url))))) : null,
    h("p", { class: "safety-res-note" }, "A moderator has been told and may reach out to you."),
    h("button", { type: "button", class: "btn btn-quiet btn-small safety-res-close", onclick: () => panel.remove() }, "Close"));
  view.els.resources = panel;
  view.els.composerWrap.prepend(panel);
}

/**
 * An urgent crisis alert for moderators: pinned at the top of the moderation panel, and a
 * notice that stays until dismissed, so it is seen with the panel closed too.
 */
export function showCrisisAlert(view, ev) {
  const who = ev.author?.display_name || "A member";
  const where = ev.held_id ? "held for review (method detail)" : `message #${ev.seq}`;
  notify(`Urgent: ${who} may be in crisis — ${where}.`, { kind: "error", timeout: 0, key: "crisis-" + (ev.alert_id || ev.seq) });
  const aside = view.els.panel;
  if (!aside) return;
  let box = aside.querySelector(".crisis-alerts");
  if (!box) {
    box = h("section", { class: "crisis-alerts", "aria-label": "Crisis alerts", "aria-live": "assertive" });
    aside.prepend(box);
  }
  const item = h("article", { class: "crisis-alert" + (ev.method ? " method" : ""), dataset: { alertId: String(ev.alert_id || "") } },
    h("p", { class: "crisis-head" }, h("strong", {}, "Urgent · crisis"), ` ${who} · ${where}${ev.source === "model" ? " · found by the crisis model" : ""}`),
    h("blockquote", {}, String(ev.excerpt || "")),
    h("p", { class: "crisis-time" }, ev.at ? formatFull(ev.at) : ""),
    h("div", { class: "crisis-actions" },
      ev.seq ? h("button", { type: "button", class: "btn btn-small btn-secondary", onclick: () => view.showMessage?.(ev.seq) }, "Show message") : null,
      h("button", { type: "button", class: "btn btn-small btn-quiet", onclick: () => { item.remove(); if (!box.children.length) box.remove(); } }, "Dismiss")));
  box.prepend(item);
  if (aside.hidden) view.els.modToggle?.classList.add("urgent");
}

/** message_edited: update the shown message in place. */
export function applyEdit(view, ev) {
  const have = view.msgs.get(Number(ev.seq));
  if (have) view.replaceMessage(Number(ev.seq), { ...have.msg, text: ev.text, edited_at: ev.edited_at });
}

/** The "edited" mark beside a message's time. */
export function editedMark(m) {
  if (!m.edited_at) return null;
  return h("span", { class: "edited", title: `Edited ${formatFull(m.edited_at)}` }, "edited");
}

/** An "Edit" button for the member's own message: edits in place, through the screens. */
export function editButton(view, m) {
  return h("button", { type: "button", class: "btn btn-small edit", "aria-label": "Edit message",
    onclick: (e) => startEdit(view, m, e.target.closest(".message")) }, "Edit");
}

function startEdit(view, m, li) {
  if (!li || li.querySelector(".edit-form")) return;
  const p = li.querySelector(".text");
  const area = h("textarea", { class: "edit-text", "aria-label": "Edit message", maxlength: "4000" });
  area.value = String(m.text ?? "");
  const status = h("p", { class: "edit-status", role: "status" });
  const form = h("form", { class: "edit-form" }, area, status,
    h("div", { class: "edit-actions" },
      h("button", { type: "submit", class: "btn btn-primary btn-small" }, "Save"),
      h("button", { type: "button", class: "btn btn-quiet btn-small", onclick: () => { form.remove(); p.hidden = false; } }, "Cancel")));
  const save = async (confirm) => {
    const text = area.value;
    if (!text.trim()) return;
    status.textContent = "Saving…";
    try {
      await view.socket.request("edit", { room: view.slug, seq: m.seq, text, ...(confirm ? { confirm_personal_info: true } : {}) });
      form.remove(); // message_edited re-renders the message
      p.hidden = false;
    } catch (err) {
      status.textContent = "";
      if (err.code === "personal_info") {
        form.prepend(personalInfoWarning(text, err, { onEdit: () => area.focus(), onPostAnyway: () => save(true) }));
        return;
      }
      status.textContent = explainError(err);
    }
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); save(false); });
  p.hidden = true;
  p.after(form);
  area.focus();
}
