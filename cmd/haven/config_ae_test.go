package main

import (
	"flag"
	"io"
	"testing"
	"time"
)

func TestConfigAEClocks(t *testing.T) {
	parse := func(args ...string) (config, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return parseConfig(fs, args)
	}
	cfg, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AEForwardBusinessDays != 1 || cfg.AERegulatoryDays != 15 || cfg.AEOverdueInterval != time.Minute {
		t.Fatalf("defaults: %d %d %v", cfg.AEForwardBusinessDays, cfg.AERegulatoryDays, cfg.AEOverdueInterval)
	}
	t.Setenv("HAVEN_AE_REGULATORY_DAYS", "7")
	cfg, err = parse("-ae-forward-business-days", "2", "-ae-overdue-interval", "30s")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AEForwardBusinessDays != 2 || cfg.AERegulatoryDays != 7 || cfg.AEOverdueInterval != 30*time.Second {
		t.Fatalf("configured: %d %d %v", cfg.AEForwardBusinessDays, cfg.AERegulatoryDays, cfg.AEOverdueInterval)
	}
	for _, bad := range [][]string{
		{"-ae-forward-business-days", "0"},
		{"-ae-forward-business-days", "one"},
		{"-ae-regulatory-days", "-3"},
		{"-ae-overdue-interval", "0s"},
		{"-ae-overdue-interval", "often"},
	} {
		if _, err := parse(bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
