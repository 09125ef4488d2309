package hwsim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Admin endpoints, unauthenticated, for tests and demos on loopback:
//
//	GET  /_hwsim/healthz            {"status":"ok","resources":N}
//	GET  /_hwsim/info               {"seed":S,"epoch":"RFC3339","domain_id":"...","resources":N,"projects":[{"id","name","region"}]}
//	GET  /_hwsim/knobs              Knobs JSON
//	PUT  /_hwsim/knobs              Knobs JSON patch (absent fields unchanged) -> new Knobs JSON
//	GET  /_hwsim/stats              Stats JSON
//	POST /_hwsim/stats/reset        204
//	GET  /_hwsim/resources          every Resource, one JSON object per line (application/x-ndjson), streamed
//	GET  /_hwsim/resources/{id}     one Resource, or 404
//	POST /_hwsim/resources/add      {"count":N[,"expire_from":RFC3339,"expire_to":RFC3339]} -> {"ids":[...],"resources":N}
//	POST /_hwsim/resources/add-with-children {"count":N,"children":C,"expire_from":RFC3339,"expire_to":RFC3339}
//	                                -> {"ids":[servers...],"resources":N} (AddResourcesWithChildren)
//	POST /_hwsim/resources/remove   {"ids":[...]} or {"count":N} -> {"ids":[removed...],"resources":N}
//	POST /_hwsim/resources/renew    {"ids":[...],"by":"720h"} -> {"changed":N}
//	POST /_hwsim/resources/status   {"ids":[...],"status":2..5} -> {"changed":N}
//	GET  /_hwsim/truth?begin=RFC3339&end=RFC3339[&status=2,3]  the Truth records, one JSON object per line
//	GET  /_hwsim/churn              ChurnResult JSON of the last applied churn
//	GET  /_hwsim/orders             RenewTruth JSON: {"orders":[Order...],"calls":{"bss.renew":APIStats,...},
//	                                "auto_renew":[{"resource_id","resource_ids","times","period_type"}],"expire_policies":{"id":N}}
//	POST /_hwsim/orders/{id}/pay    pays an unpaid order as a person in Billing Center does -> Order (404 unknown, 409 not unpaid)
//	POST /_hwsim/orders/{id}/cancel cancels an unpaid order likewise -> Order
//
// Errors are {"error":"message"} with status 400 (or 404).
func (s *Simulator) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_hwsim/healthz", func(w http.ResponseWriter, _ *http.Request) {
		adminJSON(w, http.StatusOK, map[string]any{"status": "ok", "resources": s.Len()})
	})
	mux.HandleFunc("GET /_hwsim/info", s.adminInfo)
	mux.HandleFunc("GET /_hwsim/knobs", func(w http.ResponseWriter, _ *http.Request) {
		adminJSON(w, http.StatusOK, s.Knobs())
	})
	mux.HandleFunc("PUT /_hwsim/knobs", s.adminPutKnobs)
	mux.HandleFunc("GET /_hwsim/stats", func(w http.ResponseWriter, _ *http.Request) {
		adminJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("POST /_hwsim/stats/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_hwsim/resources", s.adminStreamResources)
	mux.HandleFunc("GET /_hwsim/resources/{id}", func(w http.ResponseWriter, r *http.Request) {
		res, ok := s.Lookup(r.PathValue("id"))
		if !ok {
			adminError(w, http.StatusNotFound, "resource not found")
			return
		}
		adminJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("POST /_hwsim/resources/add", s.adminAdd)
	mux.HandleFunc("POST /_hwsim/resources/add-with-children", s.adminAddWithChildren)
	mux.HandleFunc("POST /_hwsim/resources/remove", s.adminRemove)
	mux.HandleFunc("POST /_hwsim/resources/renew", s.adminRenew)
	mux.HandleFunc("POST /_hwsim/resources/status", s.adminStatus)
	mux.HandleFunc("GET /_hwsim/truth", s.adminTruth)
	mux.HandleFunc("GET /_hwsim/churn", func(w http.ResponseWriter, _ *http.Request) {
		adminJSON(w, http.StatusOK, s.ChurnResult())
	})
	s.adminOrderRoutes(mux)
}

// Info describes a simulator for other processes (GET /_hwsim/info).
type Info struct {
	Seed      int64     `json:"seed"`
	Epoch     time.Time `json:"epoch"`
	DomainID  string    `json:"domain_id"`
	Resources int       `json:"resources"`
	Projects  []Project `json:"projects"`
}

// Info returns the simulator's description.
func (s *Simulator) Info() Info {
	return Info{Seed: s.data.seed, Epoch: s.data.epoch, DomainID: s.domainID, Resources: s.Len(), Projects: s.Projects()}
}

func (s *Simulator) adminInfo(w http.ResponseWriter, _ *http.Request) {
	adminJSON(w, http.StatusOK, s.Info())
}

func (s *Simulator) adminPutKnobs(w http.ResponseWriter, r *http.Request) {
	k := s.Knobs()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err == nil {
		err = json.Unmarshal(body, &k)
	}
	if err == nil {
		err = s.SetKnobs(k)
	}
	if err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	adminJSON(w, http.StatusOK, s.Knobs())
}

// adminStreamResources writes JSON lines as it iterates, so that a million
// records never sit in memory at once.
func (s *Simulator) adminStreamResources(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for res := range s.All() {
		if r.Context().Err() != nil {
			return
		}
		if err := enc.Encode(res); err != nil {
			return // the client went away
		}
	}
	_ = bw.Flush()
}

// errWindow is the answer to a window AddResourcesExpiring refuses.
const errWindow = "expire_from must not be after expire_to, and both must be within 68 years of the epoch"

type adminMutation struct {
	Count      *int       `json:"count"`
	IDs        []string   `json:"ids"`
	ExpireFrom *time.Time `json:"expire_from"`
	ExpireTo   *time.Time `json:"expire_to"`
}

type adminMutationResult struct {
	IDs       []string `json:"ids"`
	Resources int      `json:"resources"`
}

func (s *Simulator) adminAdd(w http.ResponseWriter, r *http.Request) {
	var m adminMutation
	if err := decodeAdmin(w, r, &m); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	if room := MaxResources - s.Len(); m.Count == nil || *m.Count < 1 || *m.Count > room || m.IDs != nil {
		adminError(w, http.StatusBadRequest, fmt.Sprintf(`want {"count":N} with N in 1..%d (the dataset is capped at %d records)`, max(room, 1), MaxResources))
		return
	}
	var ids []string
	switch {
	case m.ExpireFrom == nil && m.ExpireTo == nil:
		ids = s.AddResources(*m.Count)
	case m.ExpireFrom != nil && m.ExpireTo != nil:
		if ids = s.AddResourcesExpiring(*m.Count, *m.ExpireFrom, *m.ExpireTo); ids == nil {
			adminError(w, http.StatusBadRequest, errWindow)
			return
		}
	default:
		adminError(w, http.StatusBadRequest, "give both expire_from and expire_to, or neither")
		return
	}
	adminJSON(w, http.StatusOK, adminMutationResult{IDs: ids, Resources: s.Len()})
}

func (s *Simulator) adminRemove(w http.ResponseWriter, r *http.Request) {
	var m adminMutation
	if err := decodeAdmin(w, r, &m); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	var removed []string
	switch {
	case m.Count != nil && m.IDs == nil && *m.Count >= 0:
		removed = s.RemoveRandom(*m.Count)
	case m.Count == nil && m.IDs != nil && m.ExpireFrom == nil && m.ExpireTo == nil:
		removed = s.data.remove(m.IDs)
	default:
		adminError(w, http.StatusBadRequest, `want either {"ids":[...]} or {"count":N} with N >= 0`)
		return
	}
	if removed == nil {
		removed = []string{}
	}
	adminJSON(w, http.StatusOK, adminMutationResult{IDs: removed, Resources: s.Len()})
}

func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	return nil
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func adminError(w http.ResponseWriter, status int, msg string) {
	adminJSON(w, status, map[string]string{"error": msg})
}
