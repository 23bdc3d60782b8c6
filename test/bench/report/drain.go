package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

// scenario is one run of the receiver, in a process of its own, against the simulator.
type scenario struct {
	// source is the source key the scenario reads; name says what of it, and how.
	source, name string
	sim          simulator.Options
	// latency is the API's time to answer each data request (the simulator's Latency, for every
	// source): 0 on loopback, 100 ms as a cloud API takes.
	latency time.Duration
	// receiver is the receiver block for the simulator at endpoint.
	receiver func(endpoint string) map[string]any
	// want ends the run once that many records were consumed; window, when set, ends it that
	// long after the first data request instead, and only requests within it are counted.
	want   int64
	window time.Duration
	// allowed is the request rate the API (or our configuration of it) allows, per second.
	allowed float64
}

// options are the scenario's simulator options with its latency.
func (s scenario) options() simulator.Options {
	opts := s.sim
	if s.latency > 0 {
		opts.Latency = map[string]time.Duration{"*": s.latency}
	}
	return opts
}

// profileDir, when set, receives the CPU profile of every receiver process, numbered in order.
var (
	profileDir string
	profiles   atomic.Int32
)

// outcome is what a scenario measured.
type outcome struct {
	child    childResult
	requests int // data requests (not token requests) counted
	span     time.Duration
	statuses map[int]int
	// concurrency is the most data requests in flight at once: the walks the receiver ran.
	concurrency int
	// cpu is the receiver process's CPU time; simCPU this process's (the simulator's, and
	// whatever else ran beside it) while it ran.
	cpu, simCPU time.Duration
}

// rate is the data requests per second: within the window, or between the first request and
// the last record of a drain.
func (o outcome) rate() float64 {
	if o.span <= 0 {
		return 0
	}
	return float64(o.requests) / o.span.Seconds()
}

func (o outcome) recordsPerSecond() float64 {
	if o.child.Elapsed <= 0 {
		return 0
	}
	return float64(o.child.Records) / o.child.Elapsed.Seconds()
}

// cpuPerRecord is the receiver's CPU time per record, all included (start, HTTP, JSON,
// conversion, garbage collection).
func (o outcome) cpuPerRecord() time.Duration {
	if o.child.Records == 0 {
		return 0
	}
	return o.cpu / time.Duration(o.child.Records)
}

// api is the simulator on loopback behind a request tap. Several may share one simulator, each
// on a listener and with a tap of its own, so that two receivers reading the same data are
// counted apart.
type api struct {
	sim *simulator.Simulator
	tap *tap
	srv *http.Server
	url string
}

// serve starts a simulator with opts on a listener of its own.
func serve(opts simulator.Options) (*api, error) {
	sim := simulator.New(opts)
	a, err := listen(sim)
	if err != nil {
		sim.Close()
		return nil, err
	}
	return a, nil
}

// listen serves sim on a new loopback listener behind a tap of its own.
func listen(sim *simulator.Simulator) (*api, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &api{sim: sim, tap: &tap{next: sim.Handler()}, url: "http://" + ln.Addr().String()}
	a.srv = &http.Server{Handler: a.tap, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

// close stops the listener and the simulator.
func (a *api) close() {
	_ = a.srv.Close()
	a.sim.Close()
}

// run starts the simulator, runs the scenario's receiver against it and stops both.
func (s scenario) run(ctx context.Context) (outcome, error) {
	a, err := serve(s.options())
	if err != nil {
		return outcome{}, err
	}
	defer a.close()
	return a.receive(ctx, s)
}

// receive runs the scenario's receiver process against a, and waits for it.
func (a *api) receive(ctx context.Context, s scenario) (outcome, error) {
	a.tap.reset()
	tap := a.tap
	config, err := json.Marshal(s.receiver(a.url))
	if err != nil {
		return outcome{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return outcome{}, err
	}
	var stdout bytes.Buffer
	args := []string{"-child", string(config), "-want", strconv.FormatInt(s.want, 10)}
	if profileDir != "" {
		path := filepath.Join(profileDir, fmt.Sprintf("%02d.pprof", profiles.Add(1)))
		progress("CPU profile of %s: %s", s.name, path)
		args = append(args, "-cpuprofile", path)
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	start, simStart := time.Now(), cpuTime()
	if err := cmd.Start(); err != nil {
		return outcome{}, err
	}
	if s.window > 0 {
		go func() {
			first := tap.waitFirst(ctx)
			select {
			case <-time.After(time.Until(first.Add(s.window))):
			case <-ctx.Done():
			}
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}()
	}
	waitErr := cmd.Wait()
	if waitErr != nil {
		return outcome{}, fmt.Errorf("%s: receiver: %w", s.name, waitErr)
	}
	o := outcome{cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), simCPU: cpuTime() - simStart}
	if err := json.Unmarshal(stdout.Bytes(), &o.child); err != nil {
		return outcome{}, fmt.Errorf("%s: receiver said %q: %w", s.name, stdout.String(), err)
	}
	o.statuses, o.concurrency = tap.statuses(), tap.concurrency()
	if s.window > 0 {
		o.requests, o.span = tap.count(0, s.window), s.window
	} else {
		o.requests = tap.count(0, time.Since(start))
		o.span = start.Add(o.child.Elapsed).Sub(tap.first())
	}
	if s.want > 0 && o.child.Records != s.want {
		return o, fmt.Errorf("%s: drained %d records, want %d", s.name, o.child.Records, s.want)
	}
	return o, nil
}

// cpuTime is this process's CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
