// Small DOM helpers. User-supplied text only ever becomes text nodes (textContent); this
// module has no innerHTML anywhere.

/**
 * h("li", {class: "x", dataset: {seq: 3}, onclick: fn, "aria-label": "..."}, "text", child)
 * Strings become text nodes; null/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "hidden") el.hidden = !!v;
    else if (k === "value") el.value = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Show msg (or hide when empty) in a form's .form-error element. */
export function formError(form, msg) {
  const el = form.querySelector(".form-error");
  if (!el) return;
  el.textContent = msg || "";
  el.hidden = !msg;
}

/** Notices: calm, dismissible, announced politely (the container is aria-live). */
export function notify(text, { kind = "info", timeout = 8000, key } = {}) {
  const box = document.getElementById("notices");
  if (!box) return null;
  if (key) {
    const old = box.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (old) old.remove();
  }
  const close = h("button", { type: "button", class: "notice-close", "aria-label": "Dismiss" }, "×");
  const n = h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : null, dataset: key ? { key } : {} },
    h("p", { class: "notice-text" }, text), close);
  close.addEventListener("click", () => n.remove());
  box.append(n);
  while (box.children.length > 4) box.firstElementChild.remove();
  if (timeout > 0) setTimeout(() => n.remove(), timeout);
  return n;
}

export function clearNotices() {
  const box = document.getElementById("notices");
  if (box) box.replaceChildren();
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayTimeFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

export function formatTime(ts) {
  const d = ts ? new Date(ts) : new Date();
  if (isNaN(d)) return "";
  const now = new Date();
  return d.toDateString() === now.toDateString() ? timeFmt.format(d) : dayTimeFmt.format(d);
}
export function formatFull(ts) {
  const d = new Date(ts);
  return isNaN(d) ? "" : fullFmt.format(d);
}
/** "until 14:30" style, for mutes. */
export function formatUntil(ts) {
  const d = new Date(ts);
  if (isNaN(d)) return "";
  return formatTime(d);
}
/** 300 → "5 min", 3600 → "1 h", 604800 → "7 days": moderation durations in words. */
export function formatDuration(s) {
  s = Math.round(Number(s) || 0);
  if (s <= 0) return "0 s";
  const units = [[86400, "day", "days"], [3600, "h", "h"], [60, "min", "min"]];
  for (const [n, one, many] of units) {
    if (s >= n && s % n === 0) return `${s / n} ${s / n === 1 ? one : many}`;
  }
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

/**
 * Two-step confirmation without a blocking confirm(): the first click arms the button
 * (label changes to confirmLabel for 5 s), the second runs fn. Returns a disarm function.
 */
export function twoStep(btn, confirmLabel, fn) {
  const label = btn.textContent;
  let armed = null;
  const disarm = () => { clearTimeout(armed); armed = null; btn.textContent = label; btn.classList.remove("btn-danger", "confirm"); };
  btn.addEventListener("click", () => {
    if (!armed) {
      btn.textContent = confirmLabel;
      btn.classList.add("btn-danger", "confirm");
      armed = setTimeout(disarm, 5000);
      return;
    }
    disarm();
    fn();
  });
  return disarm;
}

export function seconds(ms) {
  return Math.max(1, Math.ceil((Number(ms) || 0) / 1000));
}

/** Badge for a user's global role: verified clinicians, moderators, admins. */
export function roleBadge(user) {
  if (!user) return null;
  if (user.role === "clinician" && user.verified) return h("span", { class: "badge badge-clinician", title: "Verified clinician" }, "clinician ✓");
  if (user.role === "moderator") return h("span", { class: "badge badge-moderator" }, "moderator");
  if (user.role === "admin") return h("span", { class: "badge badge-admin" }, "admin");
  return null;
}

export function avatarClass(id) {
  let x = 0;
  for (const ch of String(id ?? "")) x = (x * 31 + ch.charCodeAt(0)) >>> 0;
  return `av-${x % 8}`;
}

/** A server message as a sentence: capital first letter, closing full stop. */
export function sentence(msg) {
  const s = String(msg ?? "").trim();
  if (!s) return "";
  const t = s[0].toUpperCase() + s.slice(1);
  return /[.!?…]$/.test(t) ? t : t + ".";
}

/** Plain-language text for a protocol error (an error reply or an API error). */
export function explainError(err) {
  const code = err?.code;
  switch (code) {
    case "muted":
      return err.until ? `You are muted until ${formatUntil(err.until)}, so you can't post right now.` : "You are muted in this room, so you can't post right now.";
    case "banned": return "You are banned from this room.";
    case "slow_mode": return `Slow mode is on in this room. You can post again in ${seconds(err.retry_after_ms)} s.`;
    case "room_locked": return "This room is locked for now — no new messages can be posted.";
    case "blocked": return sentence(err.message) || "A room rule does not allow this message.";
    case "held": return "Your message is waiting for a moderator's review. It will appear in the room if they approve it.";
    case "spam": return `That looks like the same message posted again. You can post again in ${seconds(err.retry_after_ms)} s.`;
    case "too_large": return "That message is too long. Please shorten it and try again.";
    case "rate_limited": return `You're doing that too quickly. Please wait ${seconds(err.retry_after_ms)} s and try again.`;
    case "unavailable": return "Haven is having trouble saving messages — your message was not sent, try again.";
    case "not_member": return "You are not a member of this room. Open it again from the room list to join.";
    case "forbidden": return "You don't have permission to do that.";
    case "not_found": return sentence(err.message) || "That could not be found.";
    case "conflict": return sentence(err.message) || "That already exists.";
    case "unauthorized": return "Your session has ended. Please log in again.";
    case "guidelines_required": return "Please accept the room guidelines to join.";
    case "timeout": return "Haven did not answer in time. Please try again.";
    case "disconnected": return "You're offline right now. We'll retry when the connection is back.";
    case "network": return "Can't reach Haven. Please check your connection and try again.";
    case "internal": return "Something went wrong on our side. Please try again.";
    default: return sentence(err?.message) || "Something went wrong. Please try again.";
  }
}
