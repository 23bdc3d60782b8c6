package simulator

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// USM Central's console keeps the state of its deployments: one can lose its connection for a
// while, and the records it sends meanwhile reach the console's searches only once it is back,
// with their original occurrence times.

// centralConsole knows which deployments are disconnected.
type centralConsole struct {
	mu      sync.Mutex
	outages map[string]*outage // deployment name → its latest outage
}

func newCentralConsole() *centralConsole {
	return &centralConsole{outages: make(map[string]*outage)}
}

// disconnect starts, extends or (d <= 0) ends the named deployment's outage, to last d from now.
func (c *centralConsole) disconnect(name string, d time.Duration, now time.Time) error {
	if !slices.ContainsFunc(centralDeployments, func(dep centralDeployment) bool { return dep.name == name }) {
		names := make([]string, len(centralDeployments))
		for i, dep := range centralDeployments {
			names[i] = dep.name
		}
		return fmt.Errorf("no deployment %q (deployments: %s)", name, strings.Join(names, ", "))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	until := now.Add(max(d, 0)).UnixMilli()
	if o := c.outages[name]; o.hides(now.UnixMilli()) {
		o.until.Store(until) // the records held so far wait for the new end too
		return nil
	}
	if d > 0 {
		o := &outage{}
		o.until.Store(until)
		c.outages[name] = o
	}
	return nil
}

// current returns the named deployment's outage in force at now, or nil.
func (c *centralConsole) current(name string, now time.Time) *outage {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o := c.outages[name]; o.hides(now.UnixMilli()) {
		return o
	}
	return nil
}

// hold is the stores' hold: the outage of the deployment a record arriving now comes from.
func (c *centralConsole) hold(fields map[string]any, now time.Time) *outage {
	tenant, _ := fields["tenantId"].(string)
	name := strings.TrimSuffix(strings.TrimPrefix(tenant, "cn://"), ".alienvault.cloud")
	return c.current(name, now)
}

// DisconnectDeployment disconnects a USM Central deployment for d: /api/1.1/deployments shows
// its connectionStatus as disconnected, and the alarms and events it sends meanwhile are
// generated (IDs and Records list them) but left out of searches until it reconnects, when they
// appear with their original occurrence times. Disconnecting a deployment already disconnected
// moves its reconnection to d from now; d <= 0 reconnects it at once.
func (s *Simulator) DisconnectDeployment(name string, d time.Duration) error {
	return s.central.disconnect(name, d, time.Now())
}

// registerCentralControl adds POST /_sim/usm_central/disconnect?deployment=acme&for=30s, which
// calls DisconnectDeployment.
func registerCentralControl(mux *http.ServeMux, s *Simulator) {
	mux.HandleFunc("POST /_sim/usm_central/disconnect", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		d, err := time.ParseDuration(q.Get("for"))
		if err == nil {
			err = s.DisconnectDeployment(q.Get("deployment"), d)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
