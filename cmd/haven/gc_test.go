package main

import (
	"flag"
	"io"
	"testing"
)

func TestGCPercentSetting(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want int
		bad  bool
	}{{"", 50, false}, {"-gc-percent=100", 100, false}, {"-gc-percent=-1", -1, false}, {"-gc-percent=0", 0, true}, {"-gc-percent=-5", 0, true}, {"-gc-percent=x", 0, true}} {
		fs := flag.NewFlagSet("haven", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var args []string
		if tc.arg != "" {
			args = []string{tc.arg}
		}
		c, err := parseConfig(fs, args)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: no error", tc.arg)
			}
			continue
		}
		if err != nil || c.GCPercent != tc.want {
			t.Errorf("%q: %d, %v; want %d", tc.arg, c.GCPercent, err, tc.want)
		}
	}
}
