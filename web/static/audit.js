// The room's audit log in the moderator panel (GET /api/rooms/{slug}/audit): newest first,
// older pages with before=<oldest id shown>. Entries name people by id only, so names come
// from whoever the panel has seen in this room; others are "a member" (or "Someone" when
// they acted, since admins act without being members).

import { api } from "./api.js";
import { h, formatTime, formatFull, formatUntil, formatDuration, explainError } from "./ui.js";

const PAGE = 50;

/** The entry as a sentence (without the actor): "muted Heron for 5 min". */
export function describeEntry(e, nameOf) {
  const d = e.detail && typeof e.detail === "object" ? e.detail : {};
  let who = e.target ? nameOf(e.target) : "";
  if (who === "You") who = "you"; // mid-sentence
  switch (e.action) {
    case "mute": return `muted ${who}` + (d.duration_s ? ` for ${formatDuration(d.duration_s)}` : "") + (e.expires_at ? ` (until ${formatUntil(e.expires_at)})` : "");
    case "unmute": return `unmuted ${who}`;
    case "remove": return `removed ${who} from the room`;
    case "ban": return `banned ${who}` + (d.delete_recent_s ? ` and deleted their messages from the last ${formatDuration(d.delete_recent_s)}` : "");
    case "unban": return `lifted the ban on ${who}`;
    case "delete": return who ? `deleted a message by ${who}` : "deleted a message";
    case "slow_mode": return d.seconds > 0 ? `set slow mode to ${formatDuration(d.seconds)}` : "turned slow mode off";
    case "lock": return d.locked === false ? "unlocked the room" : "locked the room";
    case "room_update": return "changed the room's settings";
    case "room_role": return `made ${who} ${d.role ? "a room " + d.role : "have a new room role"}`;
    case "user_role": return `changed the role of ${who}`;
    case "rule_add": return "added a keyword rule" + (d.pattern ? ` (${d.pattern})` : "");
    case "rule_remove": return "removed a keyword rule" + (d.pattern ? ` (${d.pattern})` : "");
    case "approve": return who ? `approved a held post by ${who}` : "approved a held post";
    case "reject": return who ? `rejected a held post by ${who}` : "rejected a held post";
    case "report_resolve": return `${d.outcome === "actioned" ? "actioned" : "dismissed"} a report` + (who ? ` about ${who}` : "");
    default: return String(e.action || "acted") + (who ? ` on ${who}` : "");
  }
}

export class AuditLog {
  /** ctx: {slug, nameOf(id), userOf(id), actOn(user)} */
  constructor(ctx) {
    this.ctx = ctx;
    this.loaded = false;
    this.stale = false; // something happened since the last load: refresh when shown
    this.busy = false;
    this.ids = new Set();
  }

  mount(pane) {
    this.status = h("p", { class: "mod-status", role: "status" });
    this.list = h("ol", { class: "mod-audit", "aria-label": "Audit log, newest first" });
    this.more = h("button", { type: "button", class: "btn btn-small btn-secondary", hidden: true, onclick: () => this.loadOlder() }, "Load older entries");
    const refresh = h("button", { type: "button", class: "btn btn-small btn-quiet", onclick: () => this.refresh() }, "Refresh");
    pane.replaceChildren(
      h("div", { class: "mod-row" }, h("p", { class: "help" }, "Every moderation action in this room. Entries can't be edited or deleted."), refresh),
      this.status, this.list, this.more);
  }

  /** Newest page: on first load it fills the list, afterwards it adds what is new on top. */
  async refresh() {
    if (this.busy) { this.stale = true; return; }
    this.busy = true;
    this.stale = false;
    if (!this.loaded) this.status.textContent = "Loading the audit log…";
    try {
      const res = await api.audit(this.ctx.slug, { limit: PAGE });
      const entries = res?.entries || [];
      const fresh = entries.filter((e) => !this.ids.has(String(e.id)));
      // Newest first: insert the new ones, in order, above what is already shown.
      const anchor = this.list.firstElementChild;
      for (const e of fresh) this.list.insertBefore(this.render(e), anchor);
      if (!this.loaded) this.more.hidden = entries.length < PAGE;
      this.loaded = true;
      this.status.textContent = this.list.children.length ? "" : "Nothing has been logged in this room yet.";
    } catch (err) {
      this.status.textContent = `Could not load the audit log: ${explainError(err)}`;
    } finally {
      this.busy = false;
    }
    if (this.stale) this.refresh();
  }

  async loadOlder() {
    const last = this.list.lastElementChild;
    if (!last || this.busy) return;
    this.busy = true;
    this.more.disabled = true;
    try {
      const res = await api.audit(this.ctx.slug, { before: last.dataset.id, limit: PAGE });
      const entries = (res?.entries || []).filter((e) => !this.ids.has(String(e.id)));
      for (const e of entries) this.list.append(this.render(e));
      if ((res?.entries || []).length < PAGE) {
        this.more.hidden = true;
        this.status.textContent = "This is the start of the log.";
      }
    } catch (err) {
      this.status.textContent = `Could not load older entries: ${explainError(err)}`;
    } finally {
      this.busy = false;
      this.more.disabled = false;
    }
  }

  render(e) {
    this.ids.add(String(e.id));
    const { nameOf } = this.ctx;
    const target = e.target ? this.ctx.userOf(e.target) : null;
    const li = h("li", { class: "mod-audit-entry", dataset: { id: String(e.id), action: String(e.action || "") } },
      h("p", { class: "audit-line" },
        e.at ? h("time", { datetime: e.at, title: formatFull(e.at) }, formatTime(e.at)) : null, " ",
        h("strong", {}, nameOf(e.actor, "Someone")), " ", describeEntry(e, nameOf), "."),
      e.reason ? h("p", { class: "audit-reason" }, `Reason: ${e.reason}`) : null);
    // Unmuting or unbanning someone who is not online starts here: the log knows their id.
    if (target && ["mute", "ban", "remove"].includes(e.action)) {
      li.append(h("button", { type: "button", class: "btn btn-small btn-quiet", "aria-label": `Moderate ${nameOf(e.target)}`,
        onclick: () => this.ctx.actOn(target) }, "Moderate…"));
    }
    return li;
  }
}
