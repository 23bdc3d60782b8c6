package securityalertsreceiver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// securityReceiver owns the engine for one configuration and feeds both pipelines.
type securityReceiver struct {
	cfg *Config
	set receiver.Settings

	logs    consumer.Logs
	metrics consumer.Metrics

	obsrecv   *receiverhelper.ObsReport
	telemetry *telemetry
	engine    *engine.Engine
	storage   storage.Client
	// withdraw ends this receiver's candidacies with a per-stream leader elector, and its part
	// in shared budgets.
	withdraw []func()
	// probes read the gauges of the sources whose API can tell (open alerts, deployments, quota).
	probes []probe
	// leading, with a leader elector, tells which streams and probes this replica leads now.
	leading *ownership
	// sharing and ledger, found on a per-key leader elector, share each credential's requests
	// among the replicas (nil: this collector keeps every budget whole); budgets are the shared
	// ones, each joined in Start and left in Shutdown (through withdraw).
	sharing budgetSharer
	ledger  grantLedger
	budgets []*requestBudget
	// health reports the component status from every poll's outcome; firstPoll logs the
	// first-run table of each source's first result.
	health    *health
	firstPoll *firstPoll
	// quotas reads the requests left of the sources whose API has a quota, for firstPoll.
	quotas map[string]quotaLeft

	stopMetrics context.CancelFunc
	metricsDone sync.WaitGroup
}

func newReceiver(cfg *Config, set receiver.Settings) *securityReceiver {
	return &securityReceiver{cfg: cfg, set: set, telemetry: newTelemetry(), quotas: map[string]quotaLeft{}}
}

func (r *securityReceiver) setLogs(next consumer.Logs)       { r.logs = next }
func (r *securityReceiver) setMetrics(next consumer.Metrics) { r.metrics = next }

// Start builds the clients and launches the poll loops. It makes no network call: the first
// request (and token) happens in the loops, so a collector starts even while an API is down.
func (r *securityReceiver) Start(ctx context.Context, host component.Host) error {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: r.set.ID, Transport: "http", ReceiverCreateSettings: r.set,
	})
	if err != nil {
		return err
	}
	r.obsrecv = obsrecv
	if r.telemetry.durations, err = metadata.NewTelemetryBuilder(r.set.TelemetrySettings); err != nil {
		return err
	}

	elector, err := r.leaderElector(host)
	if err != nil {
		return err
	}
	r.shareBudgetsWith(elector)
	store, err := r.checkpointStore(ctx, host)
	if err != nil {
		return err
	}
	streams, err := r.buildSources(ctx, host)
	if err != nil {
		return errors.Join(err, r.closeStorage(ctx))
	}
	gate := r.leaderGate(elector, streams)
	if r.sharing != nil {
		r.shareBudgets()
	}
	if gate != nil && r.cfg.Storage == nil {
		r.set.Logger.Warn("leader_elector without a shared storage extension: a replica taking a stream over starts it again at initial_lookback")
	}
	r.health = newHealth(streams, r.polls)
	r.firstPoll = newFirstPoll(r.set.Logger, streams, r.quotas)
	r.engine = engine.New(engine.Settings{
		PollInterval:    r.cfg.PollInterval,
		InitialLookback: r.cfg.InitialLookback,
		Overlap:         r.cfg.Overlap,
		MaxClockSkew:    r.cfg.MaxClockSkew,
		MaxSeen:         r.cfg.MaxSeenIDs,
		Retry:           r.cfg.RetryOnFailure,
		Logger:          r.set.Logger,
		Gate:            gate,
		Polled:          r.polled,
	}, store, r, streams)
	r.health.start()
	r.firstPoll.start()
	r.engine.Start()
	r.set.Logger.Info("Polling started", zap.Int("streams", len(streams)), zap.Duration("poll_interval", r.cfg.PollInterval))

	if r.metrics != nil {
		mctx, cancel := context.WithCancel(context.Background())
		r.stopMetrics = cancel
		r.metricsDone.Add(1)
		go func() {
			defer r.metricsDone.Done()
			r.emitMetricsEvery(mctx, r.cfg.PollInterval)
		}()
	}
	return nil
}

