package etcdextension

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"google.golang.org/grpc"

	"github.com/securityalerts/securityalerts/extension/etcdextension/etcdtest"
)

// startReplica runs one extension, as one collector would, against the etcd at endpoint.
func startReplica(t *testing.T, endpoint, name string, ttl time.Duration, dialOptions ...grpc.DialOption) *etcdExtension {
	t.Helper()
	cfg := createDefaultConfig()
	cfg.Endpoints = []string{endpoint}
	cfg.KeyPrefix = "/" + t.Name() + "/"
	cfg.SessionTTL = ttl
	cfg.RequestTimeout = 2 * time.Second
	require.NoError(t, cfg.Validate())
	set := extensiontest.NewNopSettings(typ)
	set.Resource.Attributes().PutStr("service.instance.id", name)
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	require.NoError(t, err)
	e := ext.(*etcdExtension)
	e.dialOptions = dialOptions
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, e.Shutdown(context.Background())) })
	return e
}

func storageClientOf(t *testing.T, e *etcdExtension, id component.ID) storage.Client {
	t.Helper()
	c, err := e.GetClient(context.Background(), component.KindReceiver, id, "")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Close(context.Background())) })
	return c
}

func TestStorageIsSharedBetweenReplicas(t *testing.T) {
	server := etcdtest.Start(t)
	ctx := context.Background()
	id := component.MustNewID("securityalerts")
	a := storageClientOf(t, startReplica(t, server.Endpoint, "a", 2*time.Second), id)
	b := storageClientOf(t, startReplica(t, server.Endpoint, "b", 2*time.Second), id)
	other := storageClientOf(t, startReplica(t, server.Endpoint, "c", 2*time.Second), component.MustNewIDWithName("securityalerts", "lab"))

	got, err := a.Get(ctx, "checkpoint/x")
	require.NoError(t, err)
	assert.Nil(t, got, "a missing key reads as nil")

	require.NoError(t, a.Set(ctx, "checkpoint/x", []byte(`{"cursor":"7"}`)))
	got, err = b.Get(ctx, "checkpoint/x")
	require.NoError(t, err)
	assert.JSONEq(t, `{"cursor":"7"}`, string(got), "another replica of the same component reads it")
	got, err = other.Get(ctx, "checkpoint/x")
	require.NoError(t, err)
	assert.Nil(t, got, "another component id has its own keys")

	get, missing := storage.GetOperation("checkpoint/x"), storage.GetOperation("checkpoint/none")
	require.NoError(t, b.Batch(ctx, storage.SetOperation("checkpoint/y", []byte("y")), get, missing, storage.DeleteOperation("checkpoint/x")))
	assert.JSONEq(t, `{"cursor":"7"}`, string(get.Value))
	assert.Nil(t, missing.Value)
	got, err = a.Get(ctx, "checkpoint/x")
	require.NoError(t, err)
	assert.Nil(t, got, "deleted in the batch")
	got, err = a.Get(ctx, "checkpoint/y")
	require.NoError(t, err)
	assert.Equal(t, "y", string(got))

	require.NoError(t, a.Delete(ctx, "checkpoint/y"))
	require.NoError(t, a.Delete(ctx, "checkpoint/y"), "deleting a missing key is no error")
}

// A write under a leadership term lands only while the term's election key exists with the
// revision that created it: once the term is over, the write changes nothing.
func TestFencedWriteAfterTermEnds(t *testing.T) {
	server := etcdtest.Start(t)
	ctx := context.Background()
	e := startReplica(t, server.Endpoint, "a", 2*time.Second)
	c := storageClientOf(t, e, component.MustNewID("securityalerts"))

	put, err := e.client.Put(ctx, "/fence-test/lead/x/1", "a")
	require.NoError(t, err)
	term := withFence(ctx, fence{key: "/fence-test/lead/x/1", rev: put.Header.Revision})
	require.NoError(t, c.Set(term, "checkpoint/x", []byte("owner")))
	require.NoError(t, c.Batch(term, storage.SetOperation("checkpoint/y", []byte("owner"))))

	// The key is deleted and created again (another term, even of the same member): the
	// creation revision differs.
	_, err = e.client.Delete(ctx, "/fence-test/lead/x/1")
	require.NoError(t, err)
	_, err = e.client.Put(ctx, "/fence-test/lead/x/1", "b")
	require.NoError(t, err)
	require.ErrorIs(t, c.Set(term, "checkpoint/x", []byte("stale")), ErrFenced)
	require.ErrorIs(t, c.Delete(term, "checkpoint/y"), ErrFenced)
	require.ErrorIs(t, c.Batch(term, storage.SetOperation("checkpoint/y", []byte("stale"))), ErrFenced)

	for _, key := range []string{"checkpoint/x", "checkpoint/y"} {
		got, err := c.Get(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, "owner", string(got), "%s overwritten by a fenced-out writer", key)
	}
	resp, err := e.client.Get(ctx, "/"+t.Name()+"/storage/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	assert.Len(t, resp.Kvs, 2, "keys live under <key_prefix>storage/")
}

func TestGetClientBeforeStart(t *testing.T) {
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(typ), createDefaultConfig())
	require.NoError(t, err)
	_, err = ext.(storage.Extension).GetClient(context.Background(), component.KindReceiver, component.MustNewID("securityalerts"), "")
	require.Error(t, err)
}
