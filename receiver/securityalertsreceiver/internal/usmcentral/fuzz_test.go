package usmcentral

import (
	"context"
	"testing"
	"time"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient/apiclienttest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/usm"
)

// FuzzDeployments feeds any body through the deployments listing and the gauge's counts: no
// panic, no deployments with an error, at most one per listed item, each with an id.
func FuzzDeployments(f *testing.F) {
	apiclienttest.AddSeeds(f, "deployments*.json")
	f.Add([]byte(`[{"fqdn":""},{"id":"cn://"},{"authorized":{}},1,[],{"id":7}]`))

	f.Fuzz(func(t *testing.T, body []byte) {
		api := apiclienttest.Canned(t, body)
		deps, err := ListDeployments(context.Background(), api)
		if err != nil && len(deps) > 0 {
			t.Fatalf("deployments and an error: %v", err)
		}
		bound := apiclienttest.Items(body) + apiclienttest.Items(body, "_embedded", "deployments") + apiclienttest.Items(body, "results")
		if len(deps) > bound {
			t.Fatalf("%d deployments from at most %d items", len(deps), bound)
		}
		for _, d := range deps {
			if d.ID == "" {
				t.Fatalf("deployment without id: %+v", d)
			}
		}
		counts, err := NewDirectory(api, DirectoryConfig{}).Counts(context.Background())
		var n int64
		for _, c := range counts {
			n += c
		}
		if err == nil && n > int64(len(deps)) {
			t.Fatalf("%d deployments counted of %d listed", n, len(deps))
		}
	})
}

// FuzzSearch feeds any body as the answer of the alarm and event searches (the deployments
// listing answering as the console does), through a walk's first page, the page it continues
// with, and the open-alarm counts: no panic; at most one record per item, of the list's kind,
// with its body, none after Page.Through; no records with an error.
func FuzzSearch(f *testing.F) {
	deployments := apiclienttest.Seeds(f, "deployments.json")[0]
	apiclienttest.AddSeeds(f, "*search*.json")
	f.Add([]byte(`{"results":[{"tenantId":"cn://"},{"tenant_id":7,"alarm":[]},{"event":"x"}],"total":{"value":"NaN"}}`))
	f.Add([]byte(`{"_embedded":{"events":[{}]},"_links":{"next":{"href":"http://elsewhere.test/"}},"page":{"totalElements":-1}}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		api := apiclienttest.CannedPaths(t, map[string]apiclienttest.Answer{
			DeploymentsPath: {Body: deployments},
			"":              {Body: body},
		})
		streams := NewStreams(api, NewDirectory(api, DirectoryConfig{RefreshEvery: 10}), Config{
			PageSize:     2,
			Alarms:       StreamConfig{Enabled: true, Path: DefaultAlarmsPath},
			Events:       StreamConfig{Enabled: true, Path: DefaultEventsPath},
			DirectEvents: []string{"globex"},
		})
		for _, s := range streams {
			l := s.(*stream).list
			bound := apiclienttest.Items(body, "results")
			for _, key := range l.embedded {
				bound += apiclienttest.Items(body, "_embedded", key)
			}
			q := engine.Range{From: t0}
			for range 2 {
				page, err := rangeStream(s).FetchRange(context.Background(), q)
				checkSearchPage(t, page, err, l.kind, bound)
				next, more := engine.NextRange(q, page, t0.Add(time.Minute))
				if err != nil || !more {
					break
				}
				q = next
			}
		}
		counts, err := OpenAlarms(context.Background(), api, DefaultAlarmsPath)
		if err == nil && len(counts) != len(usm.OpenLabels) {
			t.Fatalf("open alarms counted for %v", counts)
		}
	})
}

func checkSearchPage(t *testing.T, page engine.RangePage, err error, kind string, bound int) {
	t.Helper()
	if err != nil && len(page.Records) > 0 {
		t.Fatalf("records and an error: %v", err)
	}
	if n := len(page.Records) + len(page.Withheld) + page.Malformed; n > bound {
		t.Fatalf("%d records and malformed items from at most %d items", n, bound)
	}
	for _, r := range append(page.Records, page.Withheld...) {
		if r.Kind != kind || r.Body == nil {
			t.Fatalf("record %+v", r)
		}
	}
}
