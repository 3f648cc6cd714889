// HTTP API (PROTOCOL v1). The session cookie haven_session is HttpOnly and is sent by the
// browser automatically; no token is stored in JavaScript.

export class ApiError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message || code);
    this.status = status;
    this.code = code;
    Object.assign(this, extra);
  }
}

async function request(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch {
    throw new ApiError(0, "network", "Can't reach Haven. Please check your connection and try again.");
  }
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const e = data && data.error;
    if (e && e.code) {
      const { code, message, ...extra } = e;
      throw new ApiError(res.status, code, message, extra);
    }
    throw new ApiError(res.status, res.status >= 500 ? "unavailable" : "http_" + res.status,
      `Haven could not complete the request (HTTP ${res.status}). Please try again.`);
  }
  return data;
}

export const api = {
  signup: (email, password, display_name, invite) =>
    request("POST", "/api/signup", invite ? { email, password, display_name, invite } : { email, password, display_name }),
  login: (email, password) => request("POST", "/api/login", { email, password }),
  logout: () => request("POST", "/api/logout"),
  me: () => request("GET", "/api/me"),
  rooms: () => request("GET", "/api/rooms"),
  createRoom: (room) => request("POST", "/api/rooms", room),
  updateRoom: (slug, fields) => request("PATCH", `/api/rooms/${encodeURIComponent(slug)}`, fields),
  setBadges: (userId, badges) => request("PUT", `/api/users/${encodeURIComponent(userId)}/badges`, badges),

  // Moderation (room moderators, global moderators, admins; others get 403 forbidden).
  queue: (slug) => request("GET", `${roomPath(slug)}/queue`),
  rules: (slug) => request("GET", `${roomPath(slug)}/rules`),
  addRule: (slug, rule) => request("POST", `${roomPath(slug)}/rules`, rule),
  deleteRule: (slug, id) => request("DELETE", `${roomPath(slug)}/rules/${encodeURIComponent(id)}`),
  audit: (slug, { before, limit } = {}) => {
    const q = new URLSearchParams();
    if (before) q.set("before", String(before));
    if (limit) q.set("limit", String(limit));
    const qs = q.toString();
    return request("GET", `${roomPath(slug)}/audit${qs ? "?" + qs : ""}`);
  },
  members: (slug, limit = 200) => request("GET", `${roomPath(slug)}/members?limit=${limit}`),

  // Sessions, Q&A and polls (webinar and support rooms).
  sessions: (slug) => request("GET", `/api/sessions?room=${encodeURIComponent(slug)}`),
  scheduleSession: (s) => request("POST", "/api/sessions", s),
  questions: (id) => request("GET", `${sessionPath(id)}/questions`),
  polls: (id) => request("GET", `${sessionPath(id)}/polls`),
};

function sessionPath(id) { return `/api/sessions/${encodeURIComponent(id)}`; }

function roomPath(slug) { return `/api/rooms/${encodeURIComponent(slug)}`; }
