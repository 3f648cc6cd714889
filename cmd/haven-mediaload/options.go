package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Bounds: a run never exceeds these, whatever the flags say.
const (
	maxSubscribers = 499 // a webinar admits 500 participants; the publisher is one
	maxRuns        = 5
	maxTimeout     = time.Hour
)

// options are the parsed flags.
type options struct {
	Haven      string // haven binary to start per run; "" uses -url and -pid
	URL        string
	PID        int
	DataDir    string
	AdminAddr  string // HAVEN_ADMIN_ADDR of a started server (pprof)
	PprofDir   string // where CPU and heap profiles of each step go
	ServerCPUs string // taskset CPU list for a started server
	AdminEmail string
	AdminPass  string
	Room       string
	Steps      []int
	Runs       int
	Warmup     time.Duration
	Window     time.Duration
	Settle     time.Duration
	Bitrate    int // RTP payload bits/s, video and audio together
	FPS        int
	KeyEvery   time.Duration
	Conc       int
	Timeout    time.Duration
	JSON       bool
	Quiet      bool
	Verbose    bool
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("haven-mediaload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Haven, "haven", "", "haven binary: start a fresh server per run (SQLite, in-memory broker, media on one UDP port on 127.0.0.1) and stop it after; without it, load the server at -url whose process is -pid")
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "Haven server to load when -haven is not given (loopback only)")
	fs.IntVar(&o.PID, "pid", 0, "the -url server's process id, for its CPU time and RSS from /proc (required without -haven)")
	fs.StringVar(&o.DataDir, "data-dir", "", "data directory for the started server (kept across runs, so sign-ups are made once); default a temporary directory removed at the end")
	fs.StringVar(&o.AdminAddr, "admin-addr", "", "HAVEN_ADMIN_ADDR of the started server (pprof), e.g. 127.0.0.1:16061; with -url, the pprof address of that server")
	fs.StringVar(&o.PprofDir, "pprof-dir", "", "write a CPU profile of each step's measured window and a heap profile at its end here (needs -admin-addr); profiling costs the server CPU, so do not mix it with measured runs")
	fs.StringVar(&o.ServerCPUs, "server-cpus", "", "run the started server under taskset -c LIST (e.g. 0)")
	fs.StringVar(&o.AdminEmail, "admin-email", "admin@mediaload.example.org", "admin account (created by a started server); it hosts the webinar and publishes")
	fs.StringVar(&o.AdminPass, "admin-password", "mediaload-password-1", "password of -admin-email")
	fs.StringVar(&o.Room, "room", "mediaload", "webinar room slug (created when missing)")
	steps := fs.String("steps", "25,50,100,200,400", "subscriber counts, ascending; subscribers are added between steps, so each step adds to the last")
	fs.IntVar(&o.Runs, "runs", 1, fmt.Sprintf("repeat every step this many times (1-%d); the table shows the median and the spread", maxRuns))
	fs.DurationVar(&o.Warmup, "warmup", 3*time.Second, "wait after every subscriber of a step is receiving, before measuring")
	fs.DurationVar(&o.Window, "window", 10*time.Second, "measured window of each step")
	fs.DurationVar(&o.Settle, "settle", time.Second, "after a window closes, how long packets still in flight may take to count")
	fs.IntVar(&o.Bitrate, "bitrate", 1_200_000, "publisher's RTP payload bit rate, video and audio together (bits/s)")
	fs.IntVar(&o.FPS, "fps", 30, "video frames per second")
	fs.DurationVar(&o.KeyEvery, "keyframe-interval", 2*time.Second, "video keyframe interval (and one at once on a PLI)")
	fs.IntVar(&o.Conc, "concurrency", 25, "subscribers set up at once")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Minute, fmt.Sprintf("bound on the whole invocation (at most %s)", maxTimeout))
	fs.BoolVar(&o.JSON, "json", false, "print the results as JSON instead of a table")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress line")
	fs.BoolVar(&o.Verbose, "v", false, "Pion's own warnings and errors to stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.Steps, err = parseSteps(*steps); err != nil {
		return o, err
	}
	return o, o.validate()
}

// parseSteps reads an ascending list of subscriber counts.
func parseSteps(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxSubscribers {
			return nil, fmt.Errorf("-steps %q: want subscriber counts of 1 to %d separated by commas", s, maxSubscribers)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("-steps %q: counts must ascend (each step adds subscribers to the last)", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func (o *options) validate() error {
	if o.Haven == "" {
		if err := checkLoopbackURL(o.URL); err != nil {
			return err
		}
		o.URL = strings.TrimRight(o.URL, "/")
		if o.PID <= 0 {
			return errors.New("-pid is required with -url (the server's CPU time and RSS come from /proc/PID)")
		}
	} else if _, err := os.Stat(o.Haven); err != nil {
		return fmt.Errorf("-haven: %w", err)
	}
	if o.AdminAddr != "" {
		host, _, err := net.SplitHostPort(o.AdminAddr)
		if err != nil || !isLoopback(host) {
			return fmt.Errorf("-admin-addr %q: want a loopback host:port", o.AdminAddr)
		}
	}
	if o.PprofDir != "" && o.AdminAddr == "" {
		return errors.New("-pprof-dir needs -admin-addr")
	}
	if o.ServerCPUs != "" && o.Haven == "" {
		return errors.New("-server-cpus applies to a server the tool starts (-haven)")
	}
	if o.Runs < 1 || o.Runs > maxRuns {
		return fmt.Errorf("-runs must be 1 to %d", maxRuns)
	}
	if o.Warmup < 0 || o.Warmup > time.Minute || o.Settle < 0 || o.Settle > 10*time.Second {
		return errors.New("-warmup must be 0 to 1m and -settle 0 to 10s")
	}
	if o.Window < time.Second || o.Window > 2*time.Minute {
		return errors.New("-window must be 1s to 2m")
	}
	if o.Bitrate < 100_000 || o.Bitrate > 20_000_000 {
		return errors.New("-bitrate must be 100000 to 20000000 bits/s")
	}
	if o.FPS < 1 || o.FPS > 60 {
		return errors.New("-fps must be 1 to 60")
	}
	if o.KeyEvery < 100*time.Millisecond || o.KeyEvery > time.Minute {
		return errors.New("-keyframe-interval must be 100ms to 1m")
	}
	if o.Conc < 1 || o.Conc > 200 {
		return errors.New("-concurrency must be 1 to 200")
	}
	if o.Timeout <= 0 || o.Timeout > maxTimeout {
		return fmt.Errorf("-timeout must be more than 0 and at most %s", maxTimeout)
	}
	if o.AdminEmail == "" || o.AdminPass == "" {
		return errors.New("-admin-email and -admin-password are required")
	}
	if o.Room == "" {
		return errors.New("-room is required")
	}
	return nil
}

func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q: want http://host:port", raw)
	}
	if !isLoopback(u.Hostname()) {
		return fmt.Errorf("-url host %q is not loopback: this tool loads a server on this machine only", u.Hostname())
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
