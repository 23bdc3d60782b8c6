package simulator

import (
	"encoding/json"
	"maps"
	"testing"
	"time"
)

// canonical is a record's JSON, keys sorted: two records with the same fields have the same.
func canonical(t *testing.T, fields map[string]any) string {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	decode(t, b, &v) // numbers as float64 on both sides
	b, _ = json.Marshal(v)
	return string(b)
}

// byFields indexes a stream's records by their canonical fields, and fails unless that tells
// every record apart.
func byFields(t *testing.T, records []Record) map[string]Record {
	t.Helper()
	out := make(map[string]Record, len(records))
	for _, r := range records {
		key := canonical(t, r.Fields)
		if _, dup := out[key]; dup {
			t.Fatalf("two records share their fields: %s", key)
		}
		out[key] = r
	}
	return out
}

func TestRecordsWithoutIDs(t *testing.T) {
	sim, c := start(t, Options{Seed: 61, Backlog: 200, BacklogEnd: fixedEnd, MissingIDFraction: 0.3, RateLimit: -1, TrendCASPerMinute: -1, TrendCASPerDay: -1, TrendCASHorizon: -1})
	token := c.token()
	// idKeys are where each stream's records carry their id.
	for _, tc := range []struct {
		stream streamKey
		idKeys [][]string
		served func() []map[string]any
	}{
		{streamKey{usmAnywhere, "alarm"}, [][]string{{"uuid"}, {"id"}}, func() []map[string]any {
			return c.page("/api/2.0/alarms?size=1000", token).items("alarms")
		}},
		{streamKey{usmAnywhere, "event"}, [][]string{{"uuid"}, {"id"}}, func() []map[string]any {
			return c.page("/api/2.0/events?size=1000", token).items("events")
		}},
		{streamKey{usmCentral, "alarm"}, [][]string{{"id"}, {"alarm", "uuid"}}, func() []map[string]any {
			return c.searchOK("/api/1.1/alarms", token, map[string]any{"page": 1, "size": 1000}).Results
		}},
		{streamKey{trendCAS, trendKind}, [][]string{{"log_item_id"}, {"message", "log_item_id"}}, func() []map[string]any {
			var all []map[string]any
			for _, s := range trendServices {
				for _, e := range trendEvents {
					all = append(all, walkPair(t, c, trendQuery(s.name, e[0], fixedEnd.Add(-25*time.Hour), fixedEnd, 500))...)
				}
			}
			return all
		}},
	} {
		t.Run(tc.stream.String(), func(t *testing.T) {
			records := sim.Records(tc.stream.source, tc.stream.kind)
			index := byFields(t, records)
			missing := 0
			for _, r := range records {
				hasID := false
				for _, key := range tc.idKeys {
					hasID = hasID || fieldAt(r.Fields, key) != nil
				}
				if hasID != r.HasID {
					t.Fatalf("record %s: HasID %v, but its fields carry an id: %v", r.ID, r.HasID, hasID)
				}
				if !r.HasID {
					missing++
				}
			}
			if missing < len(records)/5 || missing > len(records)/2 {
				t.Errorf("%d of %d records without ids, want about 30%%", missing, len(records))
			}
			served := tc.served()
			if len(served) != len(records) {
				t.Fatalf("served %d records of %d", len(served), len(records))
			}
			for _, item := range served {
				links, hasLinks := item["_links"]
				item = maps.Clone(item)
				delete(item, "_links")
				r, ok := index[canonical(t, item)]
				if !ok {
					t.Fatalf("served a record that Records does not hold: %v", item)
				}
				if tc.stream.source == usmAnywhere && hasLinks != r.HasID {
					t.Errorf("record %s (has id %v) served with links %v", r.ID, r.HasID, links)
				}
			}
		})
	}
	for _, r := range sim.Records(ciscoSource, "alert") {
		if !r.HasID || r.Fields["id"] != r.ID {
			t.Fatalf("a Cisco alert without its id: %+v", r)
		}
	}
	if ids := sim.IDs(usmAnywhere, "alarm"); len(ids) != 200 {
		t.Errorf("IDs lists %d alarms, want every one of the 200, with or without ids", len(ids))
	}
}

