package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/safety"
	"github.com/havenhealth/haven/store"
)

// SafetyConfig is the deployment's safety configuration (-safety-config, a JSON file): the
// products whose adverse events are reported, extra reactions, the domains whose links are
// not personal information, the crisis support resources, and the personal-information
// policy of rooms that set none. The zero SafetyConfig in a server.Config screens nothing;
// cmd/haven always loads one (DefaultSafetyConfig when no file is given).
type SafetyConfig struct {
	Products         []SafetyProduct  `json:"products"`
	Reactions        []SafetyReaction `json:"reactions"`
	AllowDomains     []string         `json:"allow_domains"`
	CrisisResources  CrisisResources  `json:"crisis_resources"`
	DefaultPIIPolicy string           `json:"default_pii_policy"` // warn (default), redact or hold
	// MinConfidence drops weaker findings; 0 means safety.DefaultMinConfidence.
	MinConfidence float64 `json:"min_confidence"`
	// CrisisModel false leaves crisis screening to the lexicon: fewer false alarms, and
	// most crisis wording the lexicon was not written for missed. Default true.
	CrisisModel *bool `json:"crisis_model"`

	screener *safety.Screener // compiled by Compile
}

// SafetyProduct is one product: its brand and generic names (and common misspellings).
type SafetyProduct struct {
	Brand        string   `json:"brand"`
	Generics     []string `json:"generics"`
	Misspellings []string `json:"misspellings"`
}

// SafetyReaction adds a reaction (and its lay variants) to the built-in lexicon.
type SafetyReaction struct {
	Term     string   `json:"term"`
	Variants []string `json:"variants"`
}

// CrisisResources is what the author of a crisis post is shown at once.
type CrisisResources struct {
	Text  string                  `json:"text"`
	Links []protocol.ResourceLink `json:"links"`
}

// DefaultCrisisResources are generic: a deployment should name its own country's services.
var DefaultCrisisResources = CrisisResources{
	Text: "You matter, and you don't have to go through this alone. If you are in danger right now, " +
		"call your local emergency number (911 in the US, 999 or 112 in the UK and Europe). " +
		"You can also talk to someone at any time, free and in confidence:",
	Links: []protocol.ResourceLink{
		{Label: "988 Suicide & Crisis Lifeline (US): call or text 988", URL: "https://988lifeline.org"},
		{Label: "Samaritans (UK & Ireland): call 116 123", URL: "https://www.samaritans.org"},
		{Label: "Find a helpline in your country", URL: "https://findahelpline.com"},
	},
}

// DefaultSafetyConfig is used when no file is configured: a small demonstration product
// list, the default resources, and warn.
func DefaultSafetyConfig() SafetyConfig {
	return SafetyConfig{
		Products: []SafetyProduct{
			{Brand: "Glucophage", Generics: []string{"metformin"}},
			{Brand: "Ozempic", Generics: []string{"semaglutide"}},
			{Brand: "Wegovy", Generics: []string{"semaglutide"}},
			{Brand: "Lantus", Generics: []string{"insulin glargine"}},
			{Brand: "Jardiance", Generics: []string{"empagliflozin"}},
			{Brand: "Humira", Generics: []string{"adalimumab"}},
		},
		CrisisResources:  DefaultCrisisResources,
		DefaultPIIPolicy: store.PIIWarn,
	}
}

// LoadSafetyConfig reads and compiles the file at path; "" gives DefaultSafetyConfig. Unknown
// fields, a malformed file or invalid values are errors naming the file, so a typo fails
// startup instead of silently screening less.
func LoadSafetyConfig(path string) (SafetyConfig, error) {
	c := DefaultSafetyConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return SafetyConfig{}, fmt.Errorf("safety config: %w", err)
		}
		c = SafetyConfig{}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return SafetyConfig{}, fmt.Errorf("safety config %s: %w", path, err)
		}
		if dec.More() {
			return SafetyConfig{}, fmt.Errorf("safety config %s: more than one JSON value", path)
		}
		if c.CrisisResources.Text == "" && len(c.CrisisResources.Links) == 0 {
			c.CrisisResources = DefaultCrisisResources
		}
	}
	if err := c.Compile(); err != nil {
		if path == "" {
			return SafetyConfig{}, err
		}
		return SafetyConfig{}, fmt.Errorf("safety config %s: %w", path, err)
	}
	return c, nil
}

// Compile validates c and builds its screener.
func (c *SafetyConfig) Compile() error {
	if c.DefaultPIIPolicy == "" {
		c.DefaultPIIPolicy = store.PIIWarn
	}
	if !slices.Contains(store.PIIPolicies, c.DefaultPIIPolicy) {
		return fmt.Errorf("default_pii_policy %q must be one of %s", c.DefaultPIIPolicy, strings.Join(store.PIIPolicies, ", "))
	}
	if strings.TrimSpace(c.CrisisResources.Text) == "" {
		return errors.New("crisis_resources.text is empty: a member in crisis must be shown where to get help")
	}
	for i, l := range c.CrisisResources.Links {
		u, err := url.Parse(l.URL)
		if strings.TrimSpace(l.Label) == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "tel") {
			return fmt.Errorf("crisis_resources.links[%d] needs a label and an http(s) or tel: url", i)
		}
	}
	sc := safety.Config{AllowDomains: c.AllowDomains, MinConfidence: c.MinConfidence,
		NoCrisisModel: c.CrisisModel != nil && !*c.CrisisModel}
	for _, p := range c.Products {
		sc.Products = append(sc.Products, safety.Product{Brand: p.Brand, Generics: p.Generics, Misspellings: p.Misspellings})
	}
	for _, r := range c.Reactions {
		sc.Reactions = append(sc.Reactions, safety.Reaction{Term: r.Term, Variants: r.Variants})
	}
	s, err := safety.New(sc)
	if err != nil {
		return err
	}
	c.screener = s
	return nil
}

// apply puts a compiled configuration into the rooms' configuration. An uncompiled one (the
// zero SafetyConfig) leaves screening off.
func (c SafetyConfig) apply(rc *rooms.Config) {
	if c.screener == nil {
		return
	}
	if rc.Screener == nil {
		rc.Screener = c.screener
	}
	rc.Safety.ResourcesText = c.CrisisResources.Text
	rc.Safety.ResourceLinks = c.CrisisResources.Links
	rc.Safety.DefaultPIIPolicy = c.DefaultPIIPolicy
}
