// Message list items: stored messages, the sender's own pending copies, and their actions
// (delete, report, and for moderators "moderate the author"). Kept apart from room.js,
// which decides when to render; this module decides what an item looks like.
// User text only ever becomes text nodes (ui.js h()).

import { h, formatTime, formatFull, roleBadge, avatarClass, twoStep } from "./ui.js";
import { userBadges } from "./disclosure.js";
import { editedMark, editButton } from "./screening.js";

/** view: the RoomView (me, isModerator, panel, deleteMessage, reportMessage). */
export function renderMessage(view, m) {
  const author = m.author || {};
  const own = !!(view.me && author.id === view.me.id);
  const deleted = !!(m.deleted || m.deleted_at);
  const name = author.display_name || "Member";
  // A moderator selects an author's name to act on them; it is a real button, so it is
  // reachable with the keyboard. Everyone else sees plain text.
  const canAct = view.isModerator && !own && author.id;
  const authorEl = canAct
    ? h("button", { type: "button", class: "author author-btn", title: `Moderate ${name}`, "aria-label": `${name}: moderate`,
      onclick: () => view.panel?.actOn(author, deleted ? "" : String(m.text ?? "")) }, name)
    : h("span", { class: "author" }, name);
  const li = h("li", {
    class: "message" + (own ? " own" : "") + (deleted ? " deleted" : ""),
    dataset: { seq: String(m.seq), ...(m.message_id ? { messageId: String(m.message_id) } : {}), ...(author.id ? { authorId: String(author.id) } : {}) },
  },
  h("span", { class: `avatar ${avatarClass(author.id)}`, "aria-hidden": "true" }, (name.trim()[0] || "?").toUpperCase()),
  h("div", { class: "meta" },
    authorEl,
    userBadges(author),
    h("time", { datetime: m.ts || "", title: m.ts ? formatFull(m.ts) : "" }, formatTime(m.ts)),
    deleted ? null : editedMark(m)),
  h("p", { class: "text" }, deleted ? "message deleted" : String(m.text ?? "")));
  if (!deleted) li.append(renderActions(view, m, own));
  return li;
}

function renderActions(view, m, own) {
  const acts = h("div", { class: "msg-actions" });
  const canModerate = view.isModerator || (view.me && (view.me.role === "admin" || view.me.role === "moderator"));
  if (own) acts.append(editButton(view, m)); // screening.js
  if (own || canModerate) {
    const del = h("button", { type: "button", class: "btn btn-small delete", "aria-label": "Delete message" }, "Delete");
    twoStep(del, "Really delete?", () => view.deleteMessage(m.seq, del));
    acts.append(del);
  }
  if (!own) {
    acts.append(h("button", { type: "button", class: "btn btn-small report", "aria-label": "Report message", onclick: () => view.reportMessage(m) }, "Report"));
  }
  return acts;
}

export function renderPending(me, entry) {
  const name = me?.display_name || "You";
  return h("li", { class: "message own pending", dataset: { clientMsgId: entry.id } },
    h("span", { class: `avatar ${avatarClass(me?.id)}`, "aria-hidden": "true" }, (name[0] || "?").toUpperCase()),
    h("div", { class: "meta" },
      h("span", { class: "author" }, name),
      roleBadge(me),
      h("span", { class: "status" }, "Sending…")),
    h("p", { class: "text" }, entry.text));
}

/** state: queued | sending | failed | held. retry() and discard() back the failed buttons. */
export function setPendingState(entry, state, label, { retry, discard } = {}) {
  entry.state = state;
  const el = entry.el;
  el.classList.toggle("pending", state === "queued" || state === "sending");
  el.classList.toggle("failed", state === "failed");
  el.classList.toggle("held", state === "held");
  el.querySelector(".status").textContent = label;
  el.querySelector(".failed-actions")?.remove();
  if (state === "failed") {
    el.append(h("div", { class: "failed-actions" },
      h("button", { type: "button", class: "btn btn-small btn-secondary retry", onclick: retry }, "Try again"),
      h("button", { type: "button", class: "btn btn-small btn-quiet discard", onclick: discard }, "Discard")));
  }
}
