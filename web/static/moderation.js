// The moderator panel of a room: members (act on someone), the review queue, room controls
// (slow mode, lock), keyword rules and the audit log, as tabs in a side panel (the whole
// screen on a phone). Only moderators see it; the server still checks every command.

import { api } from "./api.js";
import { h, roleBadge, formatTime, formatDuration, explainError } from "./ui.js";
import { openActionDialog } from "./modaction.js";
import { ReviewQueue } from "./review.js";
import { RulesSection } from "./rules.js";
import { AuditLog } from "./audit.js";

const SLOW_CHOICES = [[0, "Off"], [10, "10 seconds"], [30, "30 seconds"], [60, "1 minute"], [300, "5 minutes"]];
const MAX_SLOW_S = 21600;
const OPEN_KEY = "haven.modpanel.open";

/**
 * Is the caller a moderator of this room? The join reply does not carry the room role, so
 * global admins and moderators are known from /api/me and everyone else asks the queue,
 * which answers only moderators (403 otherwise). Resolves {moderator, queue?}.
 */
export async function probeModerator(me, slug) {
  const global = me && (me.role === "admin" || me.role === "moderator");
  try {
    const queue = await api.queue(slug);
    return { moderator: true, queue };
  } catch (err) {
    if (global) return { moderator: true };
    if (err.code === "forbidden" || err.status === 403 || err.status === 401) return { moderator: false };
  }
  // The queue may be missing on an older server: the audit log has the same audience.
  try {
    await api.audit(slug, { limit: 1 });
    return { moderator: true };
  } catch {
    return { moderator: false };
  }
}

/**
 * Give a RoomView its panel if the member moderates the room: the panel, the composer's
 * moderator exemptions, and author buttons and Delete on every message already shown.
 */
export async function attachModerator(view) {
  const res = await probeModerator(view.me, view.slug);
  if (!res.moderator || view.closed || view.removed) return;
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
  view.panel.mount(res.queue);
  for (const x of view.msgs.values()) {
    const el = view.renderMessage(x.msg);
    x.el.replaceWith(el);
    x.el = el;
  }
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
    this.online = new Set(); // ids of members seen joining and not leaving
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

  mount(queueReply) {
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
    this.queue.load(queueReply?.held || queueReply?.reports ? queueReply : undefined);
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
    if (key === "members") this.renderMembers();
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
      socket: this.ctx.socket, slug: this.slug, user, quote,
      onDone: () => this.audit.refreshLater(),
      onClose: () => { if (back?.isConnected) back.focus(); },
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
    pane.replaceChildren(
      h("p", { class: "help" }, "People who joined or posted since you opened the room. You can also moderate someone from one of their messages by selecting their name."),
      this.memberList);
  }

  renderMembers() {
    if (!this.memberList) return;
    const me = this.ctx.me?.id;
    const ids = new Set([...this.online, ...this.lastPost.keys()]);
    ids.delete(me);
    const rows = [...ids].map((id) => this.users.get(id) || { id }).sort((a, b) =>
      (this.online.has(b.id) - this.online.has(a.id)) || String(a.display_name).localeCompare(String(b.display_name)));
    if (!rows.length) {
      this.memberList.replaceChildren(h("li", { class: "muted mod-empty" }, "Nobody else has joined or posted since you arrived."));
      return;
    }
    this.memberList.replaceChildren(...rows.map((u) => {
      const seen = this.online.has(u.id) ? "online" : this.lastPost.get(u.id) ? `posted ${formatTime(this.lastPost.get(u.id))}` : "";
      return h("li", { class: "mod-member", dataset: { userId: u.id } },
        h("span", { class: "mod-member-name" }, u.display_name || "a member", " ", roleBadge(u)),
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
