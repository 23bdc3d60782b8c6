//go:build integration

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// collectorBinary is the distribution built by `make build` (OCB), the same binary users run.
func collectorBinary(t *testing.T) string {
	return built(t, "build", "bin", "otelcol-securityalerts")
}

// built is the path of what `make <target>` builds at path below the repository, which the test
// needs: make integration-test builds them all first.
func built(t *testing.T, target string, path ...string) string {
	t.Helper()
	full := filepath.Join(append([]string{repoRoot()}, path...)...)
	if _, err := os.Stat(full); err != nil {
		t.Fatalf("%s not found: run `make %s` (make integration-test does)", full, target)
	}
	return full
}

// collector is one run of the built collector, its output kept for the failure report.
type collector struct {
	cmd     *exec.Cmd
	output  *lockedBuffer
	exited  chan struct{} // closed once the process has been reaped; waitErr is set before
	waitErr error
}

func startCollector(t *testing.T, configPath string) *collector {
	t.Helper()
	return startCollectorIn(t, "", configPath, nil)
}

// startCollectorIn starts the collector in directory dir (empty: this one) with env added to
// this process's environment.
func startCollectorIn(t *testing.T, dir, configPath string, env []string) *collector {
	t.Helper()
	cmd := exec.Command(collectorBinary(t), "--config", configPath)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return startCommand(t, cmd)
}

// startCommand starts cmd, a collector run some other way (a package's binary, an image's
// entrypoint), killed at the end of the test if it still runs.
func startCommand(t *testing.T, cmd *exec.Cmd) *collector {
	t.Helper()
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	c := &collector{cmd: cmd, output: out, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		if c.running() {
			_ = cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("collector output (pid %d):\n%s", cmd.Process.Pid, out.String())
		}
	})
	return c
}

func (c *collector) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

func (c *collector) kill(t *testing.T) {
	require.True(t, c.running(), "collector exited on its own:\n%s", c.output.String())
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	<-c.exited
}

// stop asks for a graceful shutdown and expects a clean exit.
func (c *collector) stop(t *testing.T) {
	require.True(t, c.running(), "collector exited on its own:\n%s", c.output.String())
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-c.exited:
		require.NoError(t, c.waitErr, "collector did not exit cleanly")
	case <-time.After(30 * time.Second):
		t.Fatal("collector did not shut down within 30s")
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
