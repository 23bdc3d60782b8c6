package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver"
)

// childResult is what the receiver process reports when it stops.
type childResult struct {
	Records int64 `json:"records"`
	// Elapsed runs from Start to the last record consumed.
	Elapsed time.Duration `json:"elapsed"`
	// PeakRSS is the process's VmHWM in bytes: the kernel's high-water mark of its resident
	// memory. (The rusage a parent gets is no use here: a child forked by Go shares the parent's
	// memory until exec, and its ru_maxrss counts the parent's resident set too.)
	PeakRSS int64 `json:"peak_rss"`
}

// runChild runs the receiver with config (a JSON receiver block, as under receivers:) into a
// consumer that counts records and drops them, until want records arrived (0: until SIGTERM).
// The process holds nothing but the receiver, so that its peak RSS is the receiver's.
func runChild(config string, want int64, cpuProfile string) error {
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(config), &raw); err != nil {
		return err
	}
	factory := securityalertsreceiver.NewFactory()
	cfg := factory.CreateDefaultConfig()
	if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
		return err
	}
	sink := &countingSink{want: want, done: make(chan struct{})}
	rcv, err := factory.CreateLogs(context.Background(), receivertest.NewNopSettings(factory.Type()), cfg, sink)
	if err != nil {
		return err
	}
	stop, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	sink.start = time.Now()
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		return err
	}
	select {
	case <-sink.done:
	case <-stop.Done():
	}
	if err := rcv.Shutdown(context.Background()); err != nil {
		return err
	}
	result := sink.result()
	if result.PeakRSS, err = peakRSS(); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(result)
}

// peakRSS reads VmHWM from /proc/self/status.
func peakRSS() (int64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// countingSink is the pipeline: it counts records, as an exporter would see them, and drops them.
type countingSink struct {
	want    int64
	start   time.Time
	records atomic.Int64
	last    atomic.Int64 // unix ns of the last record
	once    sync.Once
	done    chan struct{}
}

func (s *countingSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *countingSink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	n := s.records.Add(int64(ld.LogRecordCount()))
	s.last.Store(time.Now().UnixNano())
	if s.want > 0 && n >= s.want {
		s.once.Do(func() { close(s.done) })
	}
	return nil
}

func (s *countingSink) result() childResult {
	r := childResult{Records: s.records.Load()}
	if last := s.last.Load(); last > 0 {
		r.Elapsed = time.Unix(0, last).Sub(s.start)
	}
	return r
}

// childMain is the entry point of the receiver process.
func childMain(config string, want int64, cpuProfile string) {
	if err := runChild(config, want, cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}
