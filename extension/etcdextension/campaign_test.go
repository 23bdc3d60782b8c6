package etcdextension

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/securityalerts/securityalerts/extension/etcdextension/etcdtest"
)

// campaignFault fails, as a lost connection would, every transaction that writes a place in an
// election queue (Election.Campaign's first step) until healed; everything else goes through.
type campaignFault struct {
	healed atomic.Bool
	failed atomic.Int32
}

func (f *campaignFault) dialOption() grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if txn, ok := req.(*etcdserverpb.TxnRequest); ok && writesElectionQueue(txn) && !f.healed.Load() {
			f.failed.Add(1)
			return status.Error(codes.Unavailable, "injected: the campaign's write was lost")
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	})
}

func writesElectionQueue(txn *etcdserverpb.TxnRequest) bool {
	for _, op := range txn.Success {
		if put := op.GetRequestPut(); put != nil && strings.Contains(string(put.Key), "/election/lead/") {
			return true
		}
	}
	return false
}

// A campaign whose write failed is tried again on its own: a lone replica sees no event that
// would make it campaign again, and the stream would stay unowned.
func TestFailedCampaignIsRetried(t *testing.T) {
	server := etcdtest.Start(t)
	var fault campaignFault
	l := newLedger()
	const key = "securityalerts/usm_anywhere/alarms"
	l.register(startReplica(t, server.Endpoint, "a", 2*time.Second, fault.dialOption()), "a", key)
	waitFor(t, 10*time.Second, "a campaign's write failed", func() bool { return fault.failed.Load() > 0 })
	// Heal once the events of the start (candidacy, registration) have all been handled, each of
	// which may have caused a campaign: from then on, only a retry of the replica's own makes one.
	time.Sleep(500 * time.Millisecond)
	fault.healed.Store(true)
	healedAt := time.Now()
	// The retry comes a second after a failure; the rest is slack for a loaded machine.
	waitFor(t, 5*time.Second, "a leads after its failed campaign", func() bool { return l.spread([]string{key})["a"] == 1 })
	t.Logf("%d campaign writes failed; led %s after the fault healed", fault.failed.Load(), time.Since(healedAt).Round(time.Millisecond))
	l.checkNoViolations(t)
}
