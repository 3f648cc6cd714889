// The moderator panel of a room: members (act on someone), the review queue, room controls
// (slow mode, lock), keyword rules and the audit log, as tabs in a side panel (the whole
// screen on a phone). Only moderators see it; the server still checks every command.

import { ApiError } from "./api.js";
import { h, roleBadge, formatTime, formatUntil, formatDuration, explainError } from "./ui.js";
import { userBadges } from "./disclosure.js";
import { openActionDialog } from "./modaction.js";
import { ReviewQueue } from "./review.js";
import { RulesSection } from "./rules.js";
import { AuditLog } from "./audit.js";

const SLOW_CHOICES = [[0, "Off"], [10, "10 seconds"], [30, "30 seconds"], [60, "1 minute"], [300, "5 minutes"]];
const MAX_SLOW_S = 21600;
const OPEN_KEY = "haven.modpanel.open";
const MEMBER_LIMIT = 500;
const MEMBERS_STALE_MS = 30000; // the Members tab reloads the list when it is older than this

/**
 * Does the member moderate this room? Global admins and moderators moderate every room
 * (/api/me); anyone else when the join reply's `member.role` says "moderator".
 */
export function moderates(me, member) {
  if (me && (me.role === "admin" || me.role === "moderator")) return true;
  return !!member && member.role === "moderator";
}

/**
 * Give a RoomView its panel (the view decided from the join reply that the member moderates
 * the room): the panel, the composer's moderator exemptions, and author buttons and Delete
 * on every message already shown.
 */
export function attachModerator(view) {
  if (view.panel || view.closed || view.removed) return;
  view.isModerator = true;
  view.guard.setExempt(true); // the server lets moderators post in locked or slow rooms
  const e = view.els;
  view.panel = new ModPanel({
    slug: view.slug, socket: view.socket, me: view.me, getRoom: () => view.room,
    toggle: e.modToggle, aside: e.panel,
    messageText: (seq) => { const x = view.msgs.get(Number(seq)); return x && !x.msg.deleted ? String(x.msg.text ?? "") : null; },
    showMessage: (seq) => view.showMessage(seq),
    onOpenChange: (open) => e.body.classList.toggle("panel-open", open),
  });
  view.panel.noteMessages([...view.msgs.values()].map((x) => x.msg));
  view.panel.mount();
  rerenderMessages(view);
}

/** The member no longer moderates the room (a rejoin said so): take the panel away. */
export function detachModerator(view, exempt = false) {
  if (!view.panel) return;
  view.panel.destroy();
  view.panel = null;
  view.isModerator = false;
  view.guard.setExempt(exempt);
  const e = view.els;
  e.panel.hidden = true;
  e.panel.replaceChildren();
  e.modToggle.hidden = true;
  e.modToggle.setAttribute("aria-expanded", "false");
  e.body.classList.remove("panel-open");
  rerenderMessages(view);
}

function rerenderMessages(view) {
  for (const x of view.msgs.values()) {
    const el = view.renderMessage(x.msg);
    x.el.replaceWith(el);
    x.el = el;
  }
}

