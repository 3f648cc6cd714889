package server

import "net/http"

// safetyRoutes serves the safety console: AE cases, crisis alerts, follow-up threads (issue 7).
func (s *Server) safetyRoutes(mux *http.ServeMux) {}
