package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

func TestCheckpointRoundTrips(t *testing.T) {
	cp := &Checkpoint{
		Watermark: t0, Cursor: "c", Verified: t0.Add(-time.Minute),
		Backfills: []Backfill{{Scope: "cn://acme", From: t0.Add(-time.Hour), To: t0}},
	}
	cp.remember([]record.Record{rec("a", t0), rec("b", t0.Add(-time.Second)), modified("c", t0, t0.Add(time.Minute))})
	cp.seen.markGone(t0.Add(-time.Second), t0.Add(-time.Second), map[uint64]bool{})

	got, err := DecodeCheckpoint(cp.Encode())
	require.NoError(t, err)
	assert.True(t, t0.Equal(got.Watermark))
	assert.True(t, t0.Add(-time.Minute).Equal(got.Verified))
	assert.Equal(t, "c", got.Cursor)
	require.Len(t, got.Backfills, 1)
	assert.Equal(t, "cn://acme", got.Backfills[0].Scope)
	assert.Equal(t, cp.seen.entries, got.seen.entries, "hashes, times and gone marks kept")
	assert.Equal(t, cp.Encode(), got.Encode(), "the encoding is canonical")
}

// Release 0.1.0 stored JSON with the ids in clear; it is read, its ids hashed.
func TestFormatOneIsConverted(t *testing.T) {
	got, err := DecodeCheckpoint([]byte(`{"watermark":"2025-03-01T12:00:00Z","cursor":"973","seen":{"a":1740830400000,"b@2025-03-01T12:01:00Z":1740830460000}}`))
	require.NoError(t, err)
	assert.True(t, t0.Equal(got.Watermark))
	assert.Equal(t, "973", got.Cursor)
	assert.True(t, got.Has(rec("a", t0)))
	assert.True(t, got.Has(modified("b", t0, t0.Add(time.Minute))))
	assert.Equal(t, 2, got.SeenCount())
}

func TestCorruptCheckpointsAreRefused(t *testing.T) {
	good := (&Checkpoint{Watermark: t0}).Encode()
	for name, data := range map[string][]byte{
		"garbage":        []byte("not a checkpoint"),
		"bad json":       []byte(`{"watermark": "not a time"`),
		"truncated":      good[:len(good)-3],
		"trailing bytes": append(append([]byte(nil), good...), 1),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeCheckpoint(data)
			assert.Error(t, err)
		})
	}
}

// The default 100,000 ids must fit etcd's 1.5 MiB request, by the bound and in fact, with times
// spread over a week (larger deltas than a real overlap window holds).
func TestHundredThousandIDsFitEtcd(t *testing.T) {
	const n, etcdLimit = 100_000, 1536 << 10
	bound := MaxCheckpointBytes(n)
	assert.Less(t, bound, etcdLimit-4096)
	cp := &Checkpoint{Watermark: t0}
	for i := range n {
		cp.remember([]record.Record{rec(fmt.Sprintf("%08x-5c2e-4d1b-9f3a-%012x", i, i), t0.Add(-time.Duration(i)*6*time.Second))})
	}
	size := len(cp.Encode())
	assert.LessOrEqual(t, size, bound)
	t.Logf("100,000 ids: %d bytes encoded (bound %d, etcd's limit %d)", size, bound, etcdLimit)
}
