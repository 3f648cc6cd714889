package server

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/havenhealth/haven/internal/httpx"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// exportColumns are the fields a pharmacovigilance team needs from each case, in the CSV's
// column order and as the JSON export's keys.
var exportColumns = []string{"case_id", "aware_date", "aware_at", "forward_due_at", "regulatory_due_at", "status",
	"products", "reactions", "matched_terms", "verbatim_text", "room", "message_seq", "held_id", "reporter_id",
	"forwarded_at", "forwarded_by", "closed_reason", "closed_by", "closed_at"}

func exportRow(c store.AECase) []string {
	return []string{c.ID, c.AwareAt.UTC().Format(time.DateOnly), protocol.TS(c.AwareAt), protocol.TS(c.ForwardDueAt),
		protocol.TS(c.RegulatoryDueAt), c.Status, strings.Join(c.Products, "; "), strings.Join(c.Reactions, "; "),
		strings.Join(c.Terms, "; "), c.Text, c.RoomSlug, strconv.FormatInt(c.MessageSeq, 10), c.HeldID, c.AuthorID,
		tsOrEmpty(c.ForwardedAt), c.ForwardedBy, c.ClosedReason, c.ClosedBy, tsOrEmpty(c.ClosedAt)}
}

// exportCases reads every case the filter selects (up to maxExport) and audits the export.
func (s *Server) exportCases(w http.ResponseWriter, r *http.Request, u store.User, format string) ([]store.AECase, bool) {
	f, err := s.caseFilter(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return nil, false
	}
	cases, err := s.st.AECases(r.Context(), f, maxExport+1)
	if err != nil {
		httpx.WriteError(w, r, safetyErr(err, "cases"))
		return nil, false
	}
	if len(cases) > maxExport {
		httpx.WriteError(w, r, protocol.Errorf(protocol.CodeTooLarge,
			"more than %d cases match; narrow the export with status, room or after", maxExport))
		return nil, false
	}
	if err := s.auditView(r.Context(), u, "export_ae_cases", f.RoomID, "", map[string]any{
		"format": format, "filter": r.URL.RawQuery, "count": len(cases)}); err != nil {
		httpx.WriteError(w, r, err)
		return nil, false
	}
	return cases, true
}

// exportCasesCSV: GET /api/safety/cases.csv — one header row (exportColumns), then a row per
// case. A cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is
// prefixed with a single quote; the JSON export keeps the text exactly.
func (s *Server) exportCasesCSV(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	cases, ok := s.exportCases(w, r, u, "csv")
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="ae-cases-%s.csv"`, time.Now().UTC().Format("20060102-150405")))
	cw := csv.NewWriter(w)
	_ = cw.Write(exportColumns)
	for _, c := range cases {
		row := exportRow(c)
		for i, cell := range row {
			row[i] = csvSafe(cell)
		}
		_ = cw.Write(row) // a failed write is the client going away; nothing to tell it
	}
	cw.Flush()
}

func csvSafe(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// exportCasesJSON: GET /api/safety/cases.json → {exported_at, columns, cases: [{column: value}]}
// with lists as arrays.
func (s *Server) exportCasesJSON(w http.ResponseWriter, r *http.Request, _ store.Session, u store.User) {
	cases, ok := s.exportCases(w, r, u, "json")
	if !ok {
		return
	}
	out := make([]map[string]any, len(cases))
	for i, c := range cases {
		row := exportRow(c)
		m := make(map[string]any, len(exportColumns))
		for j, col := range exportColumns {
			m[col] = row[j]
		}
		m["products"], m["reactions"], m["matched_terms"] = c.Products, c.Reactions, c.Terms
		m["message_seq"] = c.MessageSeq
		out[i] = m
	}
	w.Header().Set("Content-Disposition", `attachment; filename="ae-cases.json"`)
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"exported_at": protocol.TS(time.Now()), "columns": exportColumns, "cases": out})
}
