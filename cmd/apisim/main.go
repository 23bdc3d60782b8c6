// Command apisim serves the simulated security vendor APIs (see internal/simulator) until it
// gets SIGINT or SIGTERM. It listens on loopback unless told otherwise, and prints its base URL
// on one line: "apisim listening on http://127.0.0.1:18080".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return // the usage is printed already
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "apisim:", err)
		os.Exit(2)
	}
}

// config is what the command line asks for.
type config struct {
	addr    string
	options simulator.Options
	faults  simulator.Faults
	// disconnect names the USM Central deployments disconnected at start, and for how long.
	disconnect durations
}

func parse(args []string, usage io.Writer) (config, error) {
	fs := flag.NewFlagSet("apisim", flag.ContinueOnError)
	fs.SetOutput(usage)
	var c config
	fs.StringVar(&c.addr, "addr", "127.0.0.1:18080", "address to listen on")
	o := &c.options
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the generated records and of the fault dice")
	fs.IntVar(&o.Backlog, "backlog", 1000, "records per stream generated before the first request")
	fs.DurationVar(&o.Lookback, "lookback", 24*time.Hour, "time the backlog is spread over, up to now")
	fs.Float64Var(&o.ArrivalsPerSecond, "arrivals-per-second", 5, "new records per stream per second")
	fs.Float64Var(&o.LateArrivalFraction, "late-arrival-fraction", 0, "share of new records that occurred before they appear")
	fs.DurationVar(&o.LateArrivalMax, "late-arrival-max", 2*time.Minute, "how long before appearing a late record may have occurred")
	fs.DurationVar(&o.TokenTTL, "token-ttl", 0, "lifetime of access tokens (0: each vendor's documented lifetime, USM Anywhere 899s, Cisco 600s)")
	fs.Float64Var(&o.UpdatesPerSecond, "updates-per-second", 1, "existing alerts changed per second where the API re-serves changes (Cisco)")
	fs.StringVar(&o.ClientID, "client-id", "sim-client", "the accepted OAuth2 client id")
	fs.StringVar(&o.ClientSecret, "client-secret", "sim-secret", "the accepted OAuth2 client secret")
	fs.Float64Var(&o.RateLimit, "rate-limit", 0, "data requests per second per client (0: each vendor's documented limit, USM Anywhere 100, USM Central 50; negative: none)")
	fs.StringVar(&o.EventsEmbeddedKey, "events-embedded-key", "events", "_embedded key of USM Anywhere event lists: events or eventResources")
	fs.StringVar(&o.TrendCASToken, "trend-token", "sim-trend-token", "the accepted Trend Micro CAS bearer token")
	fs.IntVar(&o.TrendCASPerMinute, "trend-requests-per-minute", 10, "Trend Micro CAS requests per minute per token before 429s (negative: none)")
	fs.IntVar(&o.TrendCASPerDay, "trend-requests-per-day", 14400, "Trend Micro CAS requests per day per token before 429s (negative: none)")
	fs.DurationVar(&o.TrendCASHorizon, "trend-horizon", 72*time.Hour, "how far back a Trend Micro CAS window may begin, as the API documents (negative: no limit)")
	fs.BoolVar(&o.TrendCASShuffledPages, "trend-shuffle-pages", false, "serve the pages of a Trend Micro CAS window in no particular order (the order rides in next_link)")
	fs.Float64Var(&o.AlarmsClosedPerSecond, "alarms-closed-per-second", 0, "open USM Anywhere and USM Central alarms closed per second per stream, picked at random however old")
	fs.Float64Var(&o.FutureFraction, "future-fraction", 0, "share of new USM and Trend records whose device clock runs -future-skew ahead")
	fs.DurationVar(&o.FutureSkew, "future-skew", 24*time.Hour, "how far ahead a fast device clock runs")
	fs.BoolVar(&o.FutureInBacklog, "future-in-backlog", false, "apply -future-fraction to the backlog too")
	fs.Float64Var(&o.MissingIDFraction, "missing-id-fraction", 0, "share of USM and Trend records served without their id fields")
	fs.IntVar(&o.CentralTotalCap, "central-total-cap", 0, "answer USM Central totals as Elasticsearch, {value, relation}, capped here (0: a plain number; Elasticsearch's default: 10000)")
	fs.IntVar(&o.CentralResultWindow, "central-result-window", 0, "refuse USM Central searches whose page*size exceeds this with a 400 (0: none; Elasticsearch's default: 10000)")
	fs.Var((*latencies)(&o.Latency), "latency", "latency of data answers: 100ms for every source, or per source, e.g. usm_anywhere=100ms,usm_central=100ms (*= for the others)")
	fs.Var(&c.disconnect, "disconnect", "USM Central deployments disconnected at start, and for how long, e.g. acme=5m")
	f := &c.faults
	fs.Float64Var(&f.Rate429, "fault-429", 0, "probability of answering a data request 429")
	fs.IntVar(&f.RetryAfterSeconds, "retry-after", 1, "Retry-After seconds sent with injected 429s")
	fs.Float64Var(&f.Rate500, "fault-500", 0, "probability of answering a data request 500")
	fs.Float64Var(&f.TruncateBody, "fault-truncate", 0, "probability of cutting a 200 body in half")
	fs.Float64Var(&f.ResetRate, "fault-reset", 0, "probability of dropping a data request's connection unanswered")
	fs.Float64Var(&f.StallRate, "fault-stall", 0, "probability of holding a data response back for -stall-for")
	fs.DurationVar(&f.StallFor, "stall-for", time.Minute, "how long a stalled response is held back")
	fs.Float64Var(&f.CiscoRepeatCursor, "fault-cisco-repeat-cursor", 0, "probability of a Cisco page after a cursor answering nothing but that same cursor, hasNextPage true")
	fs.DurationVar(&f.RevokeEvery, "revoke-every", 0, "revoke all tokens this often (0: never)")
	fs.DurationVar(&f.Delay, "delay", 0, "delay added to every data response")
	fs.StringVar(&f.ForeignNextHost, "foreign-next-host", "", "host:port next-page links point to instead of ours")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return c, errors.Join(c.options.Validate(), c.faults.Validate())
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	sim := simulator.New(c.options)
	defer sim.Close()
	sim.SetFaults(c.faults)
	for name, d := range c.disconnect {
		if err := sim.DisconnectDeployment(name, d); err != nil {
			return fmt.Errorf("-disconnect: %w", err)
		}
	}
	url, err := sim.Start(c.addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "apisim listening on "+url)
	<-ctx.Done()
	return nil
}