func (r *securityReceiver) checkpointStore(ctx context.Context, host component.Host) (engine.Store, error) {
	if r.cfg.Storage == nil {
		r.set.Logger.Info("No storage extension configured: checkpoints are kept in memory and a restart begins again at initial_lookback")
		return engine.NewMemoryStore(), nil
	}
	ext, ok := host.GetExtensions()[*r.cfg.Storage]
	if !ok {
		return nil, fmt.Errorf("storage: extension %q not found (is it listed under service.extensions?)", r.cfg.Storage)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not a storage extension", r.cfg.Storage)
	}
	if limited, ok := ext.(valueLimited); ok {
		if need, most := engine.MaxCheckpointBytes(r.cfg.MaxSeenIDs), limited.MaxValueBytes(); need > most {
			return nil, fmt.Errorf("max_seen_ids: %d ids make checkpoints of up to %d bytes, more than storage %q takes (%d bytes a value): lower it",
				r.cfg.MaxSeenIDs, need, r.cfg.Storage, most)
		}
	}
	client, err := se.GetClient(ctx, component.KindReceiver, r.set.ID, "")
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	r.storage = client
	return &persister{client: client}, nil
}

// Shutdown stops the loops (abandoning any page in flight without advancing its checkpoint)
// and closes the storage client, within ctx's deadline.
func (r *securityReceiver) Shutdown(ctx context.Context) error {
	var errs []error
	if r.engine != nil {
		errs = append(errs, r.engine.Shutdown(ctx))
		r.health.stopAndWait()
		r.firstPoll.stop()
	}
	// Only now that nothing polls: another replica may take the streams over at once.
	for _, withdraw := range r.withdraw {
		withdraw()
	}
	r.withdraw = nil
	if r.stopMetrics != nil {
		r.stopMetrics()
		r.metricsDone.Wait()
	}
	if r.telemetry.durations != nil {
		r.telemetry.durations.Shutdown()
	}
	return errors.Join(append(errs, r.closeStorage(ctx))...)
}

func (r *securityReceiver) closeStorage(ctx context.Context) error {
	if r.storage == nil {
		return nil
	}
	err := r.storage.Close(ctx)
	r.storage = nil
	return err
}

// Deliver is the engine's sink: records become one plog.Logs for the logs pipeline, and are
// counted for the metrics once it accepted them. It converts afresh on every call because a
// consumer may mutate a batch it then refuses.
func (r *securityReceiver) Deliver(ctx context.Context, s engine.Stream, records []record.Record) error {
	if r.logs != nil {
		logs := toLogs(s.Source(), records, r.cfg.ResourceAttributes, r.cfg.BodyFormat, time.Now())
		ctx = r.obsrecv.StartLogsOp(ctx)
		err := r.logs.ConsumeLogs(ctx, logs)
		r.obsrecv.EndLogsOp(ctx, "json", len(records), err)
		if err != nil {
			return err
		}
	}
	r.telemetry.delivered(s.Source(), records)
	r.firstPoll.delivered(s, len(records))
	return nil
}

// polled is the engine's Polled hook: told every poll's outcome, it must not block.
func (r *securityReceiver) polled(s engine.Stream, err error) {
	r.health.polled(s, err)
	r.firstPoll.polled(s, err)
}

// polls tells whether this replica polls stream (or reads probe key) now: always without a
// leader elector.
func (r *securityReceiver) polls(stream string) bool {
	return r.leading == nil || r.leading.owns(stream)
}

// Dropped counts records that will not be emitted.
func (r *securityReceiver) Dropped(s engine.Stream, reason engine.DropReason, n int) {
	r.telemetry.dropped(s.Source(), reason, n)
}

// FutureDated counts records dated beyond now + max_clock_skew.
func (r *securityReceiver) FutureDated(s engine.Stream, n int) { r.telemetry.futureDated(s, n) }

// Skipped counts spans of a stream that could not be read.
func (r *securityReceiver) Skipped(s engine.Stream, span engine.Span, reason engine.SkipReason) {
	r.telemetry.skippedSpan(s, span, reason)
}
