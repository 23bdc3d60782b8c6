package etcdextension

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// ErrFenced is returned by a write made under a leadership that has ended: another replica may
// own the key now, and its checkpoint must not be overwritten by this one's.
var ErrFenced = errors.New("etcd: write refused, leadership of its key has ended")

// fence is a leadership term: the term's election key and the revision that created it. The
// key exists with that creation revision exactly while the term lasts, so a write conditioned on
// it cannot land after the term ended, whatever this process believes about its lease.
type fence struct {
	key string
	rev int64
}

type fenceKey struct{}

// withFence marks ctx as belonging to a leadership term. The leader elector hands such a context
// to onStartLeading; a receiver that writes under it (directly or through derived contexts) gets
// fenced writes without knowing anything about etcd.
func withFence(ctx context.Context, f fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

func fenceFrom(ctx context.Context) (fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(fence)
	return f, ok
}

// storageClient is a storage.Client over the keys below one prefix. Reads are linearizable
// (etcd's default), so a new owner sees the last checkpoint its predecessor stored.
type storageClient struct {
	kv      clientv3.KV
	prefix  string
	timeout time.Duration
}

var _ storage.Client = (*storageClient)(nil)

// storagePrefix scopes a component's keys as file_storage scopes its files: by the kind, id and
// name the component asked with. Every replica of the same configuration gets the same prefix.
func storagePrefix(keyPrefix, kind string, id, name string) string {
	parts := []string{strings.ToLower(kind), url.PathEscape(id)}
	if name != "" {
		parts = append(parts, url.PathEscape(name))
	}
	return keyPrefix + "storage/" + strings.Join(parts, "/") + "/"
}

func (c *storageClient) Get(ctx context.Context, key string) ([]byte, error) {
	op := storage.GetOperation(key)
	if err := c.Batch(ctx, op); err != nil {
		return nil, err
	}
	return op.Value, nil
}

func (c *storageClient) Set(ctx context.Context, key string, value []byte) error {
	return c.Batch(ctx, storage.SetOperation(key, value))
}

func (c *storageClient) Delete(ctx context.Context, key string) error {
	return c.Batch(ctx, storage.DeleteOperation(key))
}

// Batch runs the operations in order in one etcd transaction. Under a leadership term (see
// withFence) the transaction only applies while the term's election key still exists with its
// creation revision; otherwise it fails with ErrFenced and changes nothing.
func (c *storageClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	if len(ops) == 0 {
		return nil
	}
	etcdOps := make([]clientv3.Op, len(ops))
	for i, op := range ops {
		key := c.prefix + op.Key
		switch op.Type {
		case storage.Get:
			etcdOps[i] = clientv3.OpGet(key)
		case storage.Set:
			etcdOps[i] = clientv3.OpPut(key, string(op.Value))
		case storage.Delete:
			etcdOps[i] = clientv3.OpDelete(key)
		default:
			return fmt.Errorf("etcd storage: unknown operation type %d", op.Type)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	txn := c.kv.Txn(ctx)
	f, fenced := fenceFrom(ctx)
	if fenced {
		txn = txn.If(clientv3.Compare(clientv3.CreateRevision(f.key), "=", f.rev))
	}
	resp, err := txn.Then(etcdOps...).Commit()
	if err != nil {
		return fmt.Errorf("etcd storage: %w", err)
	}
	if !resp.Succeeded {
		return ErrFenced
	}
	for i, op := range ops {
		if op.Type != storage.Get {
			continue
		}
		op.Value = nil
		if kvs := resp.Responses[i].GetResponseRange().GetKvs(); len(kvs) > 0 {
			op.Value = kvs[0].Value
		}
	}
	return nil
}

// Close releases nothing: the etcd connection is the extension's and ends with it.
func (c *storageClient) Close(context.Context) error { return nil }
