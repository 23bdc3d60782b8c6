package etcdextension

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// grants counts the grants of a quota over a rolling window (Trend's 14,400 requests a day) for
// every replica together. A replica reserves grants before it sends: under its prefix etcd holds
//
//	<budget>/grants/<process>-<n>  the number of grants this process reserved in its bucket n
//
// each key on a lease of its own that outlives the window. A reservation is a transaction that
// fails if any bucket of the budget changed since the sum it checked was read, so the live
// buckets never add up to more than the limit; etcd expires a bucket once all its grants have
// left the window, and so the day's count is the group's, with no clock but etcd's. A process
// opens a bucket every window/288 (five minutes of a day) and reserves in it for that long; its
// grants must be sent within two bucket lengths of its opening (ReserveGrants says by when),
// which the lease covers: a grant is counted for a whole window after it is sent, and for at
// most ten minutes more. Unused grants are given back. One write per reservation, of as many
// grants as the replica expects to send soon; one lease per bucket.
type grants struct {
	prefix  string
	process string
	timeout time.Duration

	mu    sync.Mutex
	books map[string]*book
}

// book is one budget's buckets of this process.
type book struct {
	mu      sync.Mutex
	seq     int
	buckets []*bucket // newest last; the newest takes reservations while it is young enough
}

type bucket struct {
	key    string
	lease  clientv3.LeaseID
	count  int       // what etcd holds for the key
	opened time.Time // when its lease was asked for: etcd expires it no sooner than opened+TTL
}

func newGrants(prefix string, timeout time.Duration) *grants {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	return &grants{prefix: prefix, process: hex.EncodeToString(id), timeout: timeout, books: map[string]*book{}}
}

func (l *grants) book(budget string) *book {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.books[budget]
	if b == nil {
		b = &book{}
		l.books[budget] = b
	}
	return b
}

func (l *grants) grantsPrefix(budget string) string { return l.prefix + escape(budget) + "/grants/" }

// bucketLength is how long a bucket takes reservations; its grants are sent within two.
func bucketLength(window time.Duration) time.Duration { return max(window/288, time.Second) }

var errNoClient = errors.New("etcd extension not started")

// reserve takes up to n grants of budget for this process, within limit per window for the
// group, and says by when they must be sent. It takes none while the window is full.
func (l *grants) reserve(ctx context.Context, client *clientv3.Client, budget string, limit int, window time.Duration, n int) (int, time.Time, error) {
	if client == nil {
		return 0, time.Time{}, errNoClient
	}
	bk := l.book(budget)
	bk.mu.Lock()
	defer bk.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	prefix := l.grantsPrefix(budget)
	for {
		used, rev, err := l.count(ctx, client, prefix)
		if err != nil {
			return 0, time.Time{}, err
		}
		take := min(n, limit-used)
		if take <= 0 {
			return 0, time.Time{}, nil
		}
		b, err := l.open(ctx, client, bk, budget, window)
		if err != nil {
			return 0, time.Time{}, err
		}
		unchanged := clientv3.Compare(clientv3.ModRevision(prefix), "<", rev+1).WithPrefix()
		resp, err := client.Txn(ctx).If(unchanged).Then(clientv3.OpPut(b.key, strconv.Itoa(b.count+take), clientv3.WithLease(b.lease))).Commit()
		if err != nil {
			return 0, time.Time{}, fmt.Errorf("reserving grants: %w", err)
		}
		if resp.Succeeded {
			b.count += take
			return take, b.opened.Add(2 * bucketLength(window)), nil
		}
		// Another reservation came first: count again (the context bounds the attempts).
	}
}

// open returns the bucket taking reservations now, opening one if the last is too old.
func (l *grants) open(ctx context.Context, client *clientv3.Client, bk *book, budget string, window time.Duration) (*bucket, error) {
	length := bucketLength(window)
	if n := len(bk.buckets); n > 0 && time.Since(bk.buckets[n-1].opened) < length {
		return bk.buckets[n-1], nil
	}
	opened := time.Now()
	ttl := int64((window + 2*length + time.Second - 1) / time.Second)
	grant, err := client.Grant(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("granting a lease for a bucket of grants: %w", err)
	}
	bk.seq++
	b := &bucket{key: fmt.Sprintf("%s%s-%d", l.grantsPrefix(budget), l.process, bk.seq), lease: grant.ID, opened: opened}
	// Buckets past their lease are gone from etcd: nothing of theirs can be given back.
	live := bk.buckets[:0]
	for _, old := range bk.buckets {
		if time.Since(old.opened) < time.Duration(ttl)*time.Second {
			live = append(live, old)
		}
	}
	bk.buckets = append(live, b)
	return b, nil
}

// giveBack returns n grants this process reserved and did not send, newest bucket first.
func (l *grants) giveBack(ctx context.Context, client *clientv3.Client, budget string, n int) error {
	if client == nil {
		return errNoClient
	}
	bk := l.book(budget)
	bk.mu.Lock()
	defer bk.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	for i := len(bk.buckets) - 1; i >= 0 && n > 0; i-- {
		b := bk.buckets[i]
		k := min(n, b.count)
		if k == 0 {
			continue
		}
		exists := clientv3.Compare(clientv3.Version(b.key), ">", 0)
		if _, err := client.Txn(ctx).If(exists).Then(clientv3.OpPut(b.key, strconv.Itoa(b.count-k), clientv3.WithIgnoreLease())).Commit(); err != nil {
			return fmt.Errorf("giving grants back: %w", err)
		}
		b.count -= k
		n -= k
	}
	return nil
}

// used is how many of budget's grants the group holds in etcd now.
func (l *grants) used(ctx context.Context, client *clientv3.Client, budget string) (int, error) {
	if client == nil {
		return 0, errNoClient
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	n, _, err := l.count(ctx, client, l.grantsPrefix(budget))
	return n, err
}

// count sums the buckets below prefix, with the revision of the read.
func (l *grants) count(ctx context.Context, client *clientv3.Client, prefix string) (int, int64, error) {
	resp, err := client.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, 0, fmt.Errorf("counting grants: %w", err)
	}
	total := 0
	for _, kv := range resp.Kvs {
		n, err := strconv.Atoi(string(kv.Value))
		if err != nil {
			return 0, 0, fmt.Errorf("counting grants: %s holds %q", kv.Key, kv.Value)
		}
		total += n
	}
	return total, resp.Header.Revision, nil
}
