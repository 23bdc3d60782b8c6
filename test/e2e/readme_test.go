//go:build integration

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")
	// wholeConfig tells a complete collector configuration from a fragment: it defines receivers
	// and has a service section.
	wholeConfig = regexp.MustCompile(`(?ms)^receivers:.*^service:`)
)

// TestDocumentedConfigsValidate runs the built collector's own `validate` command on every complete
// configuration the README and the source guides show and on the one `make run` uses, so the docs
// cannot drift from the code: a renamed key or a tightened check fails here.
func TestDocumentedConfigsValidate(t *testing.T) {
	root := repoRoot()
	guides, err := filepath.Glob(filepath.Join(root, "docs", "sources", "*.md"))
	require.NoError(t, err)
	configs := map[string]string{"testdata/run-config.yaml": filepath.Join(root, "testdata", "run-config.yaml")}
	for _, doc := range append([]string{filepath.Join(root, "README.md")}, guides...) {
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
		require.Positive(t, found, "%s shows no complete configuration", name)
	}

	for name, path := range configs {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(collectorBinary(t), "validate", "--config", path)
			cmd.Env = append(os.Environ(),
				"SIM_ENDPOINT=http://127.0.0.1:18080",
				"USM_ANYWHERE_CLIENT_SECRET=secret",
				"USM_CENTRAL_CLIENT_SECRET=secret",
				"CISCO_GTA_CLIENT_SECRET=secret",
				"TREND_CAS_TOKEN=token",
				"ACME_USM_ANYWHERE_SECRET=secret",
			)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s does not validate:\n%s", name, out)
		})
	}
}
