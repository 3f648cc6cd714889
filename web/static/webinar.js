// The webinar / support part of a room, beside its chat: the sessions (sessions.js), the
// live audio and video (media.js, live.js) and the current session's Q&A and polls.
// RoomView (room.js) creates it for webinar and support rooms and passes it every event of
// the room; media.* events go to the media session, qa.* and poll.* to their panels.

import { h, notify, explainError } from "./ui.js";
import { MediaSession, mediaErrorText, ENDED_TEXT } from "./media.js";
import { LiveView } from "./live.js";
import { SessionsList } from "./sessions.js";
import { QAPanel } from "./qa.js";
import { PollsPanel } from "./polls.js";
import { supportCapacityText } from "./support.js";

const REJOINABLE = new Set(["node shutting down", "owner_lost", "moved", "connection_failed", "connection_closed", "no_answer", "left"]);

export function isMediaRoom(kind) { return kind === "webinar" || kind === "support"; }

/** Give a RoomView of a webinar or support room its sessions, media and engagement. */
export function attachWebinar(view) {
  if (view.webinar || !isMediaRoom(view.room?.kind)) return;
  view.webinar = new WebinarArea(view);
  view.els.body.prepend(view.webinar.el);
  view.els.body.classList.add("has-webinar");
}

class WebinarArea {
  constructor(view) {
    this.view = view;
    this.slug = view.slug;
    this.socket = view.socket;
    this.standing = view.standing;
    this.media = null;
    this.live = null;
    this.resume = null; // kinds to send again when we rejoin after a reconnect
    this.closed = false;
    const perms = () => this.perms();
    this.sessions = new SessionsList({
      slug: this.slug, me: view.me || {}, perms,
      inSession: () => !!this.media && !this.media.ended,
      onStart: (s) => this.start(s), onJoin: () => this.joinMedia(), onEnd: (s) => this.endSession(s),
      onChange: () => this.pickCurrent(),
    });
    this.qa = new QAPanel({ slug: this.slug, socket: this.socket, me: view.me, perms });
    this.polls = new PollsPanel({ slug: this.slug, socket: this.socket, perms });
    this.note = h("div", { class: "media-note", role: "status", hidden: true });
    this.liveBox = h("div", { class: "live-box" });
    this.engage = this.buildTabs();
    this.el = h("section", { class: "webinar", "aria-label": view.room.kind === "support" ? "Support sessions" : "Webinars" },
      this.sessions.el, this.note, this.liveBox, this.engage);
    this.sessions.render();
  }

  buildTabs() {
    this.tabs = {};
    const panes = { qa: this.qa.el, polls: this.polls.el };
    const list = h("div", { class: "engage-tabs", role: "tablist", "aria-label": "Questions and polls" });
    for (const [key, label] of [["qa", "Questions"], ["polls", "Polls"]]) {
      const tab = h("button", { type: "button", role: "tab", id: `engage-tab-${key}`, "aria-controls": `engage-pane-${key}` }, label);
      tab.addEventListener("click", () => this.showTab(key));
      this.tabs[key] = { tab, pane: h("div", { role: "tabpanel", id: `engage-pane-${key}`, "aria-labelledby": `engage-tab-${key}` }, panes[key]) };
      list.append(tab);
    }
    this.engageTitle = h("h2", { class: "engage-title" });
    const box = h("section", { class: "engage", hidden: true }, this.engageTitle, list, this.tabs.qa.pane, this.tabs.polls.pane);
    this.showTab("qa");
    return box;
  }

  showTab(key) {
    for (const [k, t] of Object.entries(this.tabs)) {
      t.tab.setAttribute("aria-selected", String(k === key));
      t.tab.tabIndex = k === key ? 0 : -1;
      t.pane.hidden = k !== key;
    }
  }

  /** What the member may do, from the global role and the join reply's room role. */
  perms() {
    const me = this.view.me || {};
    const room = this.standing?.role || "member";
    const global = me.role === "admin" || me.role === "moderator";
    return {
      staff: global || room === "host" || room === "moderator",
      moderator: global || room === "moderator",
      canStartEnd: (s) => !!s && (s.host_id === me.id || global || room === "moderator"),
      canManage: (s) => !!s && (s.host_id === me.id || global || room === "host" || room === "moderator"),
    };
  }

  // ---------- room lifecycle (called by RoomView) ----------

  /** The room's join reply, first or after a reconnect. */
  joined(reply) {
    if (reply?.member) this.standing = reply.member;
    this.sessions.load();
    if (this.qa.session) this.qa.load();
    if (this.polls.session) this.polls.load();
    if (this.resume) {
      const kinds = this.resume;
      this.resume = null;
      this.joinMedia({ resume: kinds });
    }
  }

  disconnected() {
    if (this.media && !this.media.ended) {
      this.resume = [...this.media.on].filter((k) => k !== "screen");
      this.media.end("disconnected");
    }
  }

  destroy() {
    this.closed = true;
    const m = this.media;
    if (m && !m.ended) m.leave();
    this.live?.destroy();
  }

