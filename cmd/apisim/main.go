// Command apisim serves the simulated security vendor APIs (see internal/simulator) until it
// gets SIGINT or SIGTERM. It listens on loopback unless told otherwise, and prints its base URL
// on one line: "apisim listening on http://127.0.0.1:18080".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

func main() {
	err := run(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return // the usage is printed already
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "apisim:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("apisim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18080", "address to listen on")
	var o simulator.Options
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
	var f simulator.Faults
	fs.Float64Var(&f.Rate429, "fault-429", 0, "probability of answering a data request 429")
	fs.IntVar(&f.RetryAfterSeconds, "retry-after", 1, "Retry-After seconds sent with injected 429s")
	fs.Float64Var(&f.Rate500, "fault-500", 0, "probability of answering a data request 500")
	fs.Float64Var(&f.TruncateBody, "fault-truncate", 0, "probability of cutting a 200 body in half")
	fs.Float64Var(&f.ResetRate, "fault-reset", 0, "probability of dropping a data request's connection unanswered")
	fs.Float64Var(&f.StallRate, "fault-stall", 0, "probability of holding a data response back for -stall-for")
	fs.DurationVar(&f.StallFor, "stall-for", time.Minute, "how long a stalled response is held back")
	fs.DurationVar(&f.RevokeEvery, "revoke-every", 0, "revoke all tokens this often (0: never)")
	fs.DurationVar(&f.Delay, "delay", 0, "delay added to every data response")
	fs.StringVar(&f.ForeignNextHost, "foreign-next-host", "", "host:port next-page links point to instead of ours")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if err := f.Validate(); err != nil {
		return err
	}

	sim := simulator.New(o)
	defer sim.Close()
	sim.SetFaults(f)
	url, err := sim.Start(*addr)
	if err != nil {
		return err
	}
	fmt.Println("apisim listening on " + url)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
