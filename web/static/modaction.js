// The "moderate a member" dialog: mute (with a duration picker), unmute, remove, ban (with
// optional deletion of their recent messages) and unban, each with a reason that the member
// sees and the audit log keeps. Opened from the member list, a message's author, a review
// item or an audit entry; one dialog at a time, rebuilt for each target.

import { h, twoStep, formatUntil, formatDuration, explainError, roleBadge } from "./ui.js";

const MUTE_CHOICES = [[300, "5 minutes"], [3600, "1 hour"], [86400, "24 hours"], [604800, "7 days"]];
const MAX_MUTE_S = 2419200; // 28 days, the protocol's limit
const UNITS = [[60, "minutes"], [3600, "hours"], [86400, "days"]];
const DELETE_CHOICES = [[0, "Keep their messages"], [3600, "Also delete their messages from the last hour"], [86400, "Also delete their messages from the last day"]];

/** The mute length chosen in the picker, in seconds, or an error sentence. */
export function muteSeconds(choice, customValue, unitSeconds) {
  if (choice !== "custom") return Number(choice);
  const n = Number(customValue);
  if (!customValue || !Number.isFinite(n) || n <= 0) return "Please enter how long the mute should last.";
  const s = Math.round(n * Number(unitSeconds));
  if (s < 1) return "A mute lasts at least one second.";
  if (s > MAX_MUTE_S) return "A mute can last at most 28 days.";
  return s;
}

/**
 * ctx: {socket, slug, user: {id, display_name, role}, quote?: text of the message acted from,
 *       standing?: {banned, muted_until?} from the member list, onDone(action, reply)}
 */
