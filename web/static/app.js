// Haven web client: session, routing, room list, connection banner, dialogs.
// Routes: /            room list and welcome
//         /rooms/:slug a live room
//         /admin       manage rooms (admins)
//         /safety      safety console (admins, global moderators); a member's safety messages
//         /privacy     the member's consents, data export and erasure
//         /login, /signup (signed out)

import { api } from "./api.js";
import { HavenSocket } from "./socket.js";
import { RoomView, kindLabel, sponsorName } from "./room.js";
import { renderAdmin } from "./admin.js";
import { initSafety, renderSafety, leaveSafety, isReviewer } from "./safety.js";
import { renderPrivacy, watchConsent } from "./privacy.js";
import { h, $, formError, notify, clearNotices, explainError, sentence } from "./ui.js";

const state = {
  me: null,
  rooms: [],
  socket: null,
  view: null, // the open RoomView (one at a time; the map keeps recovery generic)
  open: new Map(), // slug -> RoomView, re-joined after every reconnect
  invite: new URLSearchParams(location.search).get("invite") || "",
  connTimer: null,
};

// ---------- auth ----------

function showAuth(mode) {
  closeRoom();
  $("#app-view").hidden = true;
  $("#auth-view").hidden = false;
  const login = mode === "login";
  $("#login-form").hidden = !login;
  $("#signup-form").hidden = login;
  $("#invite-note").hidden = !state.invite || login;
  document.title = login ? "Log in — Haven" : "Create your account — Haven";
  const form = login ? $("#login-form") : $("#signup-form");
  formError(form, "");
}

function setAuthMode(mode, push = true) {
  if (push) history.pushState(null, "", (mode === "login" ? "/login" : "/signup") + (state.invite && mode !== "login" ? `?invite=${encodeURIComponent(state.invite)}` : ""));
  showAuth(mode);
  const form = mode === "login" ? $("#login-form") : $("#signup-form");
  form.querySelector("input")?.focus();
}

function bindAuth() {
  $("#show-login").addEventListener("click", (e) => { e.preventDefault(); setAuthMode("login"); });
  $("#show-signup").addEventListener("click", (e) => { e.preventDefault(); setAuthMode("signup"); });

  const signup = $("#signup-form");
  signup.addEventListener("submit", async (e) => {
    e.preventDefault();
    const email = signup.email.value.trim();
    const password = signup.password.value;
    const displayName = signup.display_name.value.trim();
    formError(signup, "");
    for (const i of signup.querySelectorAll("input")) i.removeAttribute("aria-invalid");
    const bad = (input, msg) => { input.setAttribute("aria-invalid", "true"); input.focus(); formError(signup, msg); };
    if (!email || !email.includes("@")) return bad(signup.email, "Please enter your email address.");
    if (!password) return bad(signup.password, "Please choose a password.");
    if (!displayName) return bad(signup.display_name, "Please choose a display name.");
    if (displayName.includes("@") || displayName.toLowerCase() === email.toLowerCase().split("@")[0]) {
      return bad(signup.display_name, "Your display name is public. Please choose a pseudonym rather than your email address.");
    }
    await submitting(signup, async () => {
      const res = await api.signup(email, password, displayName, state.invite || undefined);
      if (state.invite) state.invite = "";
      signup.reset();
      await signedIn(res.user, true);
    });
  });

  const login = $("#login-form");
  login.addEventListener("submit", async (e) => {
    e.preventDefault();
    formError(login, "");
    const email = login.email.value.trim();
    const password = login.password.value;
    if (!email || !password) { formError(login, "Please enter your email and password."); return; }
    await submitting(login, async () => {
      const res = await api.login(email, password);
      login.reset();
      await signedIn(res.user, true);
    });
  });
}

async function submitting(form, fn) {
  const btn = form.querySelector("button[type=submit]");
  btn.disabled = true;
  try {
    await fn();
  } catch (err) {
    formError(form, err.message && !["network", "internal", "unavailable"].includes(err.code) ? sentence(err.message) : explainError(err));
  } finally {
    btn.disabled = false;
  }
}

async function signedIn(user, fresh) {
  showMe(user);
  $("#auth-view").hidden = true;
  $("#app-view").hidden = false;
  if (fresh || ["/login", "/signup"].includes(location.pathname)) history.replaceState(null, "", location.pathname.startsWith("/rooms/") || ["/admin", "/safety"].includes(location.pathname) ? location.pathname : "/");
  startSocket();
  await loadRooms();
  route();
}

/** The signed-in user in the header: name, and the links their role opens. */
function showMe(user) {
  state.me = user;
  $("#me").replaceChildren("Signed in as ", h("strong", {}, user.display_name));
  $("#admin-link").hidden = user.role !== "admin";
  $("#safety-link").hidden = !isReviewer(user);
}

async function logout() {
  try { await api.logout(); } catch { /* signed out locally either way */ }
  signedOut();
}

function signedOut(message) {
  closeRoom();
  state.socket?.stop();
  state.socket = null;
  state.me = null;
  state.rooms = [];
  $("#room-list").replaceChildren();
  clearNotices();
  setBanner("idle");
  history.replaceState(null, "", "/login");
  showAuth("login");
  if (message) formError($("#login-form"), message);
}

