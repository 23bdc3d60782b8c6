// Package etcdtest runs a real etcd server, from Debian's etcd-server package (`make etcd`),
// on loopback for tests: a single member with a temporary data directory.
package etcdtest

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Server is one etcd process.
type Server struct {
	// Endpoint is its client URL, e.g. http://127.0.0.1:41234.
	Endpoint string
	cmd      *exec.Cmd
}

// Start runs etcd until the test ends. Without an etcd binary on PATH it skips the test,
// saying how to install one.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("SKIPPED: no etcd binary on PATH: install Debian's etcd-server package (`make etcd`)")
	}
	// The ports are free when chosen, but another process may take one before etcd binds it:
	// then etcd exits at once, and a second pair of ports is tried.
	for attempt := 1; ; attempt++ {
		s, output, exitedAtStart := start(t, bin)
		if !exitedAtStart {
			return s
		}
		if attempt == 3 {
			t.Fatalf("etcd exited at start:\n%s", output())
		}
	}
}

func start(t testing.TB, bin string) (s *Server, output func() string, exitedAtStart bool) {
	client, peer := freePort(t), freePort(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "etcd.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() // etcd has its own descriptor
	cmd := exec.Command(bin,
		"--name", "test",
		"--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", "http://"+client,
		"--advertise-client-urls", "http://"+client,
		"--listen-peer-urls", "http://"+peer,
		"--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "test=http://"+peer,
		"--logger", "zap", "--log-level", "warn",
	)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting etcd: %v", err)
	}
	s = &Server{Endpoint: "http://" + client, cmd: cmd}
	output = func() string {
		data, _ := os.ReadFile(logPath)
		return string(data)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT) // in case a test left it paused
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("etcd output:\n%s", output())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !s.healthy() {
		select {
		case <-exited:
			return nil, output, true
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd not healthy after 20s:\n%s", output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, output, false
}

func (s *Server) healthy() bool {
	hc := http.Client{Timeout: time.Second}
	resp, err := hc.Get(s.Endpoint + "/health")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Pause freezes the server (SIGSTOP): to its clients it is unreachable, without losing state.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
}

// Resume undoes Pause.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
