package hwsim

import "time"

// ChurnResult returns what the last applied Churn did (Applied false when
// none has been applied yet).
func (s *Simulator) ChurnResult() ChurnResult {
	s.churnMu.Lock()
	defer s.churnMu.Unlock()
	return s.churnResult
}

// countBSSList counts one served BSS list request and applies a pending
// Churn right after the request it waits for.
func (s *Simulator) countBSSList(cfg *runtimeConfig) {
	c := cfg.churn
	if c == nil {
		return
	}
	n := c.requests.Add(1)
	if n != int64(c.spec.AfterRequests) {
		return
	}
	res := s.data.churn(c.spec)
	res.Applied, res.AfterRequest = true, int(n)
	s.churnMu.Lock()
	s.churnResult = res
	s.churnMu.Unlock()
}

// churnRenewGap is how far past the window a churned renewal moves a record.
const churnRenewGap = 24 * time.Hour

// churn applies c: it draws Renew+Remove distinct live records of the window
// (deterministically from the seed and the number of earlier churns), renews
// the first ones past the window, removes the others, then adds new records.
func (d *dataset) churn(c Churn) ChurnResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	lo, hi := d.offset(c.Begin), d.offset(c.End)
	var inWindow []int
	for i, sl := range d.slots {
		if !d.isRemoved(i) && int64(sl.expire) >= lo && int64(sl.expire) <= hi {
			inWindow = append(inWindow, i)
		}
	}
	r := newRNG(d.seed, int(d.churns), saltChurn)
	d.churns++
	picks := min(c.Renew+c.Remove, len(inWindow))
	for k := 0; k < picks; k++ {
		j := k + r.intn(len(inWindow)-k)
		inWindow[k], inWindow[j] = inWindow[j], inWindow[k]
	}
	res := ChurnResult{Renewed: []string{}, Removed: []string{}}
	for k, i := range inWindow[:picks] {
		id := resourceID(d.seed, d.codec, i)
		if k < c.Renew {
			past := hi - int64(d.slots[i].expire) + int64(churnRenewGap/time.Second)
			d.renew(i, time.Duration(past)*time.Second)
			res.Renewed = append(res.Renewed, id)
			continue
		}
		d.markRemoved(i)
		res.Removed = append(res.Removed, id)
	}
	addLo, addHi := lo, hi
	if !c.AddBegin.IsZero() {
		addLo, addHi = d.offset(c.AddBegin), d.offset(c.AddEnd)
	}
	res.Added = d.addExpiringLocked(c.Add, addLo, addHi)
	if res.Added == nil {
		res.Added = []string{}
	}
	return res
}
