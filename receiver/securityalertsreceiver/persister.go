package securityalertsreceiver

import (
	"context"
	"encoding/json"
	"fmt"

	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/securityalerts/securityalerts/internal/engine"
)

// checkpointKey is the storage key of a stream's checkpoint. The storage client is already
// scoped to this receiver's component id, so the stream name makes it unique. Never change it:
// users' stored checkpoints are found by it.
func checkpointKey(stream string) string { return "checkpoint/" + stream }

// persister stores checkpoints through a storage extension (file_storage) as JSON.
type persister struct {
	client storage.Client
}

func (p *persister) Load(ctx context.Context, stream string) (*engine.Checkpoint, error) {
	data, err := p.client.Get(ctx, checkpointKey(stream))
	if err != nil || data == nil {
		return nil, err
	}
	var cp engine.Checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return nil, fmt.Errorf("stored checkpoint of %s is corrupt: %w", stream, err)
	}
	return &cp, nil
}

func (p *persister) Save(ctx context.Context, stream string, cp *engine.Checkpoint) error {
	data, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	return p.client.Set(ctx, checkpointKey(stream), data)
}
