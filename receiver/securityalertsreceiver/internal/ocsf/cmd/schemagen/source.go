package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// item is a class, object or profile as the schema source writes it: caption, extends,
// attributes, constraints, …
type item = map[string]any

// source is an OCSF schema source tree (the ocsf-schema repository's layout) with its classes
// and objects resolved: every $include merged in, every extends flattened. Extensions are not
// read: the events this project emits use none.
type source struct {
	dir        string
	version    string
	dictionary map[string]any // attribute name → details
	types      map[string]any // type name → details
	categories map[string]any // category name → details
	raw        map[string]map[string]item
	resolved   map[string]map[string]item
	includes   map[string]item
}

const (
	classes = "events"
	objects = "objects"
)

func loadSource(dir string) (*source, error) {
	s := &source{dir: dir, raw: map[string]map[string]item{}, resolved: map[string]map[string]item{classes: {}, objects: {}}, includes: map[string]item{}}
	version, err := readItem(filepath.Join(dir, "version.json"))
	if err != nil {
		return nil, err
	}
	s.version, _ = version["version"].(string)
	dict, err := readItem(filepath.Join(dir, "dictionary.json"))
	if err != nil {
		return nil, err
	}
	s.dictionary, _ = dict["attributes"].(map[string]any)
	types, _ := dict["types"].(map[string]any)
	s.types, _ = types["attributes"].(map[string]any)
	cats, err := readItem(filepath.Join(dir, "categories.json"))
	if err != nil {
		return nil, err
	}
	s.categories, _ = cats["attributes"].(map[string]any)
	for _, kind := range []string{classes, objects} {
		if s.raw[kind], err = readItems(filepath.Join(dir, kind)); err != nil {
			return nil, err
		}
	}
	if s.version == "" || s.dictionary == nil || s.types == nil || s.categories == nil {
		return nil, fmt.Errorf("%s: not an OCSF schema source (version, dictionary attributes and types, categories)", dir)
	}
	return s, nil
}

func readItem(path string) (item, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var it item
	if err := json.Unmarshal(data, &it); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return it, nil
}

// readItems reads every JSON file under dir, by the name each declares.
func readItems(dir string) (map[string]item, error) {
	items := map[string]item{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		it, err := readItem(path)
		if err != nil {
			return err
		}
		name, _ := it["name"].(string)
		if name == "" {
			return fmt.Errorf("%s: no name", path)
		}
		items[name] = it
		return nil
	})
	return items, err
}

// item returns the class or object name with its includes and its parents merged in. A
// parent's keys are inherited unless the item sets them (its constraints, say, replace the
// parent's); attributes merge detail by detail, the item's winning.
func (s *source) item(kind, name string) (item, error) {
	if it, ok := s.resolved[kind][name]; ok {
		if it == nil {
			return nil, fmt.Errorf("%s %q extends itself", kind, name)
		}
		return it, nil
	}
	raw, ok := s.raw[kind][name]
	if !ok {
		return nil, fmt.Errorf("no %s %q", strings.TrimSuffix(kind, "s"), name)
	}
	s.resolved[kind][name] = nil // marks the walk up the parents, to catch a cycle
	own := deepCopy(raw).(item)
	if err := s.resolveIncludes(own); err != nil {
		return nil, fmt.Errorf("%s %q: %w", kind, name, err)
	}
	merged := own
	if parentName, _ := own["extends"].(string); parentName != "" {
		parent, err := s.item(kind, parentName)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", kind, name, err)
		}
		merged = deepCopy(parent).(item)
		for k, v := range own {
			if k == "attributes" {
				mergeAttributes(attributesOf(merged), v.(map[string]any))
			} else {
				merged[k] = v
			}
		}
	}
	s.resolved[kind][name] = merged
	return merged, nil
}

func attributesOf(it item) map[string]any {
	attrs, ok := it["attributes"].(map[string]any)
	if !ok {
		attrs = map[string]any{}
		it["attributes"] = attrs
	}
	return attrs
}

// resolveIncludes merges the files an item's attributes $include (profiles, mostly) under its
// own attributes. A profile's attributes are marked with the profile's name: they exist only
// where the profile is applied, unless the item sets "profile": null on them.
func (s *source) resolveIncludes(it item) error {
	attrs := attributesOf(it)
	paths, err := includePaths(attrs["$include"])
	if err != nil {
		return err
	}
	delete(attrs, "$include")
	base := map[string]any{}
	for _, path := range paths {
		inc, err := s.include(path)
		if err != nil {
			return err
		}
		incAttrs, _ := deepCopy(attributesOf(inc)).(map[string]any)
		annotations, _ := inc["annotations"].(map[string]any)
		for _, a := range incAttrs {
			detail := a.(map[string]any)
			if inc["meta"] == "profile" {
				detail["profile"] = inc["name"]
			}
			for k, v := range annotations {
				if _, set := detail[k]; !set {
					detail[k] = v
				}
			}
		}
		mergeAttributes(base, incAttrs)
	}
	for name, a := range attrs {
		detail, _ := a.(map[string]any)
		if path, ok := detail["$include"].(string); ok {
			inc, err := s.include(path)
			if err != nil {
				return err
			}
			delete(detail, "$include")
			merged := deepCopy(inc).(map[string]any)
			mergeDetail(merged, detail)
			attrs[name] = merged
		}
	}
	mergeAttributes(base, attrs)
	it["attributes"] = base
	return nil
}

func includePaths(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []any:
		paths := make([]string, 0, len(x))
		for _, p := range x {
			s, ok := p.(string)
			if !ok {
				return nil, fmt.Errorf("$include: %v is not a path", p)
			}
			paths = append(paths, s)
		}
		return paths, nil
	}
	return nil, fmt.Errorf("$include: %T is neither a path nor a list of them", v)
}

func (s *source) include(path string) (item, error) {
	if it, ok := s.includes[path]; ok {
		return it, nil
	}
	it, err := readItem(filepath.Join(s.dir, filepath.FromSlash(path)))
	if err != nil {
		return nil, err
	}
	s.includes[path] = it
	return it, nil
}

// mergeAttributes merges src's attributes into dst, src's details winning.
func mergeAttributes(dst, src map[string]any) {
	for name, a := range src {
		if existing, ok := dst[name].(map[string]any); ok {
			mergeDetail(existing, a.(map[string]any))
		} else {
			dst[name] = deepCopy(a)
		}
	}
}

// mergeDetail merges src into dst: objects (an enum, say) merge key by key, anything else is
// replaced, a "profile": null included.
func mergeDetail(dst, src map[string]any) {
	for k, v := range src {
		sub, isMap := v.(map[string]any)
		if existing, ok := dst[k].(map[string]any); ok && isMap {
			mergeDetail(existing, sub)
		} else {
			dst[k] = deepCopy(v)
		}
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
