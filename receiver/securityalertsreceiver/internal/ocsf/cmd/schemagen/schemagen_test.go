package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// miniSchema is a schema source small enough to read, with each construct the generator
// resolves: a parent class including a profile, a child overriding an enum and un-gating one
// profile attribute, an object inheriting a constraint and referring to itself, typed strings
// and a ranged integer.
var miniSchema = map[string]string{
	"version.json":    `{"version": "9.9.9"}`,
	"categories.json": `{"attributes": {"findings": {"uid": 2, "caption": "Findings"}}}`,
	"dictionary.json": `{
		"types": {"attributes": {
			"string_t": {}, "integer_t": {}, "long_t": {},
			"timestamp_t": {"type": "long_t"},
			"port_t": {"type": "integer_t", "range": [0, 65535]},
			"ip_t": {"type": "string_t", "regex": "^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", "max_len": 15, "observable": 2}
		}},
		"attributes": {
			"activity_id": {"type": "integer_t", "enum": {"0": {}, "99": {}}},
			"class_uid": {"type": "integer_t"}, "category_uid": {"type": "integer_t"}, "type_uid": {"type": "long_t"},
			"time": {"type": "timestamp_t"}, "name": {"type": "string_t"}, "uid": {"type": "string_t"},
			"ip": {"type": "ip_t"}, "port": {"type": "port_t"}, "tags": {"type": "string_t", "is_array": true},
			"node": {"type": "node"}, "parent": {"type": "node"},
			"extra": {"type": "string_t"}, "gated": {"type": "string_t"}, "unmapped": {"type": "object"}
		}
	}`,
	"profiles/p1.json": `{"name": "p1", "meta": "profile", "annotations": {"group": "context"},
		"attributes": {"extra": {"requirement": "optional"}, "gated": {"requirement": "optional"}}}`,
	"events/base.json": `{"name": "base", "category": "other", "attributes": {
		"$include": ["profiles/p1.json"],
		"activity_id": {"requirement": "required"}, "class_uid": {"requirement": "required"},
		"category_uid": {"requirement": "required"}, "type_uid": {"requirement": "required"},
		"time": {"requirement": "required"}, "unmapped": {"requirement": "optional"}}}`,
	"events/child.json": `{"name": "child", "caption": "Child", "extends": "base", "category": "findings", "uid": 4, "attributes": {
		"activity_id": {"enum": {"1": {"caption": "Create"}}},
		"extra": {"profile": null}, "node": {"requirement": "recommended"}, "tags": {"requirement": "optional"}}}`,
	"objects/_entity.json": `{"name": "_entity", "attributes": {"name": {}, "uid": {}}, "constraints": {"at_least_one": ["name", "uid"]}}`,
	"objects/node.json": `{"name": "node", "extends": "_entity", "attributes": {
		"ip": {"requirement": "required"}, "port": {}, "parent": {}, "uid": {"profile": "p1"}}}`,
	"objects/observable.json": `{"name": "observable", "attributes": {}}`,
}

func writeMiniSchema(t *testing.T) string {
	dir := t.TempDir()
	for name, content := range miniSchema {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	return dir
}

func generateMini(t *testing.T, profiles ...string) (map[string]any, *jsonschema.Schema) {
	t.Helper()
	out := t.TempDir()
	require.NoError(t, generate(writeMiniSchema(t), out, profiles, []string{"child"}))
	path := filepath.Join(out, "child.json")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(data, &schema))
	compiled, err := jsonschema.NewCompiler().Compile(path)
	require.NoError(t, err, "the output is a schema the validator compiles")
	return schema, compiled
}

func at(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		require.True(t, ok, "%s: not an object in %v", p, path)
		v = m[p]
	}
	return v
}

func TestClassIsResolvedAsTheCompilerDoes(t *testing.T) {
	schema, _ := generateMini(t)
	props := at(t, schema, "properties").(map[string]any)
	assert.Equal(t, []any{2004.0}, at(t, props, "class_uid", "enum"), "category uid × 1000 + the class's own")
	assert.Equal(t, []any{2.0}, at(t, props, "category_uid", "enum"))
	assert.Equal(t, []any{0.0, 1.0, 99.0}, at(t, props, "activity_id", "enum"), "the parent's enum merged with the child's")
	assert.Equal(t, []any{200400.0, 200401.0, 200499.0}, at(t, props, "type_uid", "enum"))
	assert.Contains(t, props, "extra", "the child un-gated it with profile: null")
	assert.NotContains(t, props, "gated", "its profile is not applied")
	assert.Equal(t, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}, props["tags"])
	assert.ElementsMatch(t, []any{"activity_id", "category_uid", "class_uid", "time", "type_uid"}, schema["required"])
	assert.Equal(t, false, schema["additionalProperties"])

	node := at(t, schema, "$defs", "node").(map[string]any)
	assert.Equal(t, map[string]any{"$ref": "#/$defs/node"}, at(t, node, "properties", "parent"), "a recursive object refers to itself")
	assert.Equal(t, []any{map[string]any{"required": []any{"name"}}}, node["anyOf"], "the inherited constraint, over the attributes it kept")
	assert.Equal(t, map[string]any{"type": "integer", "minimum": 0.0, "maximum": 65535.0}, at(t, node, "properties", "port"))
	ip := at(t, node, "properties", "ip").(map[string]any)
	assert.Equal(t, 15.0, ip["maxLength"])
	assert.True(t, strings.HasPrefix(ip["pattern"].(string), "^[0-9]"))
	assert.Equal(t, []any{"ip"}, node["required"])
}

