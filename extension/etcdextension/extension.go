package etcdextension

import (
	"context"
	"errors"
	"os"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// LeaderKey is the key of SetCallBackFuncs: the one lease a whole replica leads with.
const LeaderKey = "leader"

// KeyedLeaderElection elects a leader per key, so that keys spread over the live replicas. The
// callbacks have k8s_leader_elector's shape: onStartLeading gets a context that ends when the
// term does, and the key is handed over only once onStopLeading has returned, so it must return
// only once nothing runs under that context any more. Writes to this extension's storage made
// under that context are fenced: they fail with ErrFenced once the term is over.
type KeyedLeaderElection interface {
	extension.Extension
	SetCallBackFuncsForKey(key string, onStartLeading func(context.Context), onStopLeading func()) (withdraw func())
}

// LeaderElection is k8s_leader_elector's interface: one lease for everything that registers.
type LeaderElection interface {
	extension.Extension
	SetCallBackFuncs(onStartLeading func(context.Context), onStopLeading func())
}

var (
	_ storage.Extension   = (*etcdExtension)(nil)
	_ KeyedLeaderElection = (*etcdExtension)(nil)
	_ LeaderElection      = (*etcdExtension)(nil)
)

type etcdExtension struct {
	cfg     *Config
	log     *zap.Logger
	elector *elector
	budgets *budgets
	grants  *grants

	client *clientv3.Client
	cancel context.CancelFunc
	done   chan struct{}
	// dialOptions are added to the etcd client's gRPC options: tests inject faults on the wire.
	dialOptions []grpc.DialOption
}

func newExtension(cfg *Config, set extension.Settings) *etcdExtension {
	budgets := newBudgets(cfg.KeyPrefix+"budget/", cfg.RequestTimeout, set.Logger)
	return &etcdExtension{
		cfg:     cfg,
		log:     set.Logger,
		budgets: budgets,
		grants:  newGrants(cfg.KeyPrefix+"budget/", cfg.RequestTimeout),
		elector: newElector(cfg.KeyPrefix+"election/", replicaName(set), cfg.SessionTTL, cfg.RequestTimeout, budgets, set.Logger),
	}
}

// replicaName is the collector's service.instance.id (unique per process unless configured),
// else the host and process id.
func replicaName(set extension.Settings) string {
	if v, ok := set.Resource.Attributes().Get("service.instance.id"); ok && v.Str() != "" {
		return v.Str()
	}
	host, _ := os.Hostname()
	return host + "/" + strconv.Itoa(os.Getpid())
}

// Start connects (without waiting for etcd to answer, unless authentication needs it) and
// begins standing for the registered keys in the background.
func (e *etcdExtension) Start(ctx context.Context, _ component.Host) error {
	if plain := e.cfg.plaintextEndpoints(); len(plain) > 0 {
		e.log.Warn("etcd is reached without TLS: checkpoints, ownership (and the password, if any) cross the network unencrypted; see docs/scaling.md for a TLS configuration",
			zap.Strings("endpoints", plain))
	}
	tlsCfg, err := e.cfg.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return err
	}
	e.client, err = clientv3.New(clientv3.Config{
		Endpoints:   e.cfg.Endpoints,
		DialTimeout: e.cfg.DialTimeout,
		TLS:         tlsCfg,
		Username:    e.cfg.Username,
		Password:    string(e.cfg.Password),
		DialOptions: e.dialOptions,
		// The client warns of every cancelled request, and campaigns are cancelled on every
		// hand-over: the extension logs what matters itself.
		Logger: e.log.Named("etcd-client").WithOptions(zap.IncreaseLevel(zap.ErrorLevel)),
	})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func() {
		defer close(e.done)
		e.elector.run(runCtx, e.client)
	}()
	return nil
}

// Shutdown ends every term (resigning, so that other replicas take over at once) and closes
// the connection. If etcd does not answer, the connection is closed after request_timeout to
// cut the wait short; the lease then expires on its own.
func (e *etcdExtension) Shutdown(context.Context) error {
	if e.client == nil {
		return nil
	}
	e.cancel()
	select {
	case <-e.done:
	case <-time.After(e.cfg.RequestTimeout):
	}
	err := e.client.Close()
	<-e.done
	e.client = nil
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// etcdRequestLimit is etcd's default --max-request-bytes: a write of a larger value is refused.
// A checkpoint's write carries its key and the fence of the stream's term besides.
const (
	etcdRequestLimit = 1536 << 10
	requestOverhead  = 4 << 10
)

// MaxValueBytes is the largest value a write can carry, so that the receiver refuses at start a
// max_seen_ids whose checkpoints could not be stored.
func (e *etcdExtension) MaxValueBytes() int { return etcdRequestLimit - requestOverhead }

// GetClient returns a storage client for the component's keys, shared by every replica that
// runs the same component id.
func (e *etcdExtension) GetClient(_ context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	if e.client == nil {
		return nil, errNoClient
	}
	return &storageClient{
		kv:      e.client,
		prefix:  storagePrefix(e.cfg.KeyPrefix, kind.String(), id.String(), name),
		timeout: e.cfg.RequestTimeout,
	}, nil
}

func (e *etcdExtension) SetCallBackFuncsForKey(key string, onStartLeading func(context.Context), onStopLeading func()) func() {
	return e.elector.register(key, onStartLeading, onStopLeading)
}

func (e *etcdExtension) SetCallBackFuncs(onStartLeading func(context.Context), onStopLeading func()) {
	e.elector.register(LeaderKey, onStartLeading, onStopLeading)
}

// ShareBudget takes part in budget, until withdraw is called: at most limit requests per window
// for all replicas together, shared in proportion to how many of keys (keys registered with
// SetCallBackFuncsForKey) each replica leads. apply is told this replica's share, in requests
// per window, whenever it changes: 0 at first and whenever the session is lost, and it must
// send at most that many in any window from the moment it is told. docs/scaling.md explains
// how the shares move without the group ever exceeding the limit.
func (e *etcdExtension) ShareBudget(budget string, limit float64, window time.Duration, keys []string, apply func(share float64)) (withdraw func()) {
	return e.budgets.register(budget, limit, window, keys, apply)
}

// ReserveGrants takes up to n of budget's grants for this replica, within limit per window (a
// rolling one, such as Trend's day) for all replicas together, and says by when they must be
// sent. While the window is full it takes none: try again later.
func (e *etcdExtension) ReserveGrants(ctx context.Context, budget string, limit int, window time.Duration, n int) (int, time.Time, error) {
	return e.grants.reserve(ctx, e.client, budget, limit, window, n)
}

// ReturnGrants gives back n grants this replica reserved and will not send.
func (e *etcdExtension) ReturnGrants(ctx context.Context, budget string, n int) error {
	return e.grants.giveBack(ctx, e.client, budget, n)
}

// GrantsUsed is how many of budget's grants all replicas together hold within its window.
func (e *etcdExtension) GrantsUsed(ctx context.Context, budget string) (int, error) {
	return e.grants.used(ctx, e.client, budget)
}
