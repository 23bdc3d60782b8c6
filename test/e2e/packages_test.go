//go:build integration

package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests of `make package`'s .deb and .rpm. None installs anything into this machine: they
// read the packages, run the extracted binary, and run the whole dpkg cycle in a throwaway copy
// of the machine (install-cycle.sh).

const packageName = "otelcol-securityalerts"

// packagedFiles are the .deb's files, with their modes.
var packagedFiles = map[string]string{
	"./usr/bin/otelcol-securityalerts":                         "-rwxr-xr-x",
	"./usr/lib/systemd/system/otelcol-securityalerts.service":  "-rw-r--r--",
	"./etc/otelcol-securityalerts/config.yaml":                 "-rw-r--r--",
	"./etc/otelcol-securityalerts/otelcol-securityalerts.conf": "-rw-r-----",
	"./usr/share/doc/otelcol-securityalerts/README.md":         "-rw-r--r--",
	"./usr/share/doc/otelcol-securityalerts/deploying.md":      "-rw-r--r--",
	"./usr/share/doc/otelcol-securityalerts/copyright":         "-rw-r--r--",
	"./usr/share/doc/otelcol-securityalerts/changelog.gz":      "-rw-r--r--",
	"./usr/share/lintian/overrides/otelcol-securityalerts":     "-rw-r--r--",
}

