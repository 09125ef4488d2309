package hwsim

import (
	"math"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// runtimeConfig is the immutable view of the knobs one request works with;
// it is swapped atomically so requests never take a lock for it.
type runtimeConfig struct {
	knobs     Knobs
	bss, tms  *rate.Limiter // nil = unlimited
	forbidden idSet
	malformed idSet
	noID      idSet
	partial   idSet
	noProject idSet
	unserved  idSet
	denied    idSet       // TMSDeniedTypes: "type" or "type@enterprise project id"
	churn     *churnState // nil = no churn

	lookupNoID      idSet
	lookupMalformed idSet
	long            idSet
	tagsMissing     idSet
	odd             oddIDs
	emptyPages      *emptyPageState // nil = off
	// lostAnswers counts down the RenewalResources answers still to lose
	// (OrderAnswerLost); nil = off.
	lostAnswers *atomic.Int64
}

type idSet map[string]struct{}

func newSet(items []string) idSet {
	s := make(idSet, len(items))
	for _, v := range items {
		s[v] = struct{}{}
	}
	return s
}

func (s idSet) has(v string) bool { _, ok := s[v]; return ok }

// churnState counts BSS list requests since its Churn was set.
type churnState struct {
	spec     Churn
	requests atomic.Int64
}

func newRuntimeConfig(k Knobs, prev *runtimeConfig) *runtimeConfig {
	c := &runtimeConfig{
		knobs:     k.clone(),
		forbidden: newSet(k.ForbiddenResourceIDs),
		malformed: newSet(k.MalformedResourceIDs),
		noID:      newSet(k.NoIDResourceIDs),
		partial:   newSet(k.PartialResourceIDs),
		noProject: newSet(k.NoProjectResourceIDs),
		unserved:  newSet(k.UnservedTMSTypes),
		denied:    newSet(k.TMSDeniedTypes),

		lookupNoID:      newSet(k.LookupNoIDResourceIDs),
		lookupMalformed: newSet(k.LookupMalformedResourceIDs),
		long:            newSet(k.LongFieldResourceIDs),
		tagsMissing:     newSet(k.TagsFieldMissingResourceIDs),
		odd:             newOddIDs(k.OddIDResourceIDs),
	}
	var prevBSS, prevTMS *rate.Limiter
	var prevBSSRate, prevTMSRate float64
	if prev != nil {
		prevBSS, prevTMS = prev.bss, prev.tms
		prevBSSRate, prevTMSRate = prev.knobs.BSSRate, prev.knobs.TMSRate
	}
	c.bss = limiterFor(k.BSSRate, prevBSSRate, prevBSS)
	c.tms = limiterFor(k.TMSRate, prevTMSRate, prevTMS)
	c.churn = churnFor(k.Churn, prev)
	c.emptyPages = emptyPagesFor(k, prev)
	c.lostAnswers = lostAnswersFor(k, prev)
	return c
}

// churnFor keeps the request count of an unchanged Churn, so that changing
// another knob does not restart it.
func churnFor(spec *Churn, prev *runtimeConfig) *churnState {
	if spec == nil {
		return nil
	}
	if prev != nil && prev.churn != nil && prev.churn.spec == *spec {
		return prev.churn
	}
	return &churnState{spec: *spec}
}

// limiterFor keeps the previous limiter when the rate is unchanged, so that
// changing another knob does not refill the bucket.
func limiterFor(r, prevRate float64, prev *rate.Limiter) *rate.Limiter {
	if r == 0 {
		return nil
	}
	if prev != nil && r == prevRate {
		return prev
	}
	return rate.NewLimiter(rate.Limit(r), int(math.Max(1, r)))
}

// limiter paces api: BSSRate the BSS listing, TMSRate every TMS API; the
// renewal APIs are not paced.
func (c *runtimeConfig) limiter(api apiID) *rate.Limiter {
	switch {
	case api == apiBSSList:
		return c.bss
	case api.service() == serviceTMS:
		return c.tms
	}
	return nil
}
