package usmcentral

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// DeploymentsPath lists the console's deployments (its tenants).
const DeploymentsPath = "/api/1.1/deployments"

// Deployment is one USM Anywhere (or USM Appliance) deployment the console manages.
type Deployment struct {
	// ID is "cn://<fqdn>", the tenantId of the deployment's alarms and events.
	ID, Name, DisplayName, FQDN, Type string
	ConnectionStatus                  string
	// Authorized is false when the console says so; an answer without the field counts as true.
	Authorized bool
}

// Tenant is the deployment's identity on records and metrics: its fqdn.
func (d Deployment) Tenant() string {
	return cmp(d.FQDN, tenantFromID(d.ID), d.Name)
}

// Status is the connection status the deployments gauge reports: "unauthorized" when the console
// may not read the deployment, otherwise its connectionStatus in lower case.
func (d Deployment) Status() string {
	if !d.Authorized {
		return "unauthorized"
	}
	return cmp(strings.ToLower(d.ConnectionStatus), "unknown")
}

// Healthy is true for an authorized, connected deployment: one whose data reaches the console.
func (d Deployment) Healthy() bool { return d.Status() == "connected" }

// tenantFromID turns a tenantId ("cn://acme.alienvault.cloud") into the fqdn it names.
func tenantFromID(id string) string { return strings.TrimPrefix(id, "cn://") }

func cmp(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// DirectoryConfig selects the deployments to read and how often to list them again.
type DirectoryConfig struct {
	// RefreshEvery is how many polls of a stream pass between listings; the first poll lists.
	RefreshEvery int
	// Include, when not empty, keeps only the deployments named; Exclude drops those named. A
	// deployment is named by its name or its fqdn.
	Include, Exclude []string
	// OnStatus is told of a deployment whose status changed since the previous listing, and on
	// the first listing of each one that is not connected: a silent tenant must not go unnoticed.
	OnStatus func(d Deployment, previous string)
	// OnError is told of a listing that failed while an older one stays in use.
	OnError func(err error)
}

// Directory is the console's deployments as last listed, shared by every stream of the source.
// Its lock guards the listing in memory only: a slow /deployments answer never holds up a stream
// that only looks a deployment up.
type Directory struct {
	api *apiclient.Client
	cfg DirectoryConfig
	now func() time.Time

	// listing is held for the whole of a listing, so that concurrent callers wait for one
	// answer instead of each asking: a caller that finds a listing was taken in while it waited
	// (listings moved) asks nothing.
	listing sync.Mutex

	mu       sync.Mutex
	listed   bool
	listings int // listings taken in
	byID     map[string]Deployment
	polls    map[string]int
	// connectedAt is when each deployment was last listed as connected.
	connectedAt map[string]time.Time
	// reconnects are, per stream watching for them, the deployments that came back since the
	// stream last asked.
	reconnects map[string][]Reconnect
}

// Reconnect is a deployment the console lists as connected again after it was not: the records
// it buffered meanwhile arrive with their original times.
type Reconnect struct {
	Deployment Deployment
	// Since is when it was last listed as connected before, zero when this process never saw
	// it connected.
	Since time.Time
}

// NewDirectory returns a directory that lists nothing until first asked.
func NewDirectory(api *apiclient.Client, cfg DirectoryConfig) *Directory {
	return &Directory{
		api: api, cfg: cfg, now: time.Now,
		byID: map[string]Deployment{}, polls: map[string]int{},
		connectedAt: map[string]time.Time{}, reconnects: map[string][]Reconnect{},
	}
}

// Watch makes stream collect the deployments that reconnect, for Reconnected.
func (d *Directory) Watch(stream string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.reconnects[stream]; !ok {
		d.reconnects[stream] = []Reconnect{}
	}
}

// Reconnected returns, once each, the watched deployments that reconnected since stream asked last.
func (d *Directory) Reconnected(stream string) []Reconnect {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.reconnects[stream]
	if len(out) > 0 {
		d.reconnects[stream] = []Reconnect{}
	}
	return out
}

// ConnectedAt is when each watched deployment was last listed as connected, to the minute: the
// streams keep it in their checkpoints, so that a deployment that reconnects after a restart is
// still read again from there. The minute keeps the checkpoint from changing at every listing,
// at the cost of up to a minute of records read twice.
func (d *Directory) ConnectedAt() map[string]time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]time.Time, len(d.connectedAt))
	for id, t := range d.connectedAt {
		out[id] = t.Truncate(time.Minute)
	}
	return out
}

// RestoreConnectedAt takes the times a previous run kept, where it knows none later.
func (d *Directory) RestoreConnectedAt(kept map[string]time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, t := range kept {
		if t.After(d.connectedAt[id]) {
			d.connectedAt[id] = t
		}
	}
}

// Polled counts one poll of stream and lists the deployments when RefreshEvery polls of one
// stream passed since the last listing, or none succeeded yet. It fails only while no listing
// ever succeeded: include and exclude cannot be applied before one.
func (d *Directory) Polled(ctx context.Context, stream string) error {
	d.mu.Lock()
	d.polls[stream]++
	due := !d.listed || d.polls[stream] >= d.cfg.RefreshEvery
	listings := d.listings
	d.mu.Unlock()
	if !due {
		return nil
	}
	return d.refresh(ctx, listings)
}