func TestRecordsOverHTTP(t *testing.T) {
	sim, c := start(t, Options{Seed: 65, Backlog: 10, MissingIDFraction: 0.5})
	var got []Record
	decode(t, c.get("/_sim/records?source=usm_anywhere&kind=event", "").body, &got)
	want := sim.Records(usmAnywhere, "event")
	if len(got) != 10 || len(want) != 10 {
		t.Fatalf("/_sim/records: %d records, Records %d", len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID || got[i].HasID != want[i].HasID || !got[i].Occurred.Equal(want[i].Occurred) ||
			canonical(t, got[i].Fields) != canonical(t, want[i].Fields) {
			t.Errorf("record %d: %+v over HTTP, %+v in Go", i, got[i], want[i])
		}
	}
	if resp := c.get("/_sim/records?source=usm_anywhere&kind=incident", ""); resp.status != 404 {
		t.Errorf("an unknown stream: %d", resp.status)
	}
}

func TestRecordsAreCopies(t *testing.T) {
	sim := New(Options{Seed: 62, Backlog: 5})
	defer sim.Close()
	r := sim.Records(usmAnywhere, "alarm")[0]
	r.Fields["status"] = "tampered"
	r.Fields["events"].([]map[string]any)[0]["uuid"] = "tampered"
	again := sim.Records(usmAnywhere, "alarm")[0]
	if again.Fields["status"] == "tampered" || again.Fields["events"].([]map[string]any)[0]["uuid"] == "tampered" {
		t.Error("changing what Records returned changed the record served")
	}
}

func TestCentralElasticsearchTotalAndResultWindow(t *testing.T) {
	_, c := start(t, Options{Seed: 63, Backlog: 150, BacklogEnd: fixedEnd, CentralTotalCap: 100, CentralResultWindow: 50})
	token := c.token()
	total := func(body map[string]any) map[string]any {
		resp := c.search("/api/1.1/alarms", token, body)
		var a struct {
			Total map[string]any `json:"total"`
		}
		decode(t, resp.body, &a)
		return a.Total
	}
	if got := total(map[string]any{"page": 1, "size": 10}); got["value"] != 100.0 || got["relation"] != "gte" {
		t.Errorf("150 hits under a cap of 100: total %v, want 100 gte", got)
	}
	few := total(map[string]any{"page": 1, "size": 10, "find": map[string][]string{"alarm.priority_label": {"critical"}}})
	if v, _ := few["value"].(float64); few["relation"] != "eq" || v <= 0 || v >= 100 {
		t.Errorf("the critical alarms: total %v, want their exact count, eq", few)
	}

	if resp := c.search("/api/1.1/alarms", token, map[string]any{"page": 5, "size": 10}); resp.status != 200 {
		t.Errorf("page 5 of 10 ends at the window of 50: %d %s", resp.status, resp.body)
	}
	for _, body := range []map[string]any{{"page": 6, "size": 10}, {"page": 1, "size": 51}} {
		resp := c.search("/api/1.1/alarms", token, body)
		var e struct {
			Status  int    `json:"status"`
			Error   string `json:"error"`
			Message string `json:"message"`
			Path    string `json:"path"`
		}
		decode(t, resp.body, &e)
		if resp.status != 400 || e.Status != 400 || e.Path != "/api/1.1/alarms" || !json.Valid(resp.body) ||
			e.Message[:len("Result window is too large")] != "Result window is too large" {
			t.Errorf("%v beyond the window: %d %s", body, resp.status, resp.body)
		}
	}
}

func TestCentralTotalIsANumberByDefault(t *testing.T) {
	_, c := start(t, Options{Seed: 64, Backlog: 30})
	resp := c.search("/api/1.1/alarms", c.token(), map[string]any{"page": 100, "size": 1000})
	var a map[string]any
	decode(t, resp.body, &a)
	if resp.status != 200 || a["total"] != 30.0 {
		t.Errorf("page 100 of 1000 without a result window: %d, total %v", resp.status, a["total"])
	}
}
