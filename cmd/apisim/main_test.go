package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseUnkindFlags(t *testing.T) {
	c, err := parse([]string{
		"-alarms-closed-per-second", "2", "-future-fraction", "0.1", "-future-skew", "48h", "-future-in-backlog",
		"-missing-id-fraction", "0.05", "-central-total-cap", "10000", "-central-result-window", "500",
		"-trend-shuffle-pages", "-trend-horizon", "-1s", "-fault-cisco-repeat-cursor", "0.5",
		"-latency", "50ms", "-latency", "usm_anywhere=100ms,usm_central=100ms", "-disconnect", "acme=5m",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := c.options
	got := []any{o.AlarmsClosedPerSecond, o.FutureFraction, o.FutureSkew, o.FutureInBacklog, o.MissingIDFraction,
		o.CentralTotalCap, o.CentralResultWindow, o.TrendCASShuffledPages, o.TrendCASHorizon, c.faults.CiscoRepeatCursor}
	want := []any{2.0, 0.1, 48 * time.Hour, true, 0.05, 10000, 500, true, -time.Second, 0.5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("options %v, want %v", got, want)
	}
	if wantLatency := map[string]time.Duration{"*": 50 * time.Millisecond, "usm_anywhere": 100 * time.Millisecond, "usm_central": 100 * time.Millisecond}; !reflect.DeepEqual(o.Latency, wantLatency) {
		t.Errorf("latency %v, want %v", o.Latency, wantLatency)
	}
	if !reflect.DeepEqual(c.disconnect, durations{"acme": 5 * time.Minute}) {
		t.Errorf("disconnect %v", c.disconnect)
	}
}

// TestDefaultsAreTheSimulatorsDefaults: without flags, nothing unkind is switched on beyond what
// the APIs document (Trend's 72-hour horizon), as make run relies on.
func TestDefaultsAreTheSimulatorsDefaults(t *testing.T) {
	c, err := parse(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := c.options
	if o.AlarmsClosedPerSecond != 0 || o.FutureFraction != 0 || o.MissingIDFraction != 0 || o.CentralTotalCap != 0 ||
		o.CentralResultWindow != 0 || o.TrendCASShuffledPages || o.Latency != nil || c.disconnect != nil ||
		c.faults.CiscoRepeatCursor != 0 || o.TrendCASHorizon != 72*time.Hour {
		t.Errorf("defaults switch something on: %+v, faults %+v", o, c.faults)
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"-latency", "soon"}, {"-latency", "usm=100ms"}, {"-latency", "usm_anywhere=-1s"},
		{"-disconnect", "acme"}, {"-disconnect", "=5m"},
		{"-future-fraction", "2"}, {"-fault-cisco-repeat-cursor", "1.5"}, {"stray"},
	} {
		if _, err := parse(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	if err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-disconnect", "nobody=1m"}, io.Discard, io.Discard); err == nil {
		t.Error("an unknown deployment to disconnect accepted")
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var usage strings.Builder
	if _, err := parse([]string{"-h"}, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, name := range []string{"alarms-closed-per-second", "future-fraction", "future-skew", "future-in-backlog",
		"missing-id-fraction", "central-total-cap", "central-result-window", "trend-shuffle-pages", "trend-horizon",
		"latency", "disconnect", "fault-cisco-repeat-cursor"} {
		if !strings.Contains(usage.String(), "  -"+name+" ") && !strings.Contains(usage.String(), "  -"+name+"\n") {
			t.Errorf("-h does not document -%s", name)
		}
	}
}

// TestRunServesUntilCancelled starts the command as make run does, with a deployment
// disconnected, and stops it.
func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-backlog", "5", "-disconnect", "acme=1h"}, w, io.Discard)
		w.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "apisim listening on ")
	if !ok {
		t.Fatalf("first line %q", line)
	}
	go io.Copy(io.Discard, out)
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/1.1/oauth/token?grant_type=client_credentials", nil)
	req.SetBasicAuth("sim-client", "sim-secret")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	getJSON(t, hc, req, &tok)
	req, _ = http.NewRequest(http.MethodGet, base+"/api/1.1/deployments", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	var deployments []map[string]any
	getJSON(t, hc, req, &deployments)
	for _, d := range deployments {
		if d["name"] == "acme" && d["connectionStatus"] != "disconnected" {
			t.Errorf("acme is %v under -disconnect acme=1h", d["connectionStatus"])
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func getJSON(t *testing.T, hc *http.Client, req *http.Request, v any) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
