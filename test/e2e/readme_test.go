//go:build integration

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")
	// wholeConfig tells a complete collector configuration from a fragment: it defines receivers
	// and has a service section.
	wholeConfig = regexp.MustCompile(`(?ms)^receivers:.*^service:`)
	// storageDirectory is where a documented configuration keeps its state; the start-up check
	// moves it into the test's own directory, so that the test writes nothing outside it.
	storageDirectory = regexp.MustCompile(`(?m)^(\s+directory:\s*)\S+`)
)

// documentedEnv is what the documented configurations read from the environment.
var documentedEnv = []string{
	"SIM_ENDPOINT=http://127.0.0.1:18080",
	"USM_ANYWHERE_CLIENT_SECRET=secret",
	"USM_CENTRAL_CLIENT_SECRET=secret",
	"CISCO_GTA_CLIENT_SECRET=secret",
	"TREND_CAS_TOKEN=token",
	"ACME_USM_ANYWHERE_SECRET=secret",
}

// TestDocumentedConfigsValidate runs the built collector's own `validate` command on every complete
// configuration the README and the source guides show and on the one `make run` uses, so the docs
// cannot drift from the code: a renamed key or a tightened check fails here. Then it starts the
// collector on each and fails on any deprecation warning at start (a component alias the pinned
// release renamed, say), which `validate` does not print.
func TestDocumentedConfigsValidate(t *testing.T) {
	for name, path := range documentedConfigs(t) {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(collectorBinary(t), "validate", "--config", path)
			cmd.Env = append(os.Environ(), documentedEnv...)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s does not validate:\n%s", name, out)

			assertNoDeprecationAtStart(t, path)
		})
	}
}

// assertNoDeprecationAtStart runs the collector on the configuration until it is ready (its APIs
// and backends need not answer), then stops it, and fails if it warned of anything deprecated.
func assertNoDeprecationAtStart(t *testing.T, path string) {
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	// Relative paths (make run's ./data) resolve in a directory of the test's own.
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "data"), 0o700))
	local := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(local, storageDirectory.ReplaceAll(text, []byte("${1}"+t.TempDir())), 0o600))
	c := startCollectorIn(t, dir, local, documentedEnv)
	// Components are built, and warn, before anything starts: a configuration whose services are
	// absent here (etcd) may stop at start, and is still checked.
	waitFor(t, 60*time.Second, "the collector to be ready", func() bool {
		return strings.Contains(c.output.String(), "Everything is ready") || !c.running()
	})
	if c.running() {
		c.stop(t)
	}
	for _, line := range strings.Split(c.output.String(), "\n") {
		if strings.Contains(strings.ToLower(line), "deprecated") {
			t.Errorf("the collector warns of something deprecated at start:\n%s", line)
		}
	}
}

// documentedConfigs are the complete configurations the README and the source guides show, and the
// one `make run` uses, by where they come from.
func documentedConfigs(t *testing.T) map[string]string {
	root := repoRoot()
	guides, err := filepath.Glob(filepath.Join(root, "docs", "sources", "*.md"))
	require.NoError(t, err)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	configs := map[string]string{"testdata/run-config.yaml": filepath.Join(root, "testdata", "run-config.yaml")}
	for _, doc := range append(append([]string{filepath.Join(root, "README.md")}, guides...), docs...) {
		text, err := os.ReadFile(doc)
		require.NoError(t, err)
		name, _ := filepath.Rel(root, doc)
		found := 0
		for i, m := range yamlBlock.FindAllStringSubmatch(string(text), -1) {
			if !wholeConfig.MatchString(m[1]) {
				continue // a fragment, not a whole collector configuration
			}
			path := filepath.Join(t.TempDir(), "doc.yaml")
			require.NoError(t, os.WriteFile(path, []byte(m[1]), 0o600))
			configs[name+" yaml block "+strconv.Itoa(i+1)] = path
			found++
		}
		if !slices.Contains(docs, doc) { // the README and every guide show one; other pages may not
			require.Positive(t, found, "%s shows no complete configuration", name)
		}
	}
	return configs
}
