package etcdextension

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/securityalerts/securityalerts/extension/etcdextension/internal/metadata"
)

// NewFactory returns the factory of the etcd extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		func(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
			return newExtension(cfg.(*Config), set), nil
		},
		metadata.ExtensionStability,
	)
}
