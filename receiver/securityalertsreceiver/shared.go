package securityalertsreceiver

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/receiver"
)

// receivers holds one receiver per configuration, shared by its logs and metrics pipelines: both
// pipelines must see the same polls, or every API would be polled twice. (The collector's own
// sharedcomponent package is internal to its module.)
var receivers = &registry{byConfig: map[*Config]*shared{}}

type registry struct {
	mu       sync.Mutex
	byConfig map[*Config]*shared
}

// shared starts its receiver on the first Start and stops it on the first Shutdown, as the
// collector starts and stops each pipeline's component in turn.
type shared struct {
	*securityReceiver
	registry *registry
	config   *Config
	start    sync.Once
	stop     sync.Once
	startErr error
}

func (g *registry) getOrCreate(cfg *Config, set receiver.Settings) *shared {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.byConfig[cfg]; ok {
		return s
	}
	s := &shared{securityReceiver: newReceiver(cfg, set), registry: g, config: cfg}
	g.byConfig[cfg] = s
	return s
}

func (s *shared) Start(ctx context.Context, host component.Host) error {
	s.start.Do(func() { s.startErr = s.securityReceiver.Start(ctx, host) })
	if s.startErr == nil {
		// Each pipeline's instance has a status of its own: report to every one.
		s.health.addHost(host)
	}
	return s.startErr
}

func (s *shared) Shutdown(ctx context.Context) error {
	var err error
	s.stop.Do(func() {
		err = s.securityReceiver.Shutdown(ctx)
		s.registry.mu.Lock()
		delete(s.registry.byConfig, s.config)
		s.registry.mu.Unlock()
	})
	return err
}