// distVersion is the distribution's version in builder-config.yaml, which names the packages.
func distVersion(t *testing.T) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(repoRoot(), "builder-config.yaml"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^  version: *(\S+)`).FindSubmatch(text)
	require.NotNil(t, m, "builder-config.yaml names no dist version")
	return string(m[1])
}

// builtPackage is the path of a package `make package` built.
func builtPackage(t *testing.T, name string) string {
	t.Helper()
	return built(t, "package", "build", "packages", name)
}

func debPath(t *testing.T) string {
	return builtPackage(t, fmt.Sprintf("%s_%s_%s.deb", packageName, distVersion(t), runtime.GOARCH))
}

// needTool skips the test when a tool the Makefile could not install is missing.
func needTool(t *testing.T, tool, why string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("SKIPPED: %s is not installed (make package-tools installs it from Debian's packages): %s", tool, why)
	}
}

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// The .deb holds the binary, the unit, the configuration as conffiles, the docs, and maintainer
// scripts that parse; nothing else.
func TestDebContents(t *testing.T) {
	deb := debPath(t)
	files := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(output(t, "dpkg-deb", "--contents", deb)), "\n") {
		fields := strings.Fields(line)
		require.GreaterOrEqual(t, len(fields), 6, line)
		assert.Equal(t, "root/root", fields[1], "%s is owned by root in the archive", fields[5])
		if !strings.HasSuffix(fields[5], "/") {
			files[fields[5]] = fields[0]
		}
	}
	assert.Equal(t, packagedFiles, files)

	assert.ElementsMatch(t, []string{"/etc/otelcol-securityalerts/config.yaml", "/etc/otelcol-securityalerts/otelcol-securityalerts.conf"},
		strings.Fields(output(t, "dpkg-deb", "--info", deb, "conffiles")), "an upgrade keeps the administrator's configuration")
	control := t.TempDir()
	output(t, "dpkg-deb", "--control", deb, control)
	for _, script := range []string{"preinst", "postinst", "prerm", "postrm"} {
		path := filepath.Join(control, script)
		info, err := os.Stat(path)
		require.NoError(t, err, "the .deb has a %s", script)
		assert.Equal(t, os.FileMode(0o755), info.Mode().Perm(), script)
		output(t, "sh", "-n", path)
	}
	preinst, err := os.ReadFile(filepath.Join(control, "preinst"))
	require.NoError(t, err)
	assert.Contains(t, string(preinst), "useradd --system", "a dedicated system user")
}

// lintian, Debian's policy checker, finds nothing beyond the overrides the package explains.
func TestDebLintian(t *testing.T) {
	needTool(t, "lintian", "the .deb's policy check")
	out, err := exec.Command("lintian", "--tag-display-limit", "0", debPath(t)).CombinedOutput()
	var tags []string
	for _, line := range strings.Split(string(out), "\n") {
		if regexp.MustCompile(`^[EWIPX]: `).MatchString(line) {
			tags = append(tags, line)
		}
	}
	assert.Empty(t, tags, "lintian:\n%s", out)
	require.NoError(t, err, "lintian:\n%s", out)
}

// The unit verifies: systemd-analyze in the extracted package, with this machine's systemd units
// beside it for the targets it names, warns of nothing (an unknown key is only a warning there).
func TestPackagedUnitVerifies(t *testing.T) {
	needTool(t, "systemd-analyze", "the unit's check")
	root := extractDeb(t)
	units := "/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(units, "sysinit.target")); err != nil {
		t.Skipf("SKIPPED: no systemd units in %s to verify against", units)
	}
	output(t, "cp", "-rn", units+"/.", filepath.Join(root, "usr", "lib", "systemd", "system"))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "tmp"), 0o1777))
	out := output(t, "systemd-analyze", "verify", "--root="+root, "--man=no", "--generators=no",
		"/usr/lib/systemd/system/otelcol-securityalerts.service")
	assert.Empty(t, strings.TrimSpace(out), "systemd-analyze verify warns")
}

// The .rpm is built from the same description: the same files and scripts.
func TestRPMContents(t *testing.T) {
	needTool(t, "rpm", "reading the .rpm")
	rpm := builtPackage(t, fmt.Sprintf("%s-%s-1.%s.rpm", packageName, distVersion(t), rpmArch()))
	var want []string
	for file := range packagedFiles {
		if !strings.Contains(file, "/lintian/") && !strings.HasSuffix(file, "changelog.gz") && !strings.HasSuffix(file, "/copyright") {
			want = append(want, strings.TrimPrefix(file, "."))
		}
	}
	assert.ElementsMatch(t, want, strings.Fields(output(t, "rpm", "-qpl", rpm)))
	configs := strings.Fields(output(t, "rpm", "-qpc", rpm))
	assert.ElementsMatch(t, []string{"/etc/otelcol-securityalerts/config.yaml", "/etc/otelcol-securityalerts/otelcol-securityalerts.conf"}, configs)
	scripts := output(t, "rpm", "-qp", "--scripts", rpm)
	for _, phase := range []string{"preinstall", "postinstall", "preuninstall", "postuninstall"} {
		assert.Contains(t, scripts, phase+" scriptlet")
	}
	assert.Contains(t, scripts, "useradd --system")
}

// rpmArch is the rpm name of the architecture (the Makefile's RPM_ARCH).
func rpmArch() string {
	return map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
}

// noSelfTelemetry switches the collector's own metrics endpoint (localhost:8888) off, for a
// packaged configuration run beside other collectors.
const noSelfTelemetry = "--set=service.telemetry.metrics.level=none"

// extractDeb unpacks the .deb's files into a directory of the test's own.
func extractDeb(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	output(t, "dpkg-deb", "--extract", debPath(t), root)
	return root
}

// readEnvFile reads an environment file of KEY=VALUE lines (systemd's EnvironmentFile).
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	env := map[string]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if key, value, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[key] = value
		}
	}
	require.NoError(t, scanner.Err())
	return env
}

// simulatorEnvironment fills the packaged environment file's keys to point at the simulator and
// the sink, as an administrator fills them with a tenant's.
func simulatorEnvironment(t *testing.T, keys map[string]string, sim runningSimulator, sink *otlpSink, health string) []string {
	t.Helper()
	values := map[string]string{
		"USM_ANYWHERE_ENDPOINT": sim.url, "USM_ANYWHERE_CLIENT_ID": "sim-client", "USM_ANYWHERE_CLIENT_SECRET": "sim-secret",
		"OTLP_ENDPOINT": sink.url(), "HEALTH_ENDPOINT": health,
	}
	var env []string
	for key := range keys {
		value, ok := values[key]
		require.True(t, ok, "the packaged environment file has a key the test does not know: %s", key)
		env = append(env, key+"="+value)
	}
	return append(env, "HEALTH_ENDPOINT="+health)
}

// The extracted binary runs with the packaged configuration and environment file: records reach
// the backend and the health endpoint answers. Only the state directory moves, into the test's,
// and the collector's own metrics endpoint is off.
func TestPackagedBinaryRunsPackagedConfig(t *testing.T) {
	root := extractDeb(t)
	sim := startSimulator(t)
	sink := newOTLPSink(t)
	health := freeLoopbackAddr(t)
	etc := filepath.Join(root, "etc", packageName)
	env := simulatorEnvironment(t, readEnvFile(t, filepath.Join(etc, packageName+".conf")), sim, sink, health)

	cmd := exec.Command(filepath.Join(root, "usr", "bin", packageName), "--config="+filepath.Join(etc, "config.yaml"),
		"--set=extensions.file_storage.directory="+t.TempDir(), noSelfTelemetry)
	cmd.Env = env
	c := startCommand(t, cmd)
	waitFor(t, 60*time.Second, "records from the packaged configuration", func() bool { return sink.exportedFrom("usm_anywhere") > 0 })
	waitForHealth(t, health, http.StatusOK, "StatusOK", "")
	c.stop(t)
}

// The whole install cycle: dpkg -i, the service's user and directories, the collector run as
// the unit runs it, dpkg -r, dpkg -P, in a throwaway overlay of this machine that the script
// mounts in a mount namespace of its own. It needs root; under CI (SECURITYALERTS_CI) it must run.
func TestDebInstallCycle(t *testing.T) {
	skip := func(why string) {
		if os.Getenv("SECURITYALERTS_CI") != "" {
			t.Fatalf("the install cycle must run under CI, but: %s", why)
		}
		t.Skipf("SKIPPED the dpkg install cycle: %s", why)
	}
	// Root makes the throwaway root; a CI user who may sudo without a password gets it that way.
	var asRoot []string
	if os.Geteuid() != 0 {
		if exec.Command("sudo", "-n", "true").Run() != nil {
			skip("it needs root (or sudo without a password) to make a throwaway root (a mount namespace with an overlay of /)")
		}
		asRoot = []string{"sudo", "-n"}
	}
	for _, tool := range []string{"unshare", "dpkg", "chroot"} {
		if _, err := exec.LookPath(tool); err != nil {
			skip(tool + " is not installed")
		}
	}
	deb := debPath(t)
	sim := startSimulator(t)
	sink := newOTLPSink(t)
	health := freeLoopbackAddr(t)

	args := append(asRoot, "env", "SIM_URL="+sim.url, "SINK_URL="+sink.url(), "HEALTH_ADDR="+health,
		"unshare", "--mount", "--propagation", "private", "sh",
		filepath.Join(repoRoot(), "test", "e2e", "testdata", "install-cycle.sh"), deb, t.TempDir())
	cmd := exec.Command(args[0], args[1:]...)
	proceed, err := cmd.StdinPipe()
	require.NoError(t, err)
	cycle := startCommand(t, cmd)
	waitFor(t, 120*time.Second, "the package installed and its collector running", func() bool {
		return strings.Contains(cycle.output.String(), "STEP: collector running") || !cycle.running()
	})
	if !cycle.running() {
		var exit *exec.ExitError
		if errors.As(cycle.waitErr, &exit) && exit.ExitCode() == 77 {
			skip("no throwaway root here: " + cycle.output.String())
		}
		t.Fatalf("the install cycle stopped early:\n%s", cycle.output.String())
	}
	waitFor(t, 60*time.Second, "records from the installed package", func() bool { return sink.exportedFrom("usm_anywhere") > 0 })
	waitForHealth(t, health, http.StatusOK, "StatusOK", "")
	_, err = proceed.Write([]byte("go on\n"))
	require.NoError(t, err)
	select {
	case <-cycle.exited:
	case <-time.After(120 * time.Second):
		t.Fatal("the install cycle did not finish within 2 minutes")
	}
	require.NoError(t, cycle.waitErr, "install cycle:\n%s", cycle.output.String())
	assert.Contains(t, cycle.output.String(), "CYCLE-OK")
}