// Refresh lists the deployments now, e.g. because a record names a tenant not listed before.
// When that fails after an earlier listing succeeded, the failure is reported and the earlier
// listing kept.
func (d *Directory) Refresh(ctx context.Context) error {
	d.mu.Lock()
	listings := d.listings
	d.mu.Unlock()
	return d.refresh(ctx, listings)
}

// refresh lists the deployments unless a listing newer than the listings-th was taken in
// meanwhile (while the caller waited for another's): that one answers for it.
func (d *Directory) refresh(ctx context.Context, listings int) error {
	d.listing.Lock()
	defer d.listing.Unlock()
	d.mu.Lock()
	answered := d.listings != listings
	d.mu.Unlock()
	if answered {
		return nil
	}
	all, err := ListDeployments(ctx, d.api)
	d.mu.Lock()
	listed := d.listed
	if err == nil {
		d.apply(all)
	}
	d.mu.Unlock()
	switch {
	case err == nil:
		return nil
	case !listed:
		return fmt.Errorf("listing deployments: %w", err)
	}
	if d.cfg.OnError != nil {
		d.cfg.OnError(fmt.Errorf("listing deployments: %w", err))
	}
	return nil
}

// apply takes a listing in; d.mu is held.
func (d *Directory) apply(all []Deployment) {
	clear(d.polls)
	now := d.now()
	byID := make(map[string]Deployment, len(all))
	for _, dep := range all {
		byID[dep.ID] = dep
		previous := ""
		if old, ok := d.byID[dep.ID]; ok {
			previous = old.Status()
		}
		if !d.Watched(dep) {
			continue
		}
		if d.cfg.OnStatus != nil && dep.Status() != previous && (previous != "" || !dep.Healthy()) {
			d.cfg.OnStatus(dep, previous)
		}
		if dep.Healthy() {
			if previous != "" && previous != dep.Status() {
				for stream := range d.reconnects {
					d.reconnects[stream] = append(d.reconnects[stream], Reconnect{Deployment: dep, Since: d.connectedAt[dep.ID]})
				}
			}
			d.connectedAt[dep.ID] = now
		}
	}
	d.byID, d.listed = byID, true
	d.listings++
}

// Lookup returns the listed deployment whose tenantId is id.
func (d *Directory) Lookup(id string) (Deployment, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dep, ok := d.byID[id]
	return dep, ok
}

// Find returns the deployment called name (or with that fqdn), listing the deployments first if
// they never were, or again if name is not among them.
func (d *Directory) Find(ctx context.Context, name string) (Deployment, error) {
	if dep, ok := d.find(name); ok {
		return dep, nil
	}
	if err := d.Refresh(ctx); err != nil {
		return Deployment{}, err
	}
	if dep, ok := d.find(name); ok {
		return dep, nil
	}
	return Deployment{}, fmt.Errorf("no deployment called %q among the console's deployments", name)
}

func (d *Directory) find(name string) (Deployment, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.findLocked(name)
}

func (d *Directory) findLocked(name string) (Deployment, bool) {
	for _, dep := range d.byID {
		if named(dep, name) {
			return dep, true
		}
	}
	return Deployment{}, false
}

// Watched applies Include and Exclude.
func (d *Directory) Watched(dep Deployment) bool {
	in := func(names []string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return named(dep, n) })
	}
	return (len(d.cfg.Include) == 0 || in(d.cfg.Include)) && !in(d.cfg.Exclude)
}

// Counts returns how many watched deployments are in each status, listing them first if they
// never were.
func (d *Directory) Counts(ctx context.Context) (map[string]int64, error) {
	d.mu.Lock()
	listed := d.listed
	d.mu.Unlock()
	if !listed {
		if err := d.Refresh(ctx); err != nil {
			return nil, err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	counts := map[string]int64{}
	for _, dep := range d.byID {
		if d.Watched(dep) {
			counts[dep.Status()]++
		}
	}
	return counts, nil
}

func named(dep Deployment, name string) bool {
	return name != "" && (dep.Name == name || strings.EqualFold(dep.Tenant(), name))
}

// ListDeployments reads the console's deployments. The API answers a bare JSON array; a HAL page
// (_embedded.deployments) or a search-style {results} is read too.
func ListDeployments(ctx context.Context, api *apiclient.Client) ([]Deployment, error) {
	u := api.URL(DeploymentsPath, nil)
	body, err := api.Get(ctx, u)
	if err != nil {
		return nil, err
	}
	var items []any
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '[' {
		err = apiclient.DecodeJSON(u, body, &items)
	} else {
		var page answer
		err = apiclient.DecodeDocument(u, body, page.Read)
		items = append(page.Items("deployments"), page.Results...)
	}
	if err != nil {
		return nil, err
	}
	objects, _ := record.Objects(items)
	out := make([]Deployment, 0, len(objects))
	for _, obj := range objects {
		dep := Deployment{
			ID:               record.String(obj, "id"),
			Name:             record.String(obj, "name"),
			DisplayName:      record.String(obj, "displayName", "display_name"),
			FQDN:             record.String(obj, "fqdn"),
			Type:             record.String(obj, "type"),
			ConnectionStatus: record.String(obj, "connectionStatus", "connection_status"),
			Authorized:       record.String(obj, "authorized") != "false",
		}
		if dep.ID == "" && dep.FQDN != "" {
			dep.ID = "cn://" + dep.FQDN
		}
		if dep.ID != "" {
			out = append(out, dep)
		}
	}
	return out, nil
}