  handleEvent(ev) {
    const t = String(ev.type || "");
    if (t === "session.update") this.sessions.update(ev.session);
    else if (t.startsWith("qa.")) this.qa.handleEvent(ev);
    else if (t === "author_renamed") this.qa.renameAuthor(ev.author);
    else if (t === "poll.results") this.polls.handleEvent(ev);
    else if (t === "media.started") this.mediaStarted(ev);
    else if (t === "media.ended" && (!this.media || this.media.ended)) this.mediaStopped();
    else if (t.startsWith("media.")) this.media?.handleEvent(ev);
  }

  /** The room's media started (media.started, to everyone in the room): offer to join
   * when no scheduled session already does (sessions.js shows its own Join button). */
  mediaStarted(ev) {
    if (this.closed || (this.media && !this.media.ended)) return;
    if (this.sessions.list.some((x) => x.state === "live")) return;
    const who = ev.by?.display_name ? ` ${ev.by.display_name} started it.` : "";
    this.showNote(`A live ${ev.kind === "support" ? "support session" : "session"} is on in this room.${who}`, { rejoin: true, label: "Join" });
    this.noteStarted = true;
  }

  /** The room's media ended while we were not in it: the offer to join goes. (A
   * participant hears media.ended as one too; its own note stays.) */
  mediaStopped() {
    if (!this.noteStarted) return;
    this.noteStarted = false;
    this.showNote("");
  }

  pickCurrent() {
    const cur = this.sessions.current();
    this.current = cur;
    this.qa.setSession(cur);
    this.polls.setSession(cur);
    this.engage.hidden = !cur;
    this.engageTitle.textContent = cur ? `Questions and polls: ${cur.title}` : "";
    this.live?.update();
  }

  // ---------- media ----------

  async start(session) {
    await this.socket.request("media.start", { room: this.slug, session: session.id });
    await this.joinMedia();
  }

  async endSession(session) {
    await this.socket.request("media.end", { room: this.slug, session: session.id });
  }

  showNote(text, { rejoin = false, error = false, label = "Join again" } = {}) {
    this.noteStarted = false;
    this.note.replaceChildren();
    this.note.hidden = !text;
    this.note.classList.toggle("media-note-error", error);
    if (!text) return;
    this.note.append(h("p", {}, text));
    if (rejoin) this.note.append(h("button", { type: "button", class: "btn btn-secondary btn-small", id: "media-rejoin", onclick: () => this.joinMedia() }, label));
  }

  async joinMedia({ resume } = {}) {
    if (this.closed || (this.media && !this.media.ended)) return;
    const s = new MediaSession({ socket: this.socket, room: this.slug, kind: this.view.room.kind, me: this.view.me,
      outranksHosts: this.perms().moderator,
      onChange: () => { if (this.media === s) this.live?.update(); },
      onEnded: (reason) => this.mediaEnded(s, reason) });
    this.media = s;
    this.showNote("");
    this.sessions.render();
    try {
      // A session that has just gone live may not have its media running yet.
      // One whose media stopped (a server restart) is started again by whoever may start it.
      const live = this.sessions.list.find((x) => x.state === "live");
      let restarted = false;
      for (let attempt = 0; ; attempt++) {
        try { await s.join(); break; } catch (err) {
          if (err.code !== "not_started" || attempt >= 6 || this.closed) throw err;
          if (!restarted && live && this.perms().canStartEnd(live)) {
            restarted = true;
            await this.socket.request("media.start", { room: this.slug, session: live.id });
            continue;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    } catch (err) {
      if (this.media === s) this.media = null;
      this.showNote(supportCapacityText(err) || mediaErrorText(err), { rejoin: err.code === "timeout" || err.code === "unavailable", error: true });
      this.sessions.render();
      return;
    }
    if (this.closed) { s.leave(); return; }
    this.live = new LiveView(s, {
      title: () => this.current?.title || "",
      onLeave: () => s.leave(),
      onEnd: () => (this.current ? this.endSession(this.current) : this.socket.request("media.end", { room: this.slug }))
        .catch((err) => notify(explainError(err), { kind: "error", key: "media-end" })),
    });
    this.liveBox.replaceChildren(this.live.el);
    this.sessions.render();
    const kinds = resume || (s.kind === "support" ? ["audio", "video"] : []);
    if (kinds.length && s.canPublish) this.publish(s, kinds);
  }

  async publish(s, kinds) {
    try {
      if (kinds.includes("audio") && kinds.includes("video")) await s.startCameraAndMic();
      else for (const k of kinds) await s.start(k);
    } catch (err) {
      notify(mediaErrorText(err), { kind: "error", key: "media-local" });
    }
  }

  mediaEnded(s, reason) {
    if (this.media !== s) return;
    this.live?.destroy();
    this.live = null;
    this.liveBox.replaceChildren();
    this.sessions.render();
    if (this.closed) return;
    if (reason === "left") this.showNote("");
    else this.showNote(ENDED_TEXT[reason] || `You are out of the session (${reason}).`, { rejoin: REJOINABLE.has(reason) });
  }
}