func TestAppliedProfileBringsItsAttributes(t *testing.T) {
	schema, _ := generateMini(t, "p1")
	assert.Contains(t, at(t, schema, "properties"), "gated")
	assert.Contains(t, at(t, schema, "$defs", "node", "properties"), "uid")
	assert.Len(t, at(t, schema, "$defs", "node", "anyOf"), 2)
}

func TestGeneratedSchemaValidates(t *testing.T) {
	_, compiled := generateMini(t)
	valid := `{"activity_id": 1, "class_uid": 2004, "category_uid": 2, "type_uid": 200401, "time": 1,
		"node": {"name": "n", "ip": "192.0.2.1", "parent": {"name": "p", "ip": "192.0.2.2"}}, "unmapped": {"anything": [1, {"x": null}]}}`
	require.NoError(t, compiled.Validate(decode(t, valid)))
	for name, body := range map[string]string{
		"type_uid of another activity": `{"activity_id": 1, "class_uid": 2004, "category_uid": 2, "type_uid": 200402, "time": 1}`,
		"unknown property":             `{"activity_id": 1, "class_uid": 2004, "category_uid": 2, "type_uid": 200401, "time": 1, "nope": 1}`,
		"missing required":             `{"activity_id": 1, "class_uid": 2004, "category_uid": 2, "type_uid": 200401}`,
		"not an ip in a nested object": `{"activity_id": 1, "class_uid": 2004, "category_uid": 2, "type_uid": 200401, "time": 1, "node": {"name": "n", "parent": {"name": "p", "ip": "host.example"}}}`,
		"constraint unmet":             `{"activity_id": 1, "class_uid": 2004, "category_uid": 2, "type_uid": 200401, "time": 1, "node": {"ip": "192.0.2.1"}}`,
		"port out of range":            `{"activity_id": 1, "class_uid": 2004, "category_uid": 2, "type_uid": 200401, "time": 1, "node": {"name": "n", "ip": "192.0.2.1", "port": 70000}}`,
	} {
		assert.Error(t, compiled.Validate(decode(t, body)), name)
	}
}

func TestCycleAndUnknownNamesFail(t *testing.T) {
	dir := writeMiniSchema(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "objects", "node.json"), []byte(`{"name": "node", "extends": "node"}`), 0o644))
	err := generate(dir, t.TempDir(), nil, []string{"child"})
	assert.ErrorContains(t, err, "extends itself")
	assert.ErrorContains(t, generate(writeMiniSchema(t), t.TempDir(), nil, []string{"nosuch"}), `no event "nosuch"`)
}

func decode(t *testing.T, s string) any {
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
	require.NoError(t, err)
	return v
}

// committedClasses and committedProfiles are what internal/ocsf/ocsftest/testdata/schema was generated
// with (its README gives the command).
var (
	committedClasses  = []string{"detection_finding", "data_security_finding", "network_activity", "base_event"}
	committedProfiles = []string{"host"}
)

// TestCommittedSchemasAreUpToDate regenerates the committed schemas from the OCSF source, when
// there is one beside the repository (or at $OCSF_SCHEMA_DIR), and compares them byte for byte.
func TestCommittedSchemasAreUpToDate(t *testing.T) {
	committed := filepath.Join("..", "..", "ocsftest", "testdata", "schema")
	src := os.Getenv("OCSF_SCHEMA_DIR")
	if src == "" {
		src = filepath.Join("..", "..", "..", "..", "..", "shared", "ocsf-schema-1.8.0")
	}
	if _, err := os.Stat(filepath.Join(src, "version.json")); err != nil {
		t.Skipf("no OCSF 1.8.0 schema source at %s (set OCSF_SCHEMA_DIR)", src)
	}
	out := t.TempDir()
	require.NoError(t, generate(src, out, committedProfiles, committedClasses))
	for _, class := range committedClasses {
		want, err := os.ReadFile(filepath.Join(out, class+".json"))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(committed, class+".json"))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%s.json is not what the generator writes: regenerate it (ocsftest/testdata/schema/README.md)", class)
	}
}
