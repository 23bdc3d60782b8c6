//go:build integration

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const receiverModule = "github.com/securityalerts/securityalerts/receiver/securityalertsreceiver"

// TestCustomDistributionFromTheExampleManifest checks the team distribution that `make
// custom-distribution` builds from examples/custom-distribution/builder-config.yaml: it holds the
// receiver from its own module next to the contrib components; its module graph holds no other
// module of this repository (the simulator, the benchmarks and the end-to-end tests are in the root
// one); and the example's configuration runs, records reaching the backend.
func TestCustomDistributionFromTheExampleManifest(t *testing.T) {
	bin := built(t, "custom-distribution", "build", "custom-distribution", "otelcol-custom", "otelcol-custom")
	dir := filepath.Dir(bin)

	components, err := exec.Command(bin, "components").CombinedOutput()
	require.NoError(t, err, "%s", components)
	for _, module := range []string{
		receiverModule,
		"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor",
		"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/kafkaexporter",
		"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage",
	} {
		assert.Contains(t, string(components), "module: "+module+" ", "the distribution lacks %s", module)
	}

	list := exec.Command("go", "list", "-m", "all")
	list.Dir = dir
	modules, err := list.CombinedOutput()
	require.NoError(t, err, "%s", modules)
	var ours []string
	for _, line := range strings.Split(string(modules), "\n") {
		if strings.HasPrefix(line, "github.com/securityalerts/") {
			ours = append(ours, strings.Fields(line)[0])
		}
	}
	assert.Equal(t, []string{receiverModule}, ours, "the build resolves modules of this repository it does not import")

	sim := startSimulator(t)
	sink := newOTLPSink(t)
	config := filepath.Join(repoRoot(), "examples", "custom-distribution", "config.yaml")
	// No Kafka here: the logs go to the OTLP backend too, the rest of the example as it is.
	cmd := exec.Command(bin, "--config", config, "--set", "service::pipelines::logs::exporters=[otlp_http]",
		"--set", "extensions::healthcheckv2::http::endpoint="+freeLoopbackAddr(t))
	cmd.Env = append(os.Environ(),
		"STATE_DIRECTORY="+t.TempDir(), "OTLP_ENDPOINT="+sink.url(), "KAFKA_BROKER=127.0.0.1:9",
		"USM_ANYWHERE_ENDPOINT="+sim.url, "USM_ANYWHERE_CLIENT_ID=sim-client", "USM_ANYWHERE_CLIENT_SECRET=sim-secret")
	startCommand(t, cmd)
	backlog := len(sim.sim.IDs("usm_anywhere", "alarm")) + len(sim.sim.IDs("usm_anywhere", "event"))
	waitFor(t, 60*time.Second, "the backlog at the backend", func() bool { return sink.exportedFrom("usm_anywhere") >= backlog })
}
