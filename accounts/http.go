package accounts

import (
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// PublicUser is how a user appears to other members (PROTOCOL v1 `user`). The email is
// never part of it.
type PublicUser struct {
	ID          string          `json:"id"`
	DisplayName string          `json:"display_name"`
	Role        string          `json:"role"`
	Verified    bool            `json:"verified"`
	Badges      protocol.Badges `json:"badges,omitzero"` // only admins set them; see protocol.Badges
}

// Public returns u's public face.
func Public(u store.User) PublicUser {
	return PublicUser{ID: u.ID, DisplayName: u.DisplayName, Role: u.Role, Verified: u.Verified,
		Badges: protocol.BadgesOf(u.Verified, u.Affiliation)}
}

// Self is the caller's own record: the public face plus their email.
type Self struct {
	PublicUser
	Email string `json:"email"`
}

type authReply struct {
	User  PublicUser `json:"user"`
	Token string     `json:"token"`
}

// Routes registers the account endpoints on mux.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/signup", s.handleSignup)
	mux.HandleFunc("POST /api/login", s.handleLogin)
	mux.HandleFunc("POST /api/logout", s.RequireUser(s.handleLogout))
	mux.HandleFunc("GET /api/me", s.RequireUser(s.handleMe))
	mux.HandleFunc("PUT /api/users/{user_id}/role", s.RequireUser(s.handleSetRole))
}

func (s *Service) handleSignup(w http.ResponseWriter, r *http.Request) {
	var req SignupRequest
	if err := decode(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	u, token, err := s.Signup(r.Context(), req)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	s.setCookie(w, r, token)
	httpx.WriteJSON(w, http.StatusCreated, authReply{User: Public(u), Token: token})
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	u, token, err := s.Login(r.Context(), req.Email, req.Password, s.remoteAddr(r))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	s.setCookie(w, r, token)
	httpx.WriteJSON(w, http.StatusOK, authReply{User: Public(u), Token: token})
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request, sess store.Session, _ store.User) {
	if err := s.Logout(r.Context(), sess.ID); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	s.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleMe(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"user": Self{PublicUser: Public(u), Email: u.Email}})
}

func (s *Service) handleSetRole(w http.ResponseWriter, r *http.Request, _ store.Session, actor store.User) {
	var req struct {
		Role string `json:"role"`
	}
	if err := decode(w, r, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	u, err := s.SetRole(r.Context(), actor, r.PathValue("user_id"), req.Role)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"user": Public(u)})
}

// decode refuses the content types an HTML form can send cross-site without a CORS
// preflight; with SameSite=Lax cookies this closes log-in CSRF. An absent type is allowed
// for simple API clients.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return protocol.Errorf(protocol.CodeBadRequest, "send the body as Content-Type: application/json")
		}
	}
	return httpx.DecodeJSON(w, r, v)
}

// RequireUser wraps h so it runs only with a live session; otherwise it answers 401.
func (s *Service) RequireUser(h func(w http.ResponseWriter, r *http.Request, sess store.Session, u store.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, u, err := s.FromRequest(r)
		if err != nil {
			var pe *protocol.Error
			if errors.As(err, &pe) && pe.Code == protocol.CodeUnauthorized {
				if _, cerr := r.Cookie(s.cfg.CookieName); cerr == nil {
					s.clearCookie(w, r) // a dead cookie would only fail again
				}
			}
			httpx.WriteError(w, r, err)
			return
		}
		h(w, r, sess, u)
	}
}

// FromRequest authenticates r by `Authorization: Bearer <token>` or, failing that, the
// session cookie. An explicit bearer token wins over an ambient cookie.
func (s *Service) FromRequest(r *http.Request) (store.Session, store.User, error) {
	return s.Authenticate(r.Context(), s.token(r))
}

func (s *Service) token(r *http.Request) string {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if tok = strings.TrimSpace(tok); tok != "" {
			return tok
		}
	}
	if c, err := r.Cookie(s.cfg.CookieName); err == nil {
		return c.Value
	}
	return ""
}

func (s *Service) setCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cfg.CookieName,
		Value:    token,
		Path:     "/",
		MaxAge:   int(s.cfg.SessionTTL.Seconds()),
		HttpOnly: true,
		Secure:   s.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Service) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cfg.CookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   s.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Service) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.cfg.TrustProxy && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// remoteAddr is the client address for rate limits. Behind a trusted proxy it is the
// right-most X-Forwarded-For entry: the one that proxy appended, which the client cannot
// forge (entries further left are whatever the client sent).
func (s *Service) remoteAddr(r *http.Request) string {
	if s.cfg.TrustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				return last
			}
		}
	}
	return r.RemoteAddr
}