// ---------- connection ----------

function startSocket() {
  if (state.socket) return;
  const s = new HavenSocket();
  state.socket = s;
  watchConsent(s); // a refused post asks for the health-data consent
  s.onState((st, detail) => {
    if (st !== "open") for (const v of state.open.values()) v.disconnected();
    setBanner(st, detail);
  });
  s.onOpen(() => {
    // Recovery: re-join every open room with since = last seq seen; each room then re-sends
    // its unacknowledged messages with their original client_msg_id.
    for (const v of state.open.values()) v.join();
  });
  s.onConnectFailed(async () => {
    // The upgrade may have been refused because the session ended (401).
    try { await api.me(); } catch (err) {
      if (err.status === 401) signedOut("Your session has ended. Please log in again.");
    }
  });
  s.on("*", (ev) => {
    if (ev.type === "error") { console.warn("haven: server error", ev); return; }
    const v = ev.room ? state.open.get(ev.room) : null;
    if (v) v.handleEvent(ev);
    else if (ev.type === "removed") {
      notify(ev.banned ? `You were banned from ${roomName(ev.room)}.` : `You were removed from ${roomName(ev.room)}: ${ev.reason || "no reason given"}`, { kind: "error", timeout: 0 });
    }
  });
  s.on("reconnect", (ev) => {
    setBanner("reconnecting");
    // An admin changed our role or badge: the new connection carries it; the header too.
    if (ev.reason === "account changed") api.me().then((r) => r?.user && showMe(r.user)).catch(() => {});
  });
  initSafety(s, state.me, { onFollowup: () => { $("#safety-link").hidden = false; } });
  s.start();
}

function setBanner(st) {
  const b = $("#conn-state");
  clearTimeout(state.connTimer);
  const show = (text, kind) => { b.textContent = text; b.dataset.state = kind; b.hidden = false; };
  switch (st) {
    case "connecting":
      // Only mention a first connection that takes a noticeable time.
      state.connTimer = setTimeout(() => show("Connecting…", "connecting"), 1200);
      break;
    case "reconnecting": show("Reconnecting…", "reconnecting"); break;
    case "offline": show("You're offline — we'll reconnect when the network is back.", "offline"); break;
    case "open":
      if (b.hidden || b.dataset.state === "connecting") { b.hidden = true; b.dataset.state = "online"; break; }
      show("Back online", "online");
      state.connTimer = setTimeout(() => { b.hidden = true; }, 2500);
      break;
    default:
      b.hidden = true;
      b.dataset.state = "idle";
      b.textContent = "";
  }
}

// ---------- rooms ----------

function roomName(slug) {
  return state.rooms.find((r) => r.slug === slug)?.name || slug;
}

async function loadRooms() {
  try {
    const res = await api.rooms();
    state.rooms = res?.rooms || [];
  } catch (err) {
    if (err.status === 401) { signedOut("Your session has ended. Please log in again."); return; }
    notify("Could not load the rooms: " + explainError(err), { kind: "error", key: "rooms" });
  }
  renderRoomList();
}

function renderRoomList() {
  const ul = $("#room-list");
  ul.replaceChildren(...state.rooms.map((r) => {
    const sponsor = sponsorName(r.sponsor);
    return h("li", {},
      h("a", { href: `/rooms/${encodeURIComponent(r.slug)}`, dataset: { slug: r.slug, nav: "" } },
        h("span", { class: "room-name" }, r.name || r.slug),
        h("span", { class: "room-meta" }, [r.condition, kindLabel(r.kind), r.visibility === "private" ? "Private" : ""].filter(Boolean).join(" · ")),
        sponsor ? h("span", { class: "room-sponsor" }, `Sponsored by ${sponsor}`) : null));
  }));
  $("#room-list-empty").hidden = state.rooms.length > 0;
  markCurrent();
}

