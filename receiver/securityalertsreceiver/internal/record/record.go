// Package record holds the vendor-neutral record every source client produces and the engine
// delivers: an id, an occurrence time, a normalized severity and the vendor object itself.
package record

import "time"

// Record is one vendor object (alarm, alert, detection or event) ready for emission.
type Record struct {
	// ID is the vendor's identifier; the engine de-duplicates on it at checkpoint boundaries.
	ID string
	// Kind is alarm, event, alert, threat_detection or security_event.
	Kind string
	// Tenant identifies whose data this is (subdomain host, customer id, …).
	Tenant string
	// Time is when the vendor says it occurred; zero when the object carries no usable time.
	Time time.Time
	// Modified, set by streams that re-emit a record each time the vendor changes it, is when it
	// was last changed. Such a stream progresses by Modified rather than Time, and each
	// modification is a version of its own: the engine de-duplicates on ID and Modified.
	Modified time.Time
	// Severity is normalized; SeverityText keeps the vendor's own label.
	Severity     Severity
	SeverityText string
	// Attributes are normalized attributes (semantic conventions) beyond the contract's own.
	// Each value is a string, an int64 or a []string (a multi-valued field): the setters of
	// attributes.go keep that invariant, and no value is empty.
	Attributes map[string]any
	// Title is the vendor's short summary of the object (its rule, detection or event name),
	// when it has one. It is no attribute of its own (no convention names it): an OCSF body
	// uses it as the finding's title.
	Title string
	// Body is the vendor object as decoded JSON, every field kept. Numbers are json.Number.
	Body map[string]any
}

// Updated tells a version of a record the vendor modified after it occurred (a Cisco alert
// emitted again), not its first.
func (r Record) Updated() bool { return !r.Time.IsZero() && r.Modified.After(r.Time) }
