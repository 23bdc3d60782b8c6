// Package ocsftest validates OCSF events against the committed JSON Schemas of OCSF 1.8.0
// (testdata/schema, whose README says where they come from). Tests only: it embeds them.
package ocsftest

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed testdata/schema/*.json
var files embed.FS

var (
	load    sync.Once
	byClass map[string]*jsonschema.Schema // class_uid → its schema
	loadErr error
)

// schemas compiles every committed schema once, by the class_uid it allows.
func schemas() (map[string]*jsonschema.Schema, error) {
	load.Do(func() {
		byClass = map[string]*jsonschema.Schema{}
		loadErr = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := files.ReadFile(path)
			if err != nil {
				return err
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			c := jsonschema.NewCompiler()
			url := "mem:///" + path
			if err := c.AddResource(url, doc); err != nil {
				return err
			}
			s, err := c.Compile(url)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			classUID := s.Properties["class_uid"].Enum.Values[0]
			byClass[fmt.Sprint(classUID)] = s
			return nil
		})
	})
	return byClass, loadErr
}

// Validate fails t unless event, as JSON, is valid against the schema of the class its
// class_uid names.
func Validate(tb testing.TB, event any) {
	tb.Helper()
	if err := Check(event); err != nil {
		tb.Fatal(err)
	}
}

// Check returns why event is not a valid OCSF 1.8.0 event of the classes committed, or nil: it
// must match its class's schema, and its type_uid its class and activity.
func Check(event any) error {
	all, err := schemas()
	if err != nil {
		return fmt.Errorf("ocsftest: loading the schemas: %w", err)
	}
	data, err := json.Marshal(event)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	obj, _ := doc.(map[string]any)
	classUID := fmt.Sprint(obj["class_uid"])
	s, ok := all[classUID]
	if !ok {
		return fmt.Errorf("class_uid %s: no committed schema (have %v)", classUID, keys(all))
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("not a valid OCSF event of class %s: %v\n%s", classUID, err, data)
	}
	// The dictionary's rule, which a schema cannot state: type_uid = class_uid × 100 + activity_id.
	class, activity, typeUID := number(obj["class_uid"]), number(obj["activity_id"]), number(obj["type_uid"])
	if typeUID != class*100+activity {
		return fmt.Errorf("type_uid %d is not class_uid %d × 100 + activity_id %d\n%s", typeUID, class, activity, data)
	}
	return nil
}

func number(v any) int64 {
	num, _ := v.(json.Number)
	n, _ := num.Int64()
	return n
}

func keys(m map[string]*jsonschema.Schema) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return strings.Join(out, ", ")
}
