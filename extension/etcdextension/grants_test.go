package etcdextension

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/extension/etcdextension/etcdtest"
)

// Replicas reserving at once never take more than the limit between them; what is given back
// can be taken again; the group's count is what they hold.
func TestGrantsNeverExceedTheLimitForTheGroup(t *testing.T) {
	server := etcdtest.Start(t)
	ctx := context.Background()
	const budget, limit, window = "trend_cas/token", 50, 24 * time.Hour
	var mu sync.Mutex
	taken := map[string]int{}
	var wg sync.WaitGroup
	replicas := map[string]*etcdExtension{}
	for _, name := range []string{"a", "b", "c"} {
		e := startReplica(t, server.Endpoint, name, 2*time.Second)
		replicas[name] = e
		for range 2 { // two reservers per replica, as two receivers with one token would be
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n, spendBy, err := e.ReserveGrants(ctx, budget, limit, window, 3)
					if !assert.NoError(t, err) || n == 0 {
						return
					}
					assert.WithinDuration(t, time.Now().Add(2*bucketLength(window)), spendBy, 2*bucketLength(window))
					mu.Lock()
					taken[name] += n
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	total := 0
	for _, n := range taken {
		total += n
	}
	assert.Equal(t, limit, total, "reserved by replica: %v", taken)
	used, err := replicas["a"].GrantsUsed(ctx, budget)
	require.NoError(t, err)
	assert.Equal(t, limit, used)

	give := min(taken["b"], 4)
	require.NoError(t, replicas["b"].ReturnGrants(ctx, budget, give))
	used, err = replicas["c"].GrantsUsed(ctx, budget)
	require.NoError(t, err)
	assert.Equal(t, limit-give, used)
	n, _, err := replicas["c"].ReserveGrants(ctx, budget, limit, window, 10)
	require.NoError(t, err)
	assert.Equal(t, give, n, "what was given back is taken again, and no more")
}

// Grants leave the count once the window has passed them, by etcd's clock, even after the
// replica that reserved them is gone.
func TestGrantsExpireWithTheirWindow(t *testing.T) {
	server := etcdtest.Start(t)
	ctx := context.Background()
	const budget, limit, window = "trend_cas/token", 10, 2 * time.Second
	a := startReplica(t, server.Endpoint, "a", 2*time.Second)
	n, _, err := a.ReserveGrants(ctx, budget, limit, window, 10)
	require.NoError(t, err)
	require.Equal(t, 10, n)
	n, _, err = a.ReserveGrants(ctx, budget, limit, window, 1)
	require.NoError(t, err)
	require.Zero(t, n, "the window is full")
	require.NoError(t, a.Shutdown(ctx))

	b := startReplica(t, server.Endpoint, "b", 2*time.Second)
	used, err := b.GrantsUsed(ctx, budget)
	require.NoError(t, err)
	assert.Equal(t, 10, used, "a's grants outlive a")
	// The lease is window + two bucket lengths: 4 s; etcd expires leases within 500 ms after.
	waitFor(t, 10*time.Second, "a's grants expire", func() bool {
		used, err := b.GrantsUsed(ctx, budget)
		return err == nil && used == 0
	})
}
