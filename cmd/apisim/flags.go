package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// durations is a flag of name=duration pairs, comma-separated or repeated: "acme=5m,globex=1m".
type durations map[string]time.Duration

func (d *durations) Set(v string) error { return d.set(v, "") }

// set reads v's pairs; a bare duration is bareKey's, where bareKey is not empty.
func (d *durations) set(v, bareKey string) error {
	for item := range strings.SplitSeq(v, ",") {
		key, value, ok := strings.Cut(item, "=")
		if !ok {
			if bareKey == "" {
				return fmt.Errorf("%q is not name=duration", item)
			}
			key, value = bareKey, item
		}
		key = strings.TrimSpace(key)
		dur, err := time.ParseDuration(strings.TrimSpace(value))
		if err != nil || key == "" {
			return fmt.Errorf("%q is not name=duration", item)
		}
		if *d == nil {
			*d = durations{}
		}
		(*d)[key] = dur
	}
	return nil
}

func (d *durations) String() string {
	if d == nil {
		return ""
	}
	pairs := make([]string, 0, len(*d))
	for _, key := range slices.Sorted(maps.Keys(*d)) {
		pairs = append(pairs, key+"="+(*d)[key].String())
	}
	return strings.Join(pairs, ",")
}

// latencies are durations by source, where a bare duration is every source's ("*").
type latencies durations

func (l *latencies) Set(v string) error { return (*durations)(l).set(v, "*") }
func (l *latencies) String() string     { return (*durations)(l).String() }
