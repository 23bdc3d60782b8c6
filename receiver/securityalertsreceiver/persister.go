package securityalertsreceiver

import (
	"context"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// checkpointKey is the storage key of a stream's checkpoint. The storage client is already
// scoped to this receiver's component id, so the stream name makes it unique. Never change it:
// users' stored checkpoints are found by it.
func checkpointKey(stream string) string { return "checkpoint/" + stream }

// persister stores the engine's encoded checkpoints through a storage extension (file_storage,
// etcd). The engine owns the format, and reads every format a release wrote.
type persister struct {
	client storage.Client
}

func (p *persister) Load(ctx context.Context, stream string) ([]byte, error) {
	return p.client.Get(ctx, checkpointKey(stream))
}

func (p *persister) Save(ctx context.Context, stream string, data []byte) error {
	return p.client.Set(ctx, checkpointKey(stream), data)
}

// valueLimited is a storage extension that refuses values above a size (etcd: its request
// limit), so that max_seen_ids can be checked against it at start.
type valueLimited interface {
	MaxValueBytes() int
}
