package simulator

import (
	"maps"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// ciscoWorld is Cisco's mutable view of the records the core generates: it numbers them with
// modification sequence numbers as they appear, links them (event → threat detections → alerts)
// and changes alerts over time. It imports lazily, at every request, what the core generated
// since the last one.
type ciscoWorld struct {
	s          *Simulator
	updateRate float64
	started    time.Time

	mu         sync.Mutex
	rng        *rand.Rand
	seq        int64
	imported   map[string]int // kind → records imported from the core store
	alerts     []*ciscoAlertState
	alertByID  map[string]*ciscoAlertState
	detections seqList
	events     seqList
	flows      seqList
	byID       map[string]*ciscoObject // detections, for the bulk search
	updated    int
}

type ciscoAlertState struct {
	fields              map[string]any // replaced, never changed in place: pages share it
	triggered, modified int64          // epoch ms
}

// ciscoObject is a detection, event or flow; links are its parents' ids.
type ciscoObject struct {
	msn    int64
	fields map[string]any
	links  []string
}

// seqList keeps objects in modification sequence order.
type seqList struct{ items []*ciscoObject }

func (l *seqList) add(o *ciscoObject) { l.items = append(l.items, o) }

// after returns up to size objects numbered above msn, and whether more follow.
func (l *seqList) after(msn int64, size int) ([]*ciscoObject, bool) {
	i := sort.Search(len(l.items), func(i int) bool { return l.items[i].msn > msn })
	rest := l.items[i:]
	if len(rest) > size {
		return rest[:size], true
	}
	return rest, false
}

func newCiscoWorld(s *Simulator) *ciscoWorld {
	return &ciscoWorld{
		s: s, updateRate: s.opts.UpdatesPerSecond, started: time.Now(),
		rng:       rand.New(rand.NewPCG(s.opts.Seed, 0xc15c0)),
		imported:  map[string]int{},
		alertByID: map[string]*ciscoAlertState{},
		byID:      map[string]*ciscoObject{},
	}
}

// sync imports new records and applies the alert changes due; the caller holds mu.
func (w *ciscoWorld) sync(now time.Time) {
	for _, r := range w.newRecords("alert") {
		a := &ciscoAlertState{fields: r.fields, triggered: r.occurred}
		a.modified = parseCiscoTime(r.fields["modifiedAt"], r.occurred)
		w.alerts = append(w.alerts, a)
		w.alertByID[r.id] = a
	}
	for _, r := range w.newRecords("threat_detection") {
		o := w.number(r, w.pickAlerts())
		w.detections.add(o)
		w.byID[r.id] = o
	}
	for _, r := range w.newRecords("event") {
		var links []string
		if w.rng.Float64() < 0.6 && len(w.detections.items) > 0 { // convicting; the others are contextual
			links = append(links, w.detections.items[w.rng.IntN(len(w.detections.items))].fields["id"].(string))
		}
		w.events.add(w.number(r, links))
	}
	for _, r := range w.newRecords("flow") {
		w.flows.add(w.number(r, nil))
	}
	due := int(now.Sub(w.started).Seconds()*w.updateRate) - w.updated
	for range due {
		w.changeAlert(now)
	}
	w.updated += max(due, 0)
}

func (w *ciscoWorld) newRecords(kind string) []record {
	recs := w.s.store(ciscoSource, kind).generatedAfter(w.imported[kind])
	w.imported[kind] += len(recs)
	return recs
}

func (w *ciscoWorld) number(r record, links []string) *ciscoObject {
	w.seq++
	return &ciscoObject{msn: w.seq, fields: r.fields, links: links}
}

// pickAlerts links a detection to one alert, now and then two.
func (w *ciscoWorld) pickAlerts() []string {
	if len(w.alerts) == 0 {
		return nil
	}
	ids := []string{w.alerts[w.rng.IntN(len(w.alerts))].fields["id"].(string)}
	if w.rng.Float64() < 0.1 {
		other := w.alerts[w.rng.IntN(len(w.alerts))].fields["id"].(string)
		if other != ids[0] {
			ids = append(ids, other)
		}
	}
	return ids
}

// changeAlert moves a random alert along New → Open → Closed (sometimes reopened) or changes
// its risk, and bumps modifiedAt, in whichever shape (status or state) the alert has.
func (w *ciscoWorld) changeAlert(now time.Time) {
	if len(w.alerts) == 0 {
		return
	}
	a := w.alerts[w.rng.IntN(len(w.alerts))]
	fields := maps.Clone(a.fields)
	if w.rng.Float64() < 0.3 {
		rank := min(max(ciscoRiskRank[fields["risk"].(string)]+pick(w.rng, []int{-1, 1}), 1), 4)
		for risk, r := range ciscoRiskRank {
			if r == rank {
				fields["risk"] = risk
			}
		}
	} else {
		next := map[string]string{"New": "Open", "Open": "Closed", "Closed": "Open"}[ciscoStatus(fields)]
		if _, deprecated := fields["state"]; deprecated {
			fields["state"] = next
		} else {
			fields["status"] = map[string]any{"value": next, "closingReasons": nil}
		}
	}
	a.modified = max(now.UnixMilli(), a.modified+1)
	fields["modifiedAt"] = ciscoTime(time.UnixMilli(a.modified))
	a.fields = fields
}

func ciscoStatus(fields map[string]any) string {
	if st, ok := fields["status"].(map[string]any); ok {
		if v, ok := st["value"].(string); ok {
			return v
		}
	}
	s, _ := fields["state"].(string)
	return s
}

func parseCiscoTime(v any, fallback int64) int64 {
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fallback
	}
	return t.UnixMilli()
}

// render copies an object for a response; withLinks adds its parents under key.
func (o *ciscoObject) render(key string) map[string]any {
	out := maps.Clone(o.fields)
	if key != "" {
		out[key] = append([]string{}, o.links...)
	}
	return out
}
