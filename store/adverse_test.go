package store

import (
	"testing"
	"time"
)

func TestAEDueTimes(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name          string
		aware         string
		fwdDays, regs int
		wantFwd       string
		wantReg       string
	}{
		{"monday plus one", "2026-03-02T10:00:00Z", 1, 15, "2026-03-03T10:00:00Z", "2026-03-17T10:00:00Z"},
		{"friday skips the weekend", "2026-03-06T16:30:00Z", 1, 15, "2026-03-09T16:30:00Z", "2026-03-21T16:30:00Z"},
		{"saturday counts monday", "2026-03-07T09:00:00Z", 1, 15, "2026-03-09T09:00:00Z", "2026-03-22T09:00:00Z"},
		{"sunday counts monday", "2026-03-08T23:59:00Z", 1, 15, "2026-03-09T23:59:00Z", "2026-03-23T23:59:00Z"},
		{"thursday plus three", "2026-03-05T08:00:00Z", 3, 7, "2026-03-10T08:00:00Z", "2026-03-12T08:00:00Z"},
		{"five business days is a week", "2026-03-04T12:00:00Z", 5, 1, "2026-03-11T12:00:00Z", "2026-03-05T12:00:00Z"},
		{"zero means day 0", "2026-03-06T12:00:00Z", 0, 0, "2026-03-06T12:00:00Z", "2026-03-06T12:00:00Z"},
		{"negative is zero", "2026-03-06T12:00:00Z", -2, -1, "2026-03-06T12:00:00Z", "2026-03-06T12:00:00Z"},
		{"other zone is read in UTC", "2026-03-07T01:00:00+05:00", 1, 15, "2026-03-09T20:00:00Z", "2026-03-21T20:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fwd, reg := AEDueTimes(at(tc.aware), tc.fwdDays, tc.regs)
			if !fwd.Equal(at(tc.wantFwd)) || !reg.Equal(at(tc.wantReg)) {
				t.Fatalf("AEDueTimes(%s, %d, %d) = %s, %s; want %s, %s", tc.aware, tc.fwdDays, tc.regs,
					fwd.Format(time.RFC3339), reg.Format(time.RFC3339), tc.wantFwd, tc.wantReg)
			}
		})
	}
}
