package securityalertsreceiver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
)

// firstPollPatience is how long the first-poll table waits for every source's first result.
// A source still without one is shown as pending (its requests are being retried, or another
// replica polls it), and its row is logged on its own when the result comes.
const firstPollPatience = time.Minute

// firstPoll is the first-run check: it logs once, as a short table, whether each configured
// source's credentials were accepted, whether its first page was read (and how many records it
// held), the quota left where the API has one, and otherwise the vendor's error. It is read from
// the collector's own log, so it works in any distribution that includes the receiver, under
// systemd, in a container and in Kubernetes alike.
type firstPoll struct {
	log *zap.Logger
	// quotas reads the requests left of the sources whose API has a quota.
	quotas map[string]quotaLeft

	mu      sync.Mutex
	sources []string
	results map[string]*firstResult // by source
	logged  bool                    // the table is out; later results go out one by one
	timer   *time.Timer
}

// firstResult is a source's first result: a page delivered, a poll that read to the end, or the
// error a poll ended with.
type firstResult struct {
	stream  string
	records int
	err     error
}

// quotaLeft reads how many requests a source's quota still allows today (for the group of
// replicas, when they share it).
type quotaLeft func(ctx context.Context) (int64, error)

func newFirstPoll(log *zap.Logger, streams []engine.Stream, quotas map[string]quotaLeft) *firstPoll {
	f := &firstPoll{log: log, quotas: quotas, results: map[string]*firstResult{}}
	for _, s := range streams {
		if !slices.Contains(f.sources, s.Source()) {
			f.sources = append(f.sources, s.Source())
		}
	}
	slices.Sort(f.sources)
	return f
}

// start logs the table after firstPollPatience at the latest; stop cancels that.
func (f *firstPoll) start() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timer = time.AfterFunc(firstPollPatience, f.logTable)
}

func (f *firstPoll) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer != nil {
		f.timer.Stop()
	}
}

// delivered is told of a page the pipeline accepted: the source's credentials work.
func (f *firstPoll) delivered(s engine.Stream, records int) {
	f.record(s, &firstResult{stream: s.Name(), records: records})
}

// polled is told of every poll's outcome.
func (f *firstPoll) polled(s engine.Stream, err error) {
	f.record(s, &firstResult{stream: s.Name(), err: err})
}

func (f *firstPoll) record(s engine.Stream, r *firstResult) {
	f.mu.Lock()
	prev, seen := f.results[s.Source()]
	switch {
	case !seen:
	case f.logged || prev.err != nil || r.err == nil:
		// Only an error seen before the table goes out replaces a success: of a source half
		// of whose streams work, the table must show what does not.
		f.mu.Unlock()
		return
	}
	f.results[s.Source()] = r
	if f.logged {
		f.mu.Unlock()
		f.write([]string{s.Source()}, map[string]*firstResult{s.Source(): r})
		return
	}
	complete := len(f.results) == len(f.sources)
	f.mu.Unlock()
	if complete {
		f.logTable()
	}
}

// logTable logs the table once.
func (f *firstPoll) logTable() {
	f.mu.Lock()
	if f.logged {
		f.mu.Unlock()
		return
	}
	f.logged = true
	results := maps.Clone(f.results)
	f.mu.Unlock()
	f.write(f.sources, results)
}

// write logs the rows of sources: at info level when every one of them works, as a warning
// otherwise.
func (f *firstPoll) write(sources []string, results map[string]*firstResult) {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(w, "SOURCE\tCREDENTIALS\tFIRST PAGE\tQUOTA LEFT\tERROR")
	allWell := true
	for _, source := range sources {
		r := results[source]
		allWell = allWell && r != nil && r.err == nil
		_, _ = fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", source, r.credentials(), r.firstPage(), f.quotaLeft(source), r.errorText())
	}
	_ = w.Flush()
	table := strings.TrimRight(b.String(), "\n")
	if allWell {
		f.log.Info("First poll of each source:\n" + table)
	} else {
		f.log.Warn("First poll of each source (not every one works yet):\n" + table)
	}
}

func (f *firstPoll) quotaLeft(source string) string {
	if left, ok := f.quotas[source]; ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := left(ctx)
		if err != nil {
			return "unknown: " + err.Error()
		}
		return fmt.Sprintf("%d requests today", n)
	}
	return "-"
}

func (r *firstResult) credentials() string {
	var token *apiclient.TokenError
	switch {
	case r == nil:
		return "pending"
	case r.err == nil:
		return "accepted"
	case credentialsRefused(r.err):
		return "refused"
	case errors.As(r.err, &token):
		return "no token"
	default:
		return "not checked"
	}
}

func (r *firstResult) firstPage() string {
	switch {
	case r == nil:
		return "pending"
	case r.err != nil:
		return "not read"
	default:
		return fmt.Sprintf("read (%s): %d records", r.stream, r.records)
	}
}

func (r *firstResult) errorText() string {
	if r == nil || r.err == nil {
		return "-"
	}
	return r.stream + ": " + r.err.Error()
}