export function openActionDialog(ctx) {
  document.getElementById("mod-action-dialog")?.remove();
  const { socket, slug, user } = ctx;
  const name = user.display_name || "this member";

  const reason = h("input", { id: "mod-act-reason", type: "text", maxlength: "500", autocomplete: "off", "aria-describedby": "mod-act-reason-help" });
  const duration = h("select", { id: "mod-act-duration" },
    MUTE_CHOICES.map(([s, label]) => h("option", { value: String(s) }, label)),
    h("option", { value: "custom" }, "Custom…"));
  const customN = h("input", { id: "mod-act-custom", type: "number", min: "1", step: "1", inputmode: "numeric", "aria-label": "Custom mute length" });
  const customUnit = h("select", { id: "mod-act-unit", "aria-label": "Unit" }, UNITS.map(([s, label]) => h("option", { value: String(s) }, label)));
  const custom = h("div", { class: "inline-fields", hidden: true }, customN, customUnit);
  duration.addEventListener("change", () => { custom.hidden = duration.value !== "custom"; if (!custom.hidden) customN.focus(); });
  const del = h("select", { id: "mod-act-delete", "aria-label": "Their recent messages" }, DELETE_CHOICES.map(([s, label]) => h("option", { value: String(s) }, label)));

  const btn = (id, label, cls = "btn-secondary") => h("button", { id, type: "button", class: `btn btn-small ${cls}` }, label);
  const muteBtn = btn("mod-act-mute", "Mute", "btn-primary");
  const unmuteBtn = btn("mod-act-unmute", "Unmute");
  const removeBtn = btn("mod-act-remove", "Remove from room");
  const banBtn = btn("mod-act-ban", "Ban", "btn-secondary");
  const unbanBtn = btn("mod-act-unban", "Unban");
  const closeBtn = h("button", { id: "mod-act-close", type: "button", class: "btn btn-secondary" }, "Close");
  const err = h("p", { class: "form-error", role: "alert", hidden: true });
  const ok = h("p", { class: "form-ok", role: "status", hidden: true });
  const all = [muteBtn, unmuteBtn, removeBtn, banBtn, unbanBtn];
  // Their standing now, so that lifting a ban or a mute is the obvious next step.
  const standing = { banned: !!ctx.standing?.banned, muted_until: ctx.standing?.muted_until || "" };
  const now = h("p", { id: "mod-act-now", class: "help", hidden: true });
  const renderNow = () => {
    const muted = standing.muted_until && Date.parse(standing.muted_until) > Date.now();
    const parts = [];
    if (standing.banned) parts.push(`${name} is banned from this room.`);
    if (muted) parts.push(`${name} is muted until ${formatUntil(standing.muted_until)}.`);
    now.textContent = parts.join(" ");
    now.hidden = parts.length === 0;
    now.dataset.state = [standing.banned ? "banned" : "", muted ? "muted" : ""].filter(Boolean).join(" ");
  };
  renderNow();

  const d = h("dialog", { id: "mod-action-dialog", class: "dialog mod-dialog", "aria-labelledby": "mod-act-title", dataset: { userId: user.id } },
    h("div", { class: "dialog-body" },
      h("h2", { id: "mod-act-title" }, `Moderate ${name} `, roleBadge(user)),
      now,
      ctx.quote ? h("blockquote", { class: "report-quote" }, ctx.quote) : null,
      h("div", { class: "field" },
        h("label", { for: "mod-act-reason" }, "Reason"),
        reason,
        h("p", { id: "mod-act-reason-help", class: "help" }, `${name} sees it with a mute, removal or ban; the audit log keeps it.`)),
      h("fieldset", { class: "mod-fieldset" },
        h("legend", {}, "Mute"),
        h("p", { class: "help" }, "They can read but not post until it ends."),
        h("label", { for: "mod-act-duration", class: "label" }, "For how long"),
        h("div", { class: "inline-fields" }, duration, muteBtn, unmuteBtn),
        custom),
      h("fieldset", { class: "mod-fieldset" },
        h("legend", {}, "Remove"),
        h("p", { class: "help" }, "Takes them out of the room now. They can rejoin."),
        removeBtn),
      h("fieldset", { class: "mod-fieldset" },
        h("legend", {}, "Ban"),
        h("p", { class: "help" }, "Takes them out and keeps them out until unbanned."),
        h("div", { class: "inline-fields" }, del, banBtn, unbanBtn)),
      err, ok,
      h("div", { class: "dialog-actions" }, closeBtn)));

  const show = (el, text) => { err.hidden = ok.hidden = true; el.textContent = text; el.hidden = !text; };
  const run = async (type, fields, done) => {
    for (const b of all) b.disabled = true;
    show(ok, "");
    try {
      const reply = await socket.request(type, { room: slug, user: user.id, ...fields });
      if (type === "mute") standing.muted_until = reply?.until || new Date(Date.now() + fields.duration_s * 1000).toISOString();
      if (type === "unmute") standing.muted_until = "";
      if (type === "ban" || type === "unban") standing.banned = type === "ban";
      renderNow();
      show(ok, done(reply));
      ctx.onDone?.(type, reply);
    } catch (e) {
      show(err, explainError(e));
    } finally {
      for (const b of all) b.disabled = false;
    }
  };
  const needReason = (what) => {
    if (reason.value.trim()) return false;
    show(err, `Please give a reason: ${name} will see it when ${what}.`);
    reason.focus();
    return true;
  };

  muteBtn.addEventListener("click", () => {
    const s = muteSeconds(duration.value, customN.value, customUnit.value);
    if (typeof s === "string") { show(err, s); customN.focus(); return; }
    run("mute", { duration_s: s, reason: reason.value.trim() },
      (r) => r.until ? `${name} is muted until ${formatUntil(r.until)}.` : `${name} is muted for ${formatDuration(s)}.`);
  });
  unmuteBtn.addEventListener("click", () => run("unmute", {}, () => `${name} can post again.`));
  removeBtn.addEventListener("click", () => {
    if (needReason("they are removed")) return;
    run("remove", { reason: reason.value.trim() }, () => `${name} was removed from the room.`);
  });
  // Banning is the one hard-to-undo step here: it asks twice (see twoStep).
  twoStep(banBtn, "Really ban?", () => {
    if (needReason("they are banned")) return;
    const fields = { reason: reason.value.trim() };
    const since = Number(del.value);
    if (since > 0) fields.delete_recent_s = since;
    run("ban", fields, () => `${name} is banned from the room` + (since > 0 ? ` and their messages from the last ${since === 3600 ? "hour" : "day"} are deleted.` : "."));
  });
  unbanBtn.addEventListener("click", () => run("unban", {}, () => `${name} may join the room again.`));
  closeBtn.addEventListener("click", () => d.close());
  d.addEventListener("close", () => { d.remove(); ctx.onClose?.(); });

  document.body.append(d);
  d.showModal();
  reason.focus();
  return d;
}