/** The room's members with their standing (moderators only): GET /api/rooms/{slug}/members. */
async function fetchMembers(slug, limit) {
  let res;
  try {
    res = await fetch(`/api/rooms/${encodeURIComponent(slug)}/members?limit=${limit}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch {
    throw new ApiError(0, "network", "Can't reach Haven. Please check your connection and try again.");
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = data?.error;
    throw new ApiError(res.status, e?.code || (res.status >= 500 ? "unavailable" : "http_" + res.status),
      e?.message || `Haven could not load the member list (HTTP ${res.status}). Please try again.`);
  }
  return data || {};
}

export class ModPanel {
  /**
   * ctx: {slug, socket, me, getRoom(), toggle (header button), aside (panel element),
   *       messageText(seq), showMessage(seq), onOpenChange(open)}
   */
  constructor(ctx) {
    this.ctx = ctx;
    this.slug = ctx.slug;
    this.users = new Map(); // id -> user, everyone seen in this room (names for the log)
    this.online = new Set(); // ids of members seen joining and not leaving (presence events)
    this.standing = new Map(); // id -> {role, muted_until?, banned}: the members endpoint, kept current by own actions
    this.membersLoadedAt = 0;
    this.membersError = "";
    this.membersMore = false;
    this.filter = "";
    this.lastPost = new Map(); // id -> ts of their latest message
    this.isOpen = false;
    this.noteUser(ctx.me);
    const shared = {
      slug: this.slug, socket: ctx.socket,
      actOn: (u, quote) => this.actOn(u, quote),
      nameOf: (x, fallback) => this.nameOf(x, fallback),
      userOf: (id) => this.users.get(id) || { id, display_name: "", role: "member" },
      noteUser: (u) => this.noteUser(u),
      messageText: ctx.messageText, showMessage: (seq) => { this.close(); ctx.showMessage(seq); },
    };
    this.queue = new ReviewQueue({ ...shared, onCount: (n) => this.renderCount(n), onDecided: () => this.audit.refreshLater() });
    this.rules = new RulesSection({ slug: this.slug, onChanged: () => this.audit.refreshLater() });
    this.audit = new AuditLog(shared);
    this.audit.refreshLater = () => { if (this.tab === "log") this.audit.refresh(); else this.audit.stale = true; };
  }

  /** A display name for a user object or id; "You" for the moderator; unknown → fallback. */
  nameOf(x, fallback = "a member") {
    const id = x && typeof x === "object" ? x.id : x;
    if (!id) return "Someone";
    if (this.ctx.me && id === this.ctx.me.id) return "You";
    const u = this.users.get(id) || (typeof x === "object" ? x : null);
    return u?.display_name || fallback;
  }

  noteUser(u) {
    if (u && typeof u === "object" && u.id) this.users.set(u.id, { ...this.users.get(u.id), ...u });
  }

  mount() {
    const { aside, toggle } = this.ctx;
    this.tabs = {};
    this.panes = {};
    const defs = [["members", "Members"], ["queue", "Queue"], ["room", "Room"], ["rules", "Rules"], ["log", "Log"]];
    const tablist = h("div", { class: "mod-tabs", role: "tablist", "aria-label": "Moderation" });
    for (const [key, label] of defs) {
      const tab = h("button", { type: "button", role: "tab", id: `mod-tab-${key}`, "aria-controls": `mod-pane-${key}`, "aria-selected": "false", tabindex: "-1", dataset: { tab: key } },
        h("span", {}, label), key === "queue" ? h("span", { class: "count", hidden: true }) : null);
      tab.addEventListener("click", () => this.show(key));
      this.tabs[key] = tab;
      this.panes[key] = h("div", { role: "tabpanel", id: `mod-pane-${key}`, class: "mod-pane", "aria-labelledby": `mod-tab-${key}`, tabindex: "0", hidden: true });
      tablist.append(tab);
    }
    // Arrow keys move between tabs (the ARIA tabs pattern); Tab goes into the open pane.
    tablist.addEventListener("keydown", (ev) => {
      const i = defs.findIndex(([k]) => k === this.tab);
      const j = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: defs.length - 1 }[ev.key];
      if (j === undefined) return;
      ev.preventDefault();
      const key = defs[(j + defs.length) % defs.length][0];
      this.show(key);
      this.tabs[key].focus();
    });
    const close = h("button", { type: "button", class: "btn btn-quiet btn-small mod-close", "aria-label": "Close the moderation panel", onclick: () => this.close() }, "Close");
    aside.replaceChildren(
      h("div", { class: "mod-head" }, h("h2", { id: "mod-title" }, "Moderation"), close),
      tablist, ...Object.values(this.panes));
    aside.setAttribute("aria-labelledby", "mod-title");

    this.mountMembers(this.panes.members);
    this.queue.mount(this.panes.queue);
    this.mountRoom(this.panes.room);
    this.rules.mount(this.panes.rules);
    this.audit.mount(this.panes.log);
    this.show("members");

    toggle.hidden = false;
    toggle.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));
    this.queue.load();
    this.loadMembers();
    if (sessionStorage.getItem(OPEN_KEY) === "1") this.open();
  }

  show(key) {
    this.tab = key;
    for (const [k, tab] of Object.entries(this.tabs)) {
      const on = k === key;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      this.panes[k].hidden = !on;
    }
    if (key === "rules" && !this.rules.loaded) this.rules.load();
    if (key === "log" && (!this.audit.loaded || this.audit.stale)) this.audit.refresh();
    if (key === "members") {
      if (Date.now() - this.membersLoadedAt > MEMBERS_STALE_MS) this.loadMembers();
      this.renderMembers();
    }
  }

  open() {
    this.isOpen = true;
    this.ctx.aside.hidden = false;
    this.ctx.toggle.setAttribute("aria-expanded", "true");
    sessionStorage.setItem(OPEN_KEY, "1");
    this.ctx.onOpenChange(true);
    this.tabs[this.tab]?.focus();
  }

  close() {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.ctx.aside.hidden = true;
    this.ctx.toggle.setAttribute("aria-expanded", "false");
    sessionStorage.setItem(OPEN_KEY, "0");
    this.ctx.onOpenChange(false);
    this.ctx.toggle.focus();
  }

  renderCount(n) {
    const c = this.tabs.queue.querySelector(".count");
    c.textContent = String(n);
    c.hidden = n === 0;
    const t = this.ctx.toggle.querySelector(".count");
    t.textContent = String(n);
    t.hidden = n === 0;
    this.ctx.toggle.setAttribute("aria-label", n ? `Moderation, ${n} waiting for review` : "Moderation");
  }

  /** Open the action dialog for u (from the member list, a message, the queue or the log). */
  actOn(u, quote) {
    if (!u?.id) return;
    this.noteUser(u);
    const user = this.users.get(u.id) || u;
    const back = document.activeElement;
    openActionDialog({
      socket: this.ctx.socket, slug: this.slug, user, quote, standing: this.standing.get(u.id),
      onDone: (action, reply) => { this.noteAction(u.id, action, reply); this.audit.refreshLater(); },
      onClose: () => {
        // The list may have been redrawn meanwhile: go back to the same member's row.
        const again = back?.isConnected ? back : back?.classList?.contains("mod-act") &&
          this.memberList?.querySelector(`.mod-member[data-user-id="${CSS.escape(u.id)}"] .mod-act`);
        again?.focus();
      },
    });
  }

  // ---------- events from the room ----------

  handleEvent(ev) {
    switch (ev.type) {
      case "presence":
        if (ev.joined?.id) { this.noteUser(ev.joined); this.online.add(ev.joined.id); }
        if (ev.left) this.online.delete(ev.left.id ?? ev.left);
        if (this.tab === "members") this.renderMembers();
        break;
      case "message":
        if (ev.author?.id) { this.noteUser(ev.author); this.lastPost.set(ev.author.id, ev.ts); }
        if (this.tab === "members") this.renderMembers();
        break;
      case "moderation":
        if (ev.target) this.noteUser(ev.target);
        if (ev.action === "slow_mode" || ev.action === "lock") this.renderRoom();
        this.audit.refreshLater();
        break;
      case "message_deleted":
        if (ev.by === "moderator") this.audit.refreshLater();
        break;
      case "author_renamed": // the whole account changed: keep no role or badge of before
        if (ev.author?.id) this.users.set(ev.author.id, { ...ev.author });
        if (this.tab === "members") this.renderMembers();
        break;
      default:
        if (String(ev.type).startsWith("review.")) this.queue.handleEvent(ev);
    }
  }

  /** Authors of messages already on screen (history at join). */
  noteMessages(list) {
    for (const m of list) if (m.author?.id && !m.deleted) { this.noteUser(m.author); this.lastPost.set(m.author.id, m.ts); }
  }

  // ---------- members ----------

  mountMembers(pane) {
    this.memberList = h("ul", { class: "mod-members", "aria-label": "Members" });
    this.memberStatus = h("p", { class: "mod-status", role: "status" });
    const filter = h("input", { id: "mod-member-filter", type: "text", inputmode: "search", autocomplete: "off", spellcheck: "false", placeholder: "Find a member by name" });
    filter.addEventListener("input", () => { this.filter = filter.value.trim().toLowerCase(); this.renderMembers(); });
    const refresh = h("button", { id: "mod-members-refresh", type: "button", class: "link-btn", onclick: () => this.loadMembers() }, "Refresh the list");
    pane.replaceChildren(
      h("p", { class: "help" }, "Everyone who has joined this room: people online come first, then banned and muted members. “Online” means seen joining since you opened the room. You can also moderate someone from one of their messages by selecting their name."),
      h("label", { for: "mod-member-filter", class: "label" }, "Find a member"),
      filter, h("p", { class: "help" }, refresh), this.memberStatus, this.memberList);
  }

  /** (Re)load the member list from the server; presence and posts seen here merge into it. */
  async loadMembers() {
    if (this.membersLoading) {
      // A load already under way may have read the list before a change just made: load
      // once more when it is done.
      this.membersAgain = true;
      return this.membersLoading;
    }
    this.membersAgain = false;
    this.membersLoading = (async () => {
      try {
        const res = await fetchMembers(this.slug, MEMBER_LIMIT);
        const standing = new Map();
        for (const m of Array.isArray(res.members) ? res.members : []) {
          if (!m?.user?.id) continue;
          this.noteUser(m.user);
          standing.set(m.user.id, { role: m.role || "member", banned: !!m.banned, ...(m.muted_until ? { muted_until: m.muted_until } : {}) });
        }
        this.standing = standing;
        this.membersMore = !!res.truncated;
        this.membersError = "";
        this.membersLoadedAt = Date.now();
      } catch (err) {
        this.membersError = `The member list could not be loaded: ${explainError(err)}`;
      } finally {
        this.membersLoading = null;
      }
      this.renderMembers();
      if (this.membersAgain) await this.loadMembers();
    })();
    return this.membersLoading;
  }

  /** What the moderator just did to someone, in force at once; the server's list follows. */
  noteAction(id, action, reply) {
    const st = { role: "member", banned: false, ...this.standing.get(id) };
    switch (action) {
      case "mute": if (reply?.until) st.muted_until = reply.until; break;
      case "unmute": delete st.muted_until; break;
      case "ban": st.banned = true; break;
      case "unban": st.banned = false; break;
    }
    this.standing.set(id, st);
    this.renderMembers();
    this.membersLoadedAt = 0; // reload when the tab is next shown
    if (this.tab === "members") this.loadMembers();
  }

  /** A member's standing now: a mute that has ended no longer counts. */
  standingOf(id) {
    const st = this.standing.get(id);
    if (!st) return null;
    const muted = st.muted_until && Date.parse(st.muted_until) > Date.now() ? st.muted_until : "";
    return { ...st, muted_until: muted };
  }

  renderMembers() {
    if (!this.memberList) return;
    const me = this.ctx.me?.id;
    const ids = new Set([...this.standing.keys(), ...this.online, ...this.lastPost.keys()]);
    ids.delete(me);
    // Online first (they are here now), then banned, then muted, then everyone by name.
    const rank = (id) => {
      if (this.online.has(id)) return 0;
      const st = this.standingOf(id);
      return st?.banned ? 1 : st?.muted_until ? 2 : 3;
    };
    let rows = [...ids].map((id) => this.users.get(id) || { id });
    if (this.filter) rows = rows.filter((u) => String(u.display_name || "").toLowerCase().includes(this.filter));
    rows.sort((a, b) => (rank(a.id) - rank(b.id)) || String(a.display_name ?? "").localeCompare(String(b.display_name ?? "")));
    this.memberStatus.textContent = this.membersError ||
      (this.membersMore ? `Showing the first ${MEMBER_LIMIT} members; find others by name here, or act on them from one of their messages.` : "");
    if (!rows.length) {
      this.memberList.replaceChildren(h("li", { class: "muted mod-empty" },
        this.filter ? "Nobody here has that name." : "Nobody else is in this room yet."));
      return;
    }
    this.memberList.replaceChildren(...rows.map((u) => {
      const st = this.standingOf(u.id);
      const seen = this.online.has(u.id) ? "online" : this.lastPost.get(u.id) ? `posted ${formatTime(this.lastPost.get(u.id))}` : "";
      const flags = [];
      if (st?.role === "moderator" || st?.role === "host") flags.push(h("span", { class: "badge" }, st.role === "host" ? "host" : "room moderator"));
      if (st?.banned) flags.push(h("span", { class: "flag flag-warn mod-member-state", dataset: { state: "banned" } }, "Banned"));
      else if (st?.muted_until) flags.push(h("span", { class: "flag flag-warn mod-member-state", dataset: { state: "muted" } }, `Muted until ${formatUntil(st.muted_until)}`));
      return h("li", { class: "mod-member", dataset: { userId: u.id, online: String(this.online.has(u.id)) } },
        h("span", { class: "mod-member-name" }, u.display_name || "a member", " ", userBadges(u), ...flags.flatMap((f) => [" ", f])),
        h("span", { class: "muted mod-member-seen" }, seen),
        h("button", { type: "button", class: "btn btn-small btn-secondary mod-act", "aria-label": `Moderate ${u.display_name || "this member"}`, onclick: () => this.actOn(u) }, "Moderate…"));
    }));
  }

  // ---------- room controls ----------

  mountRoom(pane) {
    const slow = h("select", { id: "mod-slow" }, SLOW_CHOICES.map(([s, l]) => h("option", { value: String(s) }, l)), h("option", { value: "custom" }, "Custom…"));
    const custom = h("input", { id: "mod-slow-custom", type: "number", min: "1", max: String(MAX_SLOW_S), step: "1", inputmode: "numeric", "aria-label": "Seconds between messages", hidden: true });
    slow.addEventListener("change", () => { custom.hidden = slow.value !== "custom"; if (!custom.hidden) custom.focus(); });
    this.slowSelect = slow;
    this.slowCustom = custom;
    const apply = h("button", { id: "mod-slow-apply", type: "button", class: "btn btn-small btn-primary" }, "Apply");
    this.slowNow = h("p", { class: "mod-now" });
    this.lockNow = h("p", { class: "mod-now" });
    this.lockBtn = h("button", { id: "mod-lock-toggle", type: "button", class: "btn btn-small btn-secondary" });
    this.roomMsg = h("p", { class: "mod-status", role: "status" });
    const err = h("p", { class: "form-error", role: "alert", hidden: true });
    const run = async (type, fields, done) => {
      err.hidden = true;
      apply.disabled = this.lockBtn.disabled = true;
      try {
        await this.ctx.socket.request(type, { room: this.slug, ...fields });
        this.roomMsg.textContent = done;
        this.audit.refreshLater();
      } catch (e) {
        err.textContent = explainError(e);
        err.hidden = false;
      } finally {
        apply.disabled = this.lockBtn.disabled = false;
      }
    };
    apply.addEventListener("click", () => {
      let s = slow.value === "custom" ? Number(custom.value) : Number(slow.value);
      if (!Number.isInteger(s) || s < 0 || s > MAX_SLOW_S) {
        err.textContent = `Slow mode takes a whole number of seconds from 1 to ${MAX_SLOW_S} (6 hours).`;
        err.hidden = false;
        custom.focus();
        return;
      }
      run("slow_mode", { seconds: s }, s ? `Slow mode set to ${formatDuration(s)}.` : "Slow mode is off.");
    });
    this.lockBtn.addEventListener("click", () => {
      const locked = !this.ctx.getRoom().locked;
      run("lock", { locked }, locked ? "The room is locked." : "The room is open again.");
    });
    pane.replaceChildren(
      h("h3", {}, "Slow mode"), this.slowNow,
      h("label", { for: "mod-slow", class: "label" }, "Time between each member's messages"),
      h("div", { class: "inline-fields" }, slow, custom, apply),
      h("h3", {}, "Lock"), this.lockNow, this.lockBtn,
      err, this.roomMsg);
    this.renderRoom();
  }

  renderRoom() {
    if (!this.lockBtn) return;
    const r = this.ctx.getRoom();
    const s = Number(r.slow_mode_s) || 0;
    // The picker starts from the room's current setting (a preset, or custom seconds).
    const preset = SLOW_CHOICES.some(([v]) => v === s);
    this.slowSelect.value = preset ? String(s) : "custom";
    this.slowCustom.hidden = preset;
    if (!preset) this.slowCustom.value = String(s);
    this.slowNow.textContent = s > 0 ? `On: one message every ${formatDuration(s)} per member (moderators are exempt).` : "Off.";
    this.lockNow.textContent = r.locked ? "Locked: members can read but not post." : "Open: members can post.";
    this.lockBtn.textContent = r.locked ? "Unlock the room" : "Lock the room";
    this.lockBtn.dataset.locked = String(!!r.locked);
  }

  destroy() {
    document.getElementById("mod-action-dialog")?.remove();
  }
}
