// Package load is haven-load: a PROTOCOL v1 load generator. It signs up (or reuses) members,
// opens many WebSocket connections to one Haven node, runs a bounded scenario and reports
// what it measured. cmd/haven-load is its command line; tests call Run directly.
package load

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxDuration bounds any run's measured phase.
const MaxDuration = 10 * time.Minute

// options are the parsed flags.
type options struct {
	URL         string
	AllowRemote bool
	Scenario    string
	N           int
	Rooms       int
	Senders     int
	SenderRate  float64
	Rates       []float64 // messages/s in total, one per step
	Duration    time.Duration
	Size        int
	JSON        bool
	PID         int
	Tokens      string
	SaveTokens  string
	Room        string
	Concurrency int
	SignupConc  int
	AdminEmail  string
	AdminPass   string
	AdminToken  string
	Drain       time.Duration
	Settle      time.Duration
	Password    string
	Quiet       bool
}

var scenarios = []string{"idle", "broadcast", "rooms", "join-storm", "moderation"}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("haven-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "Haven node to load (http:// or https://)")
	fs.BoolVar(&o.AllowRemote, "allow-remote", false, "allow a non-loopback -url")
	fs.StringVar(&o.Scenario, "scenario", "", "one of "+strings.Join(scenarios, ", "))
	fs.IntVar(&o.N, "n", 100, "members (connections)")
	fs.IntVar(&o.Rooms, "rooms", 10, "rooms for the rooms scenario (members are spread evenly)")
	fs.IntVar(&o.Senders, "senders", 0, "sending members for broadcast; 0 = as many as the top rate needs at -sender-rate each")
	fs.Float64Var(&o.SenderRate, "sender-rate", 1.5, "messages/s one member sends at most (the server limits a member to 2/s, burst 10, by default)")
	rate := fs.String("rate", "", "messages/s in total, or a step list like 100,200,400 (default: broadcast 20, rooms n/5)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each rate step (idle: how long to hold); at most 10m in total")
	fs.IntVar(&o.Size, "size", 200, "message text bytes")
	fs.BoolVar(&o.JSON, "json", false, "print machine-readable results (JSON) instead of a table")
	fs.IntVar(&o.PID, "pid", 0, "server process id, to read its RSS from /proc/PID/status (default: /metrics process_resident_memory_bytes)")
	fs.StringVar(&o.Tokens, "tokens", "", "file of bearer tokens (one a line) to use before signing anyone up")
	fs.StringVar(&o.SaveTokens, "save-tokens", "", "write every token used to this file, so later runs can skip sign-up")
	fs.StringVar(&o.Room, "room", "type-1-diabetes", "room for idle, broadcast and join-storm")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "connections dialled at once while setting up; 0 = 200 (join-storm: all at once)")
	fs.IntVar(&o.SignupConc, "signup-concurrency", 8, "sign-ups in flight at once")
	fs.StringVar(&o.AdminEmail, "admin-email", "", "admin account that creates the rooms scenario's rooms")
	fs.StringVar(&o.AdminPass, "admin-password", "", "password of -admin-email")
	fs.StringVar(&o.AdminToken, "admin-token", "", "admin bearer token (instead of -admin-email/-admin-password)")
	fs.DurationVar(&o.Drain, "drain", 5*time.Second, "how long to wait after the last send for deliveries to arrive")
	fs.DurationVar(&o.Settle, "settle", 2*time.Second, "pause between joining and the first step, so the presence events of the joins do not count against it")
	fs.StringVar(&o.Password, "password", "load-test-password", "password of signed-up members")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress line")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := o.validate(*rate); err != nil {
		return o, err
	}
	return o, nil
}

func (o *options) validate(rate string) error {
	known := false
	for _, s := range scenarios {
		known = known || s == o.Scenario
	}
	if !known {
		return fmt.Errorf("-scenario must be one of %s", strings.Join(scenarios, ", "))
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q: want http://host:port or https://host:port", o.URL)
	}
	o.URL = strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/")
	if !o.AllowRemote && !isLoopback(u.Hostname()) {
		return fmt.Errorf("-url host %q is not loopback; pass -allow-remote to load another machine", u.Hostname())
	}
	if o.N < 1 || o.N > 1_000_000 {
		return fmt.Errorf("-n must be 1 to 1000000")
	}
	if o.Duration <= 0 || o.Duration > MaxDuration {
		return fmt.Errorf("-duration must be more than 0 and at most %s", MaxDuration)
	}
	if o.Size < 32 || o.Size > 4000 {
		return fmt.Errorf("-size must be 32 to 4000 bytes (the timestamp needs room; the server allows 4000)")
	}
	if o.SenderRate <= 0 {
		return fmt.Errorf("-sender-rate must be positive")
	}
	if o.Drain < 0 || o.Drain > time.Minute || o.Settle < 0 || o.Settle > time.Minute {
		return fmt.Errorf("-drain and -settle must be 0 to 1m")
	}
	if o.Concurrency < 0 || o.SignupConc < 1 {
		return fmt.Errorf("-concurrency must be 0 or more and -signup-concurrency 1 or more")
	}
	if o.Scenario == "rooms" && (o.Rooms < 1 || o.Rooms > o.N) {
		return fmt.Errorf("-rooms must be 1 to -n")
	}
	if rate == "" {
		switch o.Scenario {
		case "broadcast":
			rate = "20"
		case "rooms":
			rate = strconv.FormatFloat(math.Max(1, float64(o.N)/5), 'f', -1, 64)
		}
	}
	if rate != "" {
		for _, f := range strings.Split(rate, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || r <= 0 || math.IsInf(r, 0) {
				return fmt.Errorf("-rate %q: want positive numbers separated by commas", rate)
			}
			o.Rates = append(o.Rates, r)
		}
	}
	if steps := max(1, len(o.Rates)); time.Duration(steps)*o.Duration > MaxDuration {
		return fmt.Errorf("%d steps of %s exceed the %s bound", steps, o.Duration, MaxDuration)
	}
	if (o.AdminEmail == "") != (o.AdminPass == "") {
		return errors.New("-admin-email and -admin-password go together")
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
