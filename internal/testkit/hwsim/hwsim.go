// Package hwsim simulates the two Huawei Cloud APIs expiry-sync uses, BSS
// ListPayPerUseCustomerResources and TMS ShowResourceTag / ListResource,
// closely enough that the official Go SDK talks to it unmodified (endpoint
// override only): it verifies the SDK's AK/SK signatures, answers with the
// real JSON shapes and error codes, and can inject latency, throttling,
// server errors and slow answers. It also plays BSS's renewal APIs (price
// inquiry, renewal orders, payment, auto-renew, conversion to pay-per-use:
// renew.go, orders.go), whose orders and settings are its own truth
// (RenewTruth, GET /_hwsim/orders).
//
// The dataset is deterministic from (Seed, Resources): records are rebuilt
// on demand from their index, so a million records cost a few megabytes.
// The simulator is a test and demo tool; its admin endpoints under /_hwsim/
// are unauthenticated and meant for loopback use.
package hwsim

import (
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits on Options and Knobs.
const (
	MaxResources = 1_000_000
	MaxLatency   = time.Minute      // Latency and Jitter
	MaxSlowDelay = 10 * time.Minute // SlowDelay
	MaxRate      = 1_000_000.0      // BSSRate and TMSRate, requests/s
	MaxForbidden = 100_000          // ForbiddenResourceIDs entries
)

// DemoDomainID is the domain (account) id the hwsim binary uses by default.
const DemoDomainID = "0c6a5a4b8d3e4f2a9b7c1d2e3f4a5b6c"

// Options configure a Simulator.
type Options struct {
	Seed      int64
	Resources int // dataset size, 0..MaxResources, children included
	AccessKey string
	SecretKey string
	DomainID  string
	// Epoch anchors expire and effective times; zero means
	// time.Now().UTC().Truncate(time.Second) at New.
	Epoch time.Time
	Knobs Knobs
	// FullCatalog serves TMS tags for every type catalog.Default maps (RDS
	// and DCS records too), as real TMS does. Off, only the types today's
	// workflow reads tags for (ecs, disk, eip) have any, which is what the
	// end-to-end tests expect until the workflow takes TMS types from the
	// listing.
	FullCatalog bool
}

// Simulator is a BSS + TMS API simulator. Its methods are safe for
// concurrent use.
type Simulator struct {
	accessKey string
	secretKey []byte // never logged nor echoed
	domainID  string
	data      *dataset

	cfgMu sync.Mutex // serialises SetKnobs so rate limiters are reused safely
	cfg   atomic.Pointer[runtimeConfig]

	churnMu     sync.Mutex
	churnResult ChurnResult

	renew *renewState // orders and auto-renew settings of the renewal APIs

	stats     [numAPIs]counters
	reqPrefix string
	reqSeq    atomic.Uint64

	handler http.Handler
}

// New validates opts and generates the dataset.
func New(opts Options) (*Simulator, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	epoch := opts.Epoch.UTC().Truncate(time.Second)
	if opts.Epoch.IsZero() {
		epoch = time.Now().UTC().Truncate(time.Second)
	}
	s := &Simulator{
		accessKey: opts.AccessKey,
		secretKey: []byte(opts.SecretKey),
		domainID:  opts.DomainID,
		data:      newDataset(opts.Seed, epoch, opts.Resources, opts.FullCatalog),
		reqPrefix: newRequestIDPrefix(),
		renew:     newRenewState(),
	}
	s.cfg.Store(newRuntimeConfig(opts.Knobs, nil))
	s.handler = s.routes()
	return s, nil
}

// String redacts the secret key, so that logging Options is safe.
func (o Options) String() string {
	return fmt.Sprintf("hwsim.Options{Seed:%d Resources:%d AccessKey:%s SecretKey:<redacted> DomainID:%s Epoch:%s Knobs:%+v}",
		o.Seed, o.Resources, o.AccessKey, o.DomainID, o.Epoch.Format(time.RFC3339), o.Knobs)
}

// GoString redacts the secret key from %#v too.
func (o Options) GoString() string { return o.String() }

// String describes the simulator without its credentials.
func (s *Simulator) String() string {
	return fmt.Sprintf("hwsim.Simulator{resources:%d domain:%s epoch:%s}", s.Len(), s.domainID, s.data.epoch.Format(time.RFC3339))
}

// GoString keeps %#v from dumping the secret key bytes.
func (s *Simulator) GoString() string { return s.String() }

func (o Options) validate() error {
	var errs []error
	if o.Resources < 0 || o.Resources > MaxResources {
		errs = append(errs, fmt.Errorf("hwsim: Resources %d out of range 0..%d", o.Resources, MaxResources))
	}
	if o.AccessKey == "" || strings.ContainsAny(o.AccessKey, " ,=\t\r\n") {
		errs = append(errs, errors.New("hwsim: AccessKey must be non-empty, without spaces, commas or '='"))
	}
	if o.SecretKey == "" {
		errs = append(errs, errors.New("hwsim: SecretKey must be non-empty"))
	}
	if o.DomainID == "" {
		errs = append(errs, errors.New("hwsim: DomainID must be non-empty"))
	}
	if err := o.Knobs.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Handler serves the BSS and TMS APIs and the /_hwsim/ admin endpoints.
func (s *Simulator) Handler() http.Handler { return s.handler }

// Epoch is the instant expire and effective times are anchored to.
func (s *Simulator) Epoch() time.Time { return s.data.epoch }

// DomainID is the account id requests must carry in X-Domain-Id.
func (s *Simulator) DomainID() string { return s.domainID }

// Projects lists the simulated IAM projects (each bound to one region).
func (s *Simulator) Projects() []Project {
	return append([]Project(nil), s.data.projects...)
}

// Knobs returns the fault-injection settings in effect.
func (s *Simulator) Knobs() Knobs { return s.cfg.Load().knobs.clone() }

// SetKnobs validates k and applies it from the next request on. A rate
// limiter whose rate is unchanged keeps its state.
func (s *Simulator) SetKnobs(k Knobs) error {
	if err := k.Validate(); err != nil {
		return err
	}
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	s.cfg.Store(newRuntimeConfig(k, s.cfg.Load()))
	return nil
}

// Resources returns the current dataset (after adds and removes) in listing
// order. For large datasets prefer All, which does not hold every record.
func (s *Simulator) Resources() []Resource {
	out := make([]Resource, 0, s.data.count())
	for r := range s.data.all() {
		out = append(out, r)
	}
	return out
}

// All yields the current dataset in listing order.
func (s *Simulator) All() iter.Seq[Resource] { return s.data.all() }

// Len is the number of records currently in the dataset.
func (s *Simulator) Len() int { return s.data.count() }

// Lookup returns the record with the given resource id, unless it is
// unknown or removed.
func (s *Simulator) Lookup(resourceID string) (Resource, bool) { return s.data.lookup(resourceID) }

// RemoveResources removes the records with the given ids (exactly those:
// children of a removed main record stay) and returns how many it removed.
func (s *Simulator) RemoveResources(ids ...string) int { return len(s.data.remove(ids)) }

// RemoveRandom removes n records (fewer if fewer remain), chosen
// deterministically from the seed and the sequence of earlier mutations,
// and returns their ids.
func (s *Simulator) RemoveRandom(n int) []string { return s.data.removeRandom(n) }

// AddResources appends n new deterministic records (fewer if the dataset
// would exceed MaxResources) and returns their ids. A group cut short at the
// end has fewer children.
func (s *Simulator) AddResources(n int) []string { return s.data.add(n) }

// Stats returns the request counters.
func (s *Simulator) Stats() Stats {
	st := Stats{APIs: make(map[string]APIStats, numAPIs)}
	for api := range numAPIs {
		st.APIs[api.String()] = s.stats[api].snapshot()
	}
	return st
}

// ResetStats zeroes the request counters.
func (s *Simulator) ResetStats() {
	for api := range numAPIs {
		s.stats[api].reset()
	}
}
