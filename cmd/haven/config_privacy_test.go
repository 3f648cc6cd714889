package main

import (
	"flag"
	"io"
	"testing"
	"time"
)

func TestConfigPrivacy(t *testing.T) {
	parse := func(args ...string) (config, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return parseConfig(fs, args)
	}
	cfg, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Privacy
	if p.HealthConsentVersion != 0 || p.HealthConsentText != "" || p.ErasureContent != "delete" || p.RetentionInterval != time.Hour {
		t.Fatalf("defaults: %+v", p)
	}
	t.Setenv("HAVEN_HEALTH_CONSENT_TEXT", "I agree.")
	cfg, err = parse("-health-consent-version", "3", "-erasure-content", "pseudonymise", "-retention-interval", "10m")
	if err != nil {
		t.Fatal(err)
	}
	p = cfg.Privacy
	if p.HealthConsentVersion != 3 || p.HealthConsentText != "I agree." || p.ErasureContent != "pseudonymise" || p.RetentionInterval != 10*time.Minute {
		t.Fatalf("configured: %+v", p)
	}
	for _, bad := range [][]string{
		{"-health-consent-version", "-1"},
		{"-health-consent-version", "two"},
		{"-erasure-content", "shred"},
		{"-retention-interval", "0s"},
		{"-retention-interval", "hourly"},
	} {
		if _, err := parse(bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