function markCurrent() {
  const slug = state.view?.slug;
  for (const a of document.querySelectorAll("#room-list a")) {
    if (a.dataset.slug === slug) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function openRoom(slug) {
  if (state.view && state.view.slug === slug) return;
  closeRoom();
  const container = $("#room-view");
  const view = new RoomView({
    slug,
    room: state.rooms.find((r) => r.slug === slug),
    socket: state.socket,
    me: state.me,
    container,
    askGuidelines,
    showGuidelines: (room) => askGuidelines(room, room.guidelines || "No guidelines for this room.", null, true),
    openReport,
    onDecline: () => { notify("You can join whenever you're ready.", { key: "declined" }); navigate("/"); },
    onBack: () => navigate("/"),
    onRemoved: (s) => { state.open.delete(s); },
    onRejoin: (s) => { closeRoom(); openRoom(s); },
  });
  state.view = view;
  state.open.set(slug, view);
  view.mount();
  container.hidden = false;
  if (state.socket?.isOpen) view.join();
  markCurrent();
}

function closeRoom() {
  const v = state.view;
  if (!v) return;
  v.leave();
  state.open.delete(v.slug);
  state.view = null;
  const c = $("#room-view");
  c.replaceChildren();
  c.hidden = true;
  markCurrent();
}

// ---------- dialogs ----------

function askGuidelines(room, text, version, readOnly = false) {
  const d = $("#guidelines-dialog");
  $("#guidelines-room").textContent = room?.name || room?.slug || "this room";
  $("#guidelines-text").textContent = text || "";
  const accept = $("#accept-guidelines");
  const decline = $("#decline-guidelines");
  accept.textContent = readOnly ? "Close" : "I accept";
  decline.hidden = readOnly;
  d.querySelector(".muted").hidden = readOnly;
  return new Promise((resolve) => {
    const done = (ok) => {
      accept.removeEventListener("click", onAccept);
      decline.removeEventListener("click", onDecline);
      d.removeEventListener("cancel", onCancel);
      if (d.open) d.close();
      resolve(ok);
    };
    const onAccept = () => done(!readOnly);
    const onDecline = () => done(false);
    const onCancel = (e) => { e.preventDefault(); done(false); };
    accept.addEventListener("click", onAccept);
    decline.addEventListener("click", onDecline);
    d.addEventListener("cancel", onCancel);
    if (!d.open) d.showModal();
    $("#guidelines-text").scrollTop = 0;
    accept.focus();
  });
}

function openReport(text) {
  const d = $("#report-dialog");
  const form = $("#report-form");
  form.reset();
  formError(form, "");
  $("#report-quote").textContent = text;
  return new Promise((resolve) => {
    const done = (v) => {
      form.removeEventListener("submit", onSubmit);
      $("#cancel-report").removeEventListener("click", onCancel);
      d.removeEventListener("cancel", onEsc);
      if (d.open) d.close();
      resolve(v);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const category = form.querySelector("input[name=reason]:checked")?.value;
      if (!category) { formError(form, "Please choose a reason."); return; }
      done({ category, reason: form.querySelector("textarea[name=details]")?.value.trim() || "" });
    };
    const onCancel = () => done(null);
    const onEsc = (e) => { e.preventDefault(); done(null); };
    form.addEventListener("submit", onSubmit);
    $("#cancel-report").addEventListener("click", onCancel);
    d.addEventListener("cancel", onEsc);
    d.showModal();
  });
}

// ---------- routing ----------

function navigate(path) {
  if (location.pathname !== path) history.pushState(null, "", path);
  route();
}

function route() {
  const path = location.pathname;
  if (!state.me) {
    showAuth(path === "/login" ? "login" : "signup");
    return;
  }
  const app = $("#app-view");
  const m = path.match(/^\/rooms\/([^/]+)\/?$/);
  $("#home-view").hidden = true;
  $("#admin-view").hidden = true;
  $("#safety-view").hidden = true;
  leaveSafety();
  $("#privacy-view").hidden = true;
  app.classList.remove("in-room", "in-admin");
  if (m) {
    app.classList.add("in-room");
    openRoom(decodeURIComponent(m[1]));
    return;
  }
  closeRoom();
  if (path === "/admin" && state.me.role === "admin") {
    app.classList.add("in-admin");
    showAdmin();
    return;
  }
  if (path === "/privacy") {
    app.classList.add("in-admin"); // the same full-width page layout
    const c = $("#privacy-view");
    c.hidden = false;
    document.title = "Your privacy — Haven";
    renderPrivacy(c, { onErased: () => signedOut("Your account was erased.") });
    return;
  }
  if (path === "/safety") {
    app.classList.add("in-admin");
    const c = $("#safety-view");
    c.hidden = false;
    renderSafety(c, state.me);
    document.title = "Safety — Haven";
    return;
  }
  if (path !== "/") history.replaceState(null, "", "/");
  $("#home-view").hidden = false;
  document.title = "Haven";
}

function showAdmin() {
  const c = $("#admin-view");
  c.hidden = false;
  const onChanged = async ({ keepAdmin } = {}) => {
    await loadRooms();
    if (!keepAdmin && location.pathname === "/admin") renderAdmin(c, { rooms: state.rooms, onChanged });
  };
  renderAdmin(c, { rooms: state.rooms, onChanged });
}

function bindNav() {
  document.addEventListener("click", (e) => {
    const a = e.target.closest("a[data-nav]");
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(new URL(a.href).pathname);
  });
  window.addEventListener("popstate", () => {
    if (!state.me) { showAuth(location.pathname === "/login" ? "login" : "signup"); return; }
    route();
  });
  $("#logout").addEventListener("click", logout);
}

// ---------- start ----------

async function main() {
  bindAuth();
  bindNav();
  let user = null;
  try {
    const res = await api.me();
    user = res?.user || null;
  } catch (err) {
    if (err.code === "network" || err.status >= 500) {
      showAuth(location.pathname === "/login" ? "login" : "signup");
      formError(location.pathname === "/login" ? $("#login-form") : $("#signup-form"), explainError(err));
      return;
    }
  }
  if (user) { await signedIn(user, false); return; }
  const mode = location.pathname === "/login" ? "login" : "signup";
  showAuth(mode);
}

main();
