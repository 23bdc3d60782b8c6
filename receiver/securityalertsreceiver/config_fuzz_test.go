package securityalertsreceiver

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"gopkg.in/yaml.v3"
)

// keyedMessage is how every line of a validation error starts: the key it is about. A segment a
// user named freely (a filter, a deployment) is quoted when it is not plain (see keyPath).
var keyedMessage = regexp.MustCompile(`^[a-z_]+(\.([A-Za-z0-9_.\-]+|"([^"\\]|\\.)*"))*: `)

// FuzzConfig decodes and validates any receiver configuration: no input may panic, and every
// line of a refusal names the key it is about.
func FuzzConfig(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	var all map[string]any
	if err := yaml.Unmarshal(data, &all); err != nil {
		f.Fatal(err)
	}
	for _, cfg := range all {
		seed, err := yaml.Marshal(cfg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(seed))
	}

	f.Fuzz(func(t *testing.T, text string) {
		var raw map[string]any
		if yaml.Unmarshal([]byte(text), &raw) != nil {
			return
		}
		cfg := createDefaultConfig().(*Config)
		if confmap.NewFromStringMap(raw).Unmarshal(cfg) != nil {
			return // refused by the decoder, which names the key itself
		}
		err := cfg.Validate()
		if err == nil || errors.Is(err, errNoSource) {
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !keyedMessage.MatchString(line) {
				t.Fatalf("validation error line names no key: %q", line)
			}
		}
	})
}
