package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// startTimeout bounds initdb and every wait for the server to accept connections.
const startTimeout = 30 * time.Second

// shared is the one server a test binary's PostgresURL calls share; Main stops it.
var shared struct {
	once    sync.Once
	srv     *PostgresServer
	missing string // why PostgreSQL is unavailable, when it is
	err     error
}

var dbCounter atomic.Int64

// PostgresURL returns the DSN of a fresh, empty database, uniquely named, on a server shared
// by the whole test binary. The server is started on first use unless HAVEN_TEST_DATABASE_URL
// names one to use instead. Without PostgreSQL the test is skipped (failed under CI=true).
func PostgresURL(t testing.TB) string {
	t.Helper()
	name := dbName(t)
	if admin := os.Getenv("HAVEN_TEST_DATABASE_URL"); admin != "" {
		dsn, err := createDB(admin, name)
		if err != nil {
			t.Fatalf("HAVEN_TEST_DATABASE_URL: %v", err)
		}
		t.Cleanup(func() { _ = dropDB(admin, name) })
		return dsn
	}
	shared.once.Do(func() {
		bins, why := findPostgres()
		if why != "" {
			shared.missing = why
			return
		}
		shared.srv, shared.err = newServer(bins)
	})
	if shared.missing != "" {
		Unavailable(t, "PostgreSQL", shared.missing)
	}
	if shared.err != nil {
		t.Fatalf("start shared PostgreSQL: %v", shared.err)
	}
	return shared.srv.CreateDB(t, name)
}

func stopSharedPostgres() {
	if shared.srv != nil {
		_ = shared.srv.stop()
		os.RemoveAll(shared.srv.dir)
	}
}

// PostgresServer is a dedicated PostgreSQL server on 127.0.0.1, for tests that stop and
// restart it. Its data survive a Stop/Start.
type PostgresServer struct {
	bins pgBins
	dir  string // holds data/, the socket and the log
	port int

	mu   sync.Mutex // guards proc and exited
	proc *exec.Cmd
	// exited is closed when proc exits.
	exited chan struct{}
}

// StartPostgres starts a dedicated server, stopped and removed when t ends.
func StartPostgres(t testing.TB) *PostgresServer {
	t.Helper()
	bins, why := findPostgres()
	if why != "" {
		Unavailable(t, "PostgreSQL", why)
	}
	s, err := newServer(bins)
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		_ = s.stop()
		os.RemoveAll(s.dir)
	})
	return s
}

// URL returns the DSN of database db on s.
func (s *PostgresServer) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, url.PathEscape(db))
}

// CreateDB creates an empty database called name and returns its DSN.
func (s *PostgresServer) CreateDB(t testing.TB, name string) string {
	t.Helper()
	dsn, err := createDB(s.URL("postgres"), name)
	if err != nil {
		t.Fatalf("create database: %v", err)
	}
	return dsn
}

// Stop shuts the server down (fast mode: open connections are terminated).
func (s *PostgresServer) Stop(t testing.TB) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
}

// Start restarts a stopped server on the same port and data directory and waits until it
// accepts connections.
func (s *PostgresServer) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
}

type pgBins struct{ initdb, postgres string }

// findPostgres prefers Debian's versioned layout (/usr/lib/postgresql/<version>/bin, highest
// version first) and falls back to PATH. It returns why when no usable install exists.
func findPostgres() (pgBins, string) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		b := pgBins{filepath.Join(d, "initdb"), filepath.Join(d, "postgres")}
		if isExec(b.initdb) && isExec(b.postgres) {
			return b, ""
		}
	}
	initdb, err1 := exec.LookPath("initdb")
	postgres, err2 := exec.LookPath("postgres")
	if err1 != nil || err2 != nil {
		return pgBins{}, "initdb and postgres not found in /usr/lib/postgresql/*/bin or PATH"
	}
	return pgBins{initdb, postgres}, ""
}

func pgVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func newServer(bins pgBins) (*PostgresServer, error) {
	dir, err := os.MkdirTemp("", "haven-pg-*")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	s := &PostgresServer{bins: bins, dir: dir}
	fail := func(err error) (*PostgresServer, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return fail(err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(fmt.Errorf("chown %s: %w", dir, err))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	// --no-sync: the cluster is thrown away after the tests.
	cmd := exec.CommandContext(ctx, bins.initdb, "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %w\n%s", err, out))
	}
	if s.port, err = freePort(); err != nil {
		return fail(err)
	}
	if err := s.start(); err != nil {
		return fail(err)
	}
	return s, nil
}

// runAs returns the credential of the postgres OS user when running as root, which
// PostgreSQL refuses; nil otherwise.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and no postgres user to run the server as: %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (s *PostgresServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("already running")
	}
	cred, err := runAs()
	if err != nil {
		return err
	}
	logPath := filepath.Join(s.dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	// Durability settings are off: test data are disposable and speed matters.
	cmd := exec.Command(s.bins.postgres, "-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+s.dir,
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
		"-c", "max_connections=300", "-c", "shared_buffers=32MB")
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig: if the test binary dies without Main's cleanup, the server goes with it
	// (SIGQUIT is PostgreSQL's immediate shutdown).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.proc, s.exited = cmd, exited

	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-exited:
			s.proc = nil
			return fmt.Errorf("postgres exited during start-up:\n%s", tail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			s.proc = nil
			return fmt.Errorf("postgres not ready after %v: %v\n%s", startTimeout, err, tail(logPath))
		}
	}
}

// stop asks for a fast shutdown (SIGINT) and kills the server if it takes too long.
func (s *PostgresServer) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	defer func() { s.proc = nil }()
	_ = s.proc.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
		return nil
	case <-time.After(startTimeout):
		_ = syscall.Kill(-s.proc.Process.Pid, syscall.SIGKILL)
		<-s.exited
		return fmt.Errorf("postgres did not shut down within %v; killed", startTimeout)
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// dbName is unique per call and mentions the test, which helps when reading a server's logs.
func dbName(t testing.TB) string {
	base := unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(base) > 32 {
		base = base[len(base)-32:]
	}
	return fmt.Sprintf("t%d_%d_%s", os.Getpid(), dbCounter.Add(1), base)
}

// createDB creates database name on the server adminDSN points at and returns its DSN.
func createDB(adminDSN, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", fmt.Errorf("connect to create database %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(adminDSN)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("HAVEN_TEST_DATABASE_URL must be a postgres:// URL: %v", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropDB(adminDSN, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}
