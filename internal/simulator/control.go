package simulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// registerControl adds the /_sim endpoints, through which a test or a person drives a running
// simulator (e.g. the CLI's) the way the Go API drives an embedded one.
func registerControl(mux *http.ServeMux, s *Simulator) {
	mux.HandleFunc("GET /_sim/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /_sim/ids", perStream(s, func(source, kind string) any { return s.IDs(source, kind) }))
	// Every record of a stream as Records returns it: identity, times, closing, fields.
	mux.HandleFunc("GET /_sim/records", perStream(s, func(source, kind string) any { return s.Records(source, kind) }))
	mux.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	// Every API request served, with its client identity (Options.RecordRequests).
	mux.HandleFunc("GET /_sim/requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, append([]Request{}, s.Requests()...))
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	// POST replaces all faults: a field left out is switched off.
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if err := f.Validate(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, f)
	})
	// POST /_sim/burst?source=usm_anywhere&kind=alarm&n=500 adds n records occurring now.
	mux.HandleFunc("POST /_sim/burst", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n, err := strconv.Atoi(q.Get("n"))
		if err == nil {
			err = s.Burst(q.Get("source"), q.Get("kind"), n)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/revoke", func(w http.ResponseWriter, r *http.Request) {
		s.RevokeTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	// {"revoked": true} revokes the API credentials (SetCredentialsRevoked), false restores them.
	mux.HandleFunc("GET /_sim/credentials", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, credentialsState{Revoked: s.CredentialsRevoked()})
	})
	mux.HandleFunc("POST /_sim/credentials", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Revoked *bool `json:"revoked"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.Revoked == nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"revoked": true} or {"revoked": false}`})
			return
		}
		s.SetCredentialsRevoked(*body.Revoked)
		writeJSON(w, http.StatusOK, credentialsState{Revoked: *body.Revoked})
	})
}

// perStream answers with what of returns for the stream the query names (?source=&kind=).
func perStream(s *Simulator, of func(source, kind string) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		source, kind := r.URL.Query().Get("source"), r.URL.Query().Get("kind")
		if s.store(source, kind) == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no stream with source=" + source + " and kind=" + kind})
			return
		}
		writeJSON(w, http.StatusOK, of(source, kind))
	}
}

type credentialsState struct {
	Revoked bool `json:"revoked"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONAs(w, "application/json", status, v)
}

func writeJSONAs(w http.ResponseWriter, contentType string, status int, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false) // links keep their & as the real APIs send them
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
}
