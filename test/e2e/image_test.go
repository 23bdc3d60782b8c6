//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// imageConfig is what the test reads of the image's OCI configuration.
type imageConfig struct {
	User       string   `json:"User"`
	Env        []string `json:"Env"`
	Entrypoint []string `json:"Entrypoint"`
	Cmd        []string `json:"Cmd"`
}

// TestContainerImageRuns takes the image `make package` exported (an OCI archive) into a
// container storage of the test's own, and runs its entrypoint and command from the mounted
// image as its user, 10001, with chroot: no container runtime runs here (podman needs cgroups
// this machine does not delegate). With the image's environment and the simulator's endpoints,
// records reach the backend and the health endpoint answers.
func TestContainerImageRuns(t *testing.T) {
	needTool(t, "buildah", "the container image")
	archive := builtPackage(t, fmt.Sprintf("%s_%s_%s.oci.tar", packageName, distVersion(t), runtime.GOARCH))
	storage := t.TempDir()
	buildah := func(args ...string) string {
		t.Helper()
		return strings.TrimSpace(output(t, "buildah", append([]string{"--storage-driver", "vfs",
			"--root", filepath.Join(storage, "root"), "--runroot", filepath.Join(storage, "run")}, args...)...))
	}
	container := buildah("from", "--quiet", "oci-archive:"+archive)
	t.Cleanup(func() { buildah("rm", container) })

	var inspected struct {
		OCIv1 struct {
			Config imageConfig `json:"config"`
		} `json:"OCIv1"`
	}
	require.NoError(t, json.Unmarshal([]byte(buildah("inspect", "--type", "container", container)), &inspected))
	config := inspected.OCIv1.Config
	assert.Equal(t, "10001:10001", config.User, "the image runs as a non-root user")
	require.NotEmpty(t, config.Entrypoint)

	rootfs := buildah("mount", container)
	t.Cleanup(func() { buildah("umount", container) })
	certs, err := os.ReadFile(filepath.Join(rootfs, "etc", "ssl", "certs", "ca-certificates.crt"))
	require.NoError(t, err, "the image has CA certificates")
	assert.Contains(t, string(certs), "BEGIN CERTIFICATE")
	passwd, err := os.ReadFile(filepath.Join(rootfs, "etc", "passwd"))
	require.NoError(t, err)
	assert.Contains(t, string(passwd), ":10001:10001:", "uid 10001 has a name")
	state, err := os.Stat(filepath.Join(rootfs, "var", "lib", packageName))
	require.NoError(t, err)
	assert.True(t, state.IsDir())
	top, err := os.ReadDir(rootfs)
	require.NoError(t, err)
	var names []string
	for _, entry := range top {
		names = append(names, entry.Name())
	}
	assert.ElementsMatch(t, []string{"etc", "usr", "var"}, names, "nothing in the image but what the Containerfile copies")

	sim := startSimulator(t)
	sink := newOTLPSink(t)
	health := freeLoopbackAddr(t)
	// The collector's own metrics endpoint (localhost:8888) is switched off: other collectors
	// may run on this machine.
	run := append(append(config.Entrypoint, config.Cmd...), noSelfTelemetry)
	cmd := exec.Command("chroot", append([]string{"--userspec=10001:10001", rootfs}, run...)...)
	// As a container would be run: the image's environment, then the operator's.
	cmd.Env = append(config.Env, "USM_ANYWHERE_ENDPOINT="+sim.url, "USM_ANYWHERE_CLIENT_ID=sim-client",
		"USM_ANYWHERE_CLIENT_SECRET=sim-secret", "OTLP_ENDPOINT="+sink.url(), "HEALTH_ENDPOINT="+health)
	c := startCommand(t, cmd)
	waitFor(t, 60*time.Second, "records from the image's entrypoint", func() bool { return sink.exportedFrom("usm_anywhere") > 0 })
	waitForHealth(t, health, http.StatusOK, "StatusOK", "")
	c.stop(t)
}
