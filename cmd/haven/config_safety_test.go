package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigSafety(t *testing.T) {
	parse := func(args ...string) (config, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return parseConfig(fs, args)
	}
	cfg, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Safety.Products) == 0 || cfg.Safety.DefaultPIIPolicy != "warn" || !strings.Contains(cfg.Safety.CrisisResources.Text, "emergency") {
		t.Fatalf("built-in defaults: %+v", cfg.Safety)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"products":[{"brand":"Xyzal","generics":["levocetirizine"]}],
		"reactions":[{"term":"brain fog","variants":["foggy head"]}], "allow_domains":["nhs.uk"],
		"crisis_resources":{"text":"Call 111.","links":[{"label":"NHS 111","url":"https://111.nhs.uk"}]},
		"default_pii_policy":"redact", "crisis_model": false}`)
	t.Setenv("HAVEN_SAFETY_CONFIG", good)
	cfg, err = parse()
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Safety
	if len(s.Products) != 1 || s.Products[0].Brand != "Xyzal" || s.DefaultPIIPolicy != "redact" ||
		s.CrisisResources.Text != "Call 111." || len(s.CrisisResources.Links) != 1 || s.CrisisModel == nil || *s.CrisisModel {
		t.Fatalf("configured: %+v", s)
	}
	for name, body := range map[string]string{
		"malformed.json":  `{"products": [`,
		"unknown.json":    `{"prodcuts": []}`,
		"policy.json":     `{"default_pii_policy": "shout"}`,
		"brand.json":      `{"products": [{"generics": ["x"]}]}`,
		"link.json":       `{"crisis_resources": {"text": "t", "links": [{"label": "x", "url": "javascript:alert(1)"}]}}`,
		"confidence.json": `{"min_confidence": 2}`,
		"model.json":      `{"crisis_model": "off"}`,
		"two.json":        `{} {}`,
	} {
		p := write(name, body)
		if _, err := parse("-safety-config", p); err == nil || !strings.Contains(err.Error(), "-safety-config") ||
			!strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming -safety-config and the file", name, err)
		}
	}
	if _, err := parse("-safety-config", filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file must fail startup")
	}
}
