package hwsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Knobs are the fault-injection settings; they can change while serving.
// In JSON, durations are Go duration strings ("20ms").
type Knobs struct {
	Latency       time.Duration // fixed delay per request
	Jitter        time.Duration // plus uniform random [0, Jitter)
	BSSRate       float64       // requests/s on the BSS list API (burst max(1, rate)); 0 = unlimited
	TMSRate       float64       // same, shared by the TMS APIs
	ErrorRatio    float64       // fraction of authenticated requests answered 500
	ThrottleRatio float64       // fraction answered 429 APIGW.0308 at random
	SlowRatio     float64       // fraction answered only after SlowDelay
	SlowDelay     time.Duration
	// ForbiddenResourceIDs: TMS tag queries for these ids answer 403.
	ForbiddenResourceIDs []string
}

// Validate reports every out-of-range value, naming its JSON field.
func (k Knobs) Validate() error {
	var errs []error
	checkDur := func(name string, d, maxD time.Duration) {
		if d < 0 || d > maxD {
			errs = append(errs, fmt.Errorf("knobs: %s %s out of range 0..%s", name, d, maxD))
		}
	}
	checkFloat := func(name string, v, maxV float64) {
		if math.IsNaN(v) || v < 0 || v > maxV {
			errs = append(errs, fmt.Errorf("knobs: %s %v out of range 0..%v", name, v, maxV))
		}
	}
	checkDur("latency", k.Latency, MaxLatency)
	checkDur("jitter", k.Jitter, MaxLatency)
	checkDur("slow_delay", k.SlowDelay, MaxSlowDelay)
	checkFloat("bss_rate", k.BSSRate, MaxRate)
	checkFloat("tms_rate", k.TMSRate, MaxRate)
	checkFloat("error_ratio", k.ErrorRatio, 1)
	checkFloat("throttle_ratio", k.ThrottleRatio, 1)
	checkFloat("slow_ratio", k.SlowRatio, 1)
	if len(k.ForbiddenResourceIDs) > MaxForbidden {
		errs = append(errs, fmt.Errorf("knobs: forbidden_resource_ids has %d entries, at most %d allowed", len(k.ForbiddenResourceIDs), MaxForbidden))
	}
	for i, id := range k.ForbiddenResourceIDs {
		if id == "" {
			errs = append(errs, fmt.Errorf("knobs: forbidden_resource_ids[%d] is empty", i))
			break
		}
	}
	return errors.Join(errs...)
}

func (k Knobs) clone() Knobs {
	k.ForbiddenResourceIDs = append([]string(nil), k.ForbiddenResourceIDs...)
	return k
}

// knobsJSON is the wire form; pointers tell "absent" from zero so that a
// partial document only changes the fields it names.
type knobsJSON struct {
	Latency              *string   `json:"latency,omitempty"`
	Jitter               *string   `json:"jitter,omitempty"`
	BSSRate              *float64  `json:"bss_rate,omitempty"`
	TMSRate              *float64  `json:"tms_rate,omitempty"`
	ErrorRatio           *float64  `json:"error_ratio,omitempty"`
	ThrottleRatio        *float64  `json:"throttle_ratio,omitempty"`
	SlowRatio            *float64  `json:"slow_ratio,omitempty"`
	SlowDelay            *string   `json:"slow_delay,omitempty"`
	ForbiddenResourceIDs *[]string `json:"forbidden_resource_ids,omitempty"`
}

// MarshalJSON writes every field, durations as Go duration strings.
func (k Knobs) MarshalJSON() ([]byte, error) {
	dur := func(d time.Duration) *string { s := d.String(); return &s }
	ids := k.ForbiddenResourceIDs
	if ids == nil {
		ids = []string{}
	}
	return json.Marshal(knobsJSON{
		Latency: dur(k.Latency), Jitter: dur(k.Jitter), SlowDelay: dur(k.SlowDelay),
		BSSRate: &k.BSSRate, TMSRate: &k.TMSRate,
		ErrorRatio: &k.ErrorRatio, ThrottleRatio: &k.ThrottleRatio, SlowRatio: &k.SlowRatio,
		ForbiddenResourceIDs: &ids,
	})
}

// UnmarshalJSON updates only the fields present in data, so a partial
// document is a patch of the receiver. Unknown fields are errors, to catch
// typos in demo scripts. It does not range-check; call Validate.
func (k *Knobs) UnmarshalJSON(data []byte) error {
	var w knobsJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("knobs: %w", err)
	}
	out := *k
	for _, d := range []struct {
		name string
		src  *string
		dst  *time.Duration
	}{{"latency", w.Latency, &out.Latency}, {"jitter", w.Jitter, &out.Jitter}, {"slow_delay", w.SlowDelay, &out.SlowDelay}} {
		if d.src == nil {
			continue
		}
		v, err := time.ParseDuration(*d.src)
		if err != nil {
			return fmt.Errorf("knobs: %s %q is not a Go duration like \"20ms\"", d.name, *d.src)
		}
		*d.dst = v
	}
	for _, f := range []struct {
		src *float64
		dst *float64
	}{{w.BSSRate, &out.BSSRate}, {w.TMSRate, &out.TMSRate}, {w.ErrorRatio, &out.ErrorRatio}, {w.ThrottleRatio, &out.ThrottleRatio}, {w.SlowRatio, &out.SlowRatio}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if w.ForbiddenResourceIDs != nil {
		out.ForbiddenResourceIDs = *w.ForbiddenResourceIDs
	}
	*k = out
	return nil
}

// runtimeConfig is the immutable view of the knobs one request works with;
// it is swapped atomically so requests never take a lock for it.
type runtimeConfig struct {
	knobs     Knobs
	bss, tms  *rate.Limiter // nil = unlimited
	forbidden map[string]struct{}
}

func newRuntimeConfig(k Knobs, prev *runtimeConfig) *runtimeConfig {
	c := &runtimeConfig{knobs: k.clone(), forbidden: make(map[string]struct{}, len(k.ForbiddenResourceIDs))}
	for _, id := range k.ForbiddenResourceIDs {
		c.forbidden[id] = struct{}{}
	}
	var prevBSS, prevTMS *rate.Limiter
	var prevBSSRate, prevTMSRate float64
	if prev != nil {
		prevBSS, prevTMS = prev.bss, prev.tms
		prevBSSRate, prevTMSRate = prev.knobs.BSSRate, prev.knobs.TMSRate
	}
	c.bss = limiterFor(k.BSSRate, prevBSSRate, prevBSS)
	c.tms = limiterFor(k.TMSRate, prevTMSRate, prevTMS)
	return c
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

func (c *runtimeConfig) limiter(svc service) *rate.Limiter {
	if svc == serviceBSS {
		return c.bss
	}
	return c.tms
}
