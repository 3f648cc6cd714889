// Package load is haven-load: a PROTOCOL v1 load generator. It signs up (or reuses) members,
// opens many WebSocket connections to one Haven node (or spreads them over several), runs a
// bounded scenario and reports what it measured. cmd/haven-load is its command line; tests call Run directly.
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
	URL         string   // the first node: sign-up, admin calls, /metrics
	URLs        []string // every node in -url, in order
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
	CPUProfile  string
	Count       int           // moderation: cycles; 0 = until -duration
	Timeout     time.Duration // moderation: how long one effect may take before it counts as failed
	Reader      string        // "epoll" (Linux, http://) or "std": how members' connections are read
}

var scenarios = []string{"idle", "broadcast", "rooms", "join-storm", "moderation"}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("haven-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "Haven node to load (http:// or https://), or several separated by commas: members are spread over them round robin (moderation: the moderator is on the first, the targets on the others)")
	fs.BoolVar(&o.AllowRemote, "allow-remote", false, "allow a non-loopback -url")
	fs.StringVar(&o.Scenario, "scenario", "", "one of "+strings.Join(scenarios, ", "))
	fs.IntVar(&o.N, "n", 100, "members (connections)")
	fs.IntVar(&o.Rooms, "rooms", 10, "rooms for the rooms scenario (members are spread evenly)")
	fs.IntVar(&o.Senders, "senders", 0, "sending members for broadcast; 0 = as many as the top rate needs at -sender-rate each")
	fs.Float64Var(&o.SenderRate, "sender-rate", 1.5, "messages/s one member sends at most (the server limits a member to 2/s, burst 10, by default)")
	rate := fs.String("rate", "", "messages/s in total, or a step list like 100,200,400 (default: broadcast 20, rooms n/5; moderation: one rate of background chat, default n/10)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each rate step (idle: how long to hold; moderation: how long to keep acting); at most 10m in total")
	fs.IntVar(&o.Count, "count", 0, "moderation: stop after this many mute/unmute/remove/rejoin cycles (0 = run for -duration)")
	fs.DurationVar(&o.Timeout, "effect-timeout", 5*time.Second, "moderation: how long an action may take to be in effect before it counts as failed")
	fs.IntVar(&o.Size, "size", 200, "message text bytes")
	fs.BoolVar(&o.JSON, "json", false, "print machine-readable results (JSON) instead of a table")
	fs.IntVar(&o.PID, "pid", 0, "server process id, to read its RSS from /proc/PID/status (default: /metrics process_resident_memory_bytes)")
	fs.StringVar(&o.Tokens, "tokens", "", "file of bearer tokens (one a line) to use before signing anyone up")
	fs.StringVar(&o.SaveTokens, "save-tokens", "", "write every token used to this file, so later runs can skip sign-up")
	fs.StringVar(&o.Room, "room", "type-1-diabetes", "room for idle, broadcast and join-storm")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "connections dialled at once while setting up; 0 = 200 (join-storm: all at once)")
	fs.IntVar(&o.SignupConc, "signup-concurrency", 8, "sign-ups in flight at once")
	fs.StringVar(&o.AdminEmail, "admin-email", "", "admin account that creates the rooms scenario's rooms and the moderation scenario's room and moderator")
	fs.StringVar(&o.AdminPass, "admin-password", "", "password of -admin-email")
	fs.StringVar(&o.AdminToken, "admin-token", "", "admin bearer token (instead of -admin-email/-admin-password)")
	fs.DurationVar(&o.Drain, "drain", 5*time.Second, "how long to wait after the last send for deliveries to arrive")
	fs.DurationVar(&o.Settle, "settle", 2*time.Second, "pause between joining and the first step, so the presence events of the joins do not count against it")
	fs.StringVar(&o.Password, "password", "load-test-password", "password of signed-up members")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress line")
	fs.StringVar(&o.Reader, "reader", defaultReader, "how members' connections are read: epoll (Linux: a few goroutines serve every connection, one read per frame; http:// only) or std (a goroutine per connection, through coder/websocket)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write the load tool's own CPU profile to this file (it shares the machine with the server)")
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
	urls, err := parseURLs(o.URL, o.AllowRemote)
	if err != nil {
		return err
	}
	o.URLs, o.URL = urls, urls[0]
	if len(urls) > 1 && o.Scenario == "idle" {
		return errors.New("-scenario idle measures one node's memory: give one -url")
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
	if o.Reader != "std" && (o.Reader != "epoll" || !rawAvailable) {
		return fmt.Errorf("-reader must be std or, on Linux, epoll")
	}
	if o.Count < 0 {
		return fmt.Errorf("-count must be 0 or more")
	}
	if o.Timeout <= 0 || o.Timeout > time.Minute {
		return fmt.Errorf("-effect-timeout must be more than 0 and at most 1m")
	}
	if rate == "" {
		switch o.Scenario {
		case "broadcast":
			rate = "20"
		case "rooms":
			rate = strconv.FormatFloat(math.Max(1, float64(o.N)/5), 'f', -1, 64)
		case "moderation":
			rate = strconv.FormatFloat(math.Max(1, float64(o.N)/10), 'f', -1, 64)
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
	if o.Scenario == "moderation" {
		if len(o.Rates) != 1 {
			return errors.New("-scenario moderation takes one -rate (background chat, messages/s in total)")
		}
		if per := o.Rates[0] / float64(o.N); per > o.SenderRate {
			return fmt.Errorf("-rate %g over %d members is %.2f messages/s each, more than -sender-rate %g: raise -n or lower -rate", o.Rates[0], o.N, per, o.SenderRate)
		}
		if o.AdminEmail == "" && o.AdminToken == "" {
			return errors.New("-scenario moderation creates its room and names its moderator as an admin: pass -admin-email/-admin-password or -admin-token")
		}
		if len(o.URLs) > 1 && o.N < len(o.URLs)-1 {
			return fmt.Errorf("-n %d: the moderation scenario needs a member on every node but the first", o.N)
		}
	}
	return nil
}

// parseURLs splits -url on commas and checks each node's address.
func parseURLs(list string, allowRemote bool) ([]string, error) {
	var out []string
	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("-url %q: want http://host:port or https://host:port, separated by commas", raw)
		}
		if !allowRemote && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("-url host %q is not loopback; pass -allow-remote to load another machine", u.Hostname())
		}
		out = append(out, strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"))
	}
	return out, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
