package hwsim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type adminChange struct {
	IDs    []string `json:"ids"`
	By     *string  `json:"by"`
	Status *int     `json:"status"`
}

type adminChanged struct {
	Changed int `json:"changed"`
}

func (s *Simulator) adminRenew(w http.ResponseWriter, r *http.Request) {
	var c adminChange
	if err := decodeAdmin(w, r, &c); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	var by time.Duration
	var err error
	if c.By != nil {
		by, err = time.ParseDuration(*c.By)
	}
	if c.By == nil || err != nil || c.IDs == nil || c.Status != nil {
		adminError(w, http.StatusBadRequest, `want {"ids":[...],"by":"720h"} with by a Go duration (negative moves expire times earlier)`)
		return
	}
	adminJSON(w, http.StatusOK, adminChanged{Changed: s.Renew(c.IDs, by)})
}

func (s *Simulator) adminStatus(w http.ResponseWriter, r *http.Request) {
	var c adminChange
	if err := decodeAdmin(w, r, &c); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	if c.Status == nil || *c.Status < StatusInUse || *c.Status > StatusExpired || c.IDs == nil || c.By != nil {
		adminError(w, http.StatusBadRequest, `want {"ids":[...],"status":N} with N 2 (in use), 3 (closed), 4 (frozen) or 5 (expired)`)
		return
	}
	adminJSON(w, http.StatusOK, adminChanged{Changed: s.SetStatus(c.IDs, *c.Status)})
}

type adminGroups struct {
	Count      *int       `json:"count"`
	Children   *int       `json:"children"`
	ExpireFrom *time.Time `json:"expire_from"`
	ExpireTo   *time.Time `json:"expire_to"`
}

// adminAddWithChildren serves AddResourcesWithChildren: it answers the
// servers' ids; their volumes are the records whose parent_resource_id
// names them (GET /_hwsim/resources).
func (s *Simulator) adminAddWithChildren(w http.ResponseWriter, r *http.Request) {
	var g adminGroups
	if err := decodeAdmin(w, r, &g); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	if g.Count == nil || g.Children == nil || g.ExpireFrom == nil || g.ExpireTo == nil ||
		*g.Count < 1 || *g.Children < 0 || *g.Children > MaxChildren {
		adminError(w, http.StatusBadRequest, fmt.Sprintf(`want {"count":N,"children":C,"expire_from":RFC3339,"expire_to":RFC3339} with N >= 1 and C in 0..%d`, MaxChildren))
		return
	}
	if room := (MaxResources - s.Len()) / (1 + *g.Children); *g.Count > room {
		adminError(w, http.StatusBadRequest, fmt.Sprintf("room for %d such groups (the dataset is capped at %d records)", room, MaxResources))
		return
	}
	ids := s.AddResourcesWithChildren(*g.Count, *g.Children, *g.ExpireFrom, *g.ExpireTo)
	if ids == nil {
		adminError(w, http.StatusBadRequest, errWindow)
		return
	}
	adminJSON(w, http.StatusOK, adminMutationResult{IDs: ids, Resources: s.Len()})
}

// adminTruth streams Truth(begin, end, status) as JSON lines.
func (s *Simulator) adminTruth(w http.ResponseWriter, r *http.Request) {
	begin, end, statuses, err := truthQuery(r)
	if err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, res := range s.Truth(begin, end, statuses) {
		if err := enc.Encode(res); err != nil {
			return // the client went away
		}
	}
	_ = bw.Flush()
}

func truthQuery(r *http.Request) (begin, end time.Time, statuses []int, err error) {
	q := r.URL.Query()
	if begin, err = time.Parse(time.RFC3339, q.Get("begin")); err != nil {
		return begin, end, nil, fmt.Errorf("begin %q is not an RFC 3339 time", q.Get("begin"))
	}
	if end, err = time.Parse(time.RFC3339, q.Get("end")); err != nil {
		return begin, end, nil, fmt.Errorf("end %q is not an RFC 3339 time", q.Get("end"))
	}
	if v := q.Get("status"); v != "" {
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < StatusInUse || n > StatusExpired {
				return begin, end, nil, fmt.Errorf("status %q: want a comma-separated list of 2, 3, 4, 5", v)
			}
			statuses = append(statuses, n)
		}
	}
	return begin, end, statuses, nil
}
