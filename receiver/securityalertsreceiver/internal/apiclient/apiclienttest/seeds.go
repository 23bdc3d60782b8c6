package apiclienttest

import (
	"os"
	"path/filepath"
	"testing"
)

// Seeds returns the contents of the files of the package's testdata/fuzz-seeds matching
// pattern: realistic answers a fuzz target starts mutating from. No match fails the test, so
// that a renamed file cannot leave a target without its seeds.
func Seeds(tb testing.TB, pattern string) [][]byte {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "fuzz-seeds", pattern))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no fuzz seeds match testdata/fuzz-seeds/%s: %v", pattern, err)
	}
	out := make([][]byte, 0, len(paths))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// AddSeeds adds the Seeds matching pattern to f's corpus, for targets fuzzing one body.
func AddSeeds(f *testing.F, pattern string) {
	for _, seed := range Seeds(f, pattern) {
		f.Add(seed)
	}
}
