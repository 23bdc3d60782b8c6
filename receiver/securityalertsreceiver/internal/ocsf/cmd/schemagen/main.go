// Command schemagen writes a JSON Schema (draft 2020-12) for OCSF event classes from the OCSF
// schema source (the ocsf-schema repository at a release): each class with its parents, its
// includes, the profiles asked for, the dictionary's types and enums, its constraints, and every
// object it reaches. The tests validate every OCSF body against what it writes.
//
//	go run ./internal/ocsf/cmd/schemagen -schema ../shared/ocsf-schema-1.8.0 \
//	    -out internal/ocsf/ocsftest/testdata/schema detection_finding data_security_finding network_activity base_event
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	schemaDir := flag.String("schema", "", "the OCSF schema source directory (version.json, dictionary.json, events/, objects/, profiles/)")
	out := flag.String("out", "", "the directory to write <class>.json into")
	profiles := flag.String("profiles", "", "comma-separated OCSF profiles to apply (none by default)")
	flag.Parse()
	if *schemaDir == "" || *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: schemagen -schema DIR -out DIR [-profiles a,b] class...")
		os.Exit(2)
	}
	var applied []string
	if *profiles != "" {
		applied = strings.Split(*profiles, ",")
	}
	if err := generate(*schemaDir, *out, applied, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

// generate writes out/<class>.json for each class.
func generate(schemaDir, out string, profiles, classNames []string) error {
	src, err := loadSource(schemaDir)
	if err != nil {
		return err
	}
	g := newGenerator(src, profiles)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, name := range classNames {
		schema, err := g.class(name)
		if err != nil {
			return err
		}
		data, err := json.MarshalIndent(schema, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, name+".json"), append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}
