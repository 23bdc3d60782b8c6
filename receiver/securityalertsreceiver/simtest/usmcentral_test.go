package simtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

func TestUSMCentralAgainstSimulator(t *testing.T) {
	sim := simulator.New(simulator.Options{Seed: 9, Backlog: 120, Lookback: time.Hour})
	t.Cleanup(sim.Close)
	base, err := sim.Start("127.0.0.1:0")
	require.NoError(t, err)
	sim.SetFaults(simulator.Faults{Rate429: 0.1, Rate500: 0.1, TruncateBody: 0.1})

	cfg := config(t, map[string]any{"usm_central": map[string]any{
		"endpoint": base, "client_id": simClientID, "client_secret": simClientSecret,
		"events": map[string]any{"enabled": true}, "page_size": 25,
	}})
	cfg.RetryOnFailure.MaxElapsedTime = 0 // retry until it works: the faults are random
	logs := &consumertest.LogsSink{}
	stop := run(t, cfg, componenttest.NewNopHost(), logs, nil)
	want := len(sim.IDs("usm_central", "alarm")) + len(sim.IDs("usm_central", "event"))
	require.Eventually(t, func() bool { return logs.LogRecordCount() >= want }, 20*time.Second, 20*time.Millisecond)
	stop()

	got := map[string][]string{}
	tenants := map[string]bool{}
	for _, ld := range logs.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			tenant, _ := rl.Resource().Attributes().Get("securityalerts.tenant")
			lrs := rl.ScopeLogs().At(0).LogRecords()
			for j := 0; j < lrs.Len(); j++ {
				attrs := lrs.At(j).Attributes().AsRaw()
				kind, id := attrs["securityalerts.kind"].(string), attrs["securityalerts.id"].(string)
				got[kind] = append(got[kind], id)
				tenants[tenant.Str()+" "+attrs["securityalerts.tenant.name"].(string)] = true
			}
		}
	}
	for _, kind := range []string{"alarm", "event"} {
		assert.ElementsMatch(t, sim.IDs("usm_central", kind), got[kind], "%s: every record once", kind)
	}
	assert.Equal(t, map[string]bool{"acme.alienvault.cloud ACME Corp": true, "globex.alienvault.cloud Globex Corporation": true}, tenants)
	assert.Positive(t, sim.Stats().Faults["rate_500"])
}
