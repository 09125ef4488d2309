package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
)

// Renewal requests (issue 23): the record of each request's events and
// its state after the last one, the claims that keep a resource in at most
// one open request, and the decisions to let an expiry lapse
// (migrations 00017_renewals.sql). Nothing here is secret.

// ErrRenewalNotFound: no renewal request has that id.
var ErrRenewalNotFound = errors.New("renewal request not found")

// ErrUnknownResource: the inventory holds no such resource for the account.
var ErrUnknownResource = errors.New("resource not in the inventory")

// errInvalidRenewal: a record the workflow should never send (no request
// id, no sequence number): it repeats on retry.
var errInvalidRenewal = errors.New("invalid renewal record")

// RenewalConflict: a resource of a new request is in another request that
// is still open. Nothing of the new request was written.
type RenewalConflict struct{ ResourceID, RequestID string }

func (e *RenewalConflict) Error() string {
	return fmt.Sprintf(
		"resource %s is already in renewal request %s, which is still open: "+
			"that request must end first (approve or reject it, or let it expire)",
		e.ResourceID,
		e.RequestID,
	)
}

// RenewalsOpen, as RenewalFilter.State, selects the requests not closed
// (whatever their state).
const RenewalsOpen = "open"

// DefaultRenewalsLimit is how many requests Renewals lists when the
// filter says 0.
const DefaultRenewalsLimit = 100

// renewalRequest is one row of renewal_requests.
type renewalRequest struct {
	RequestID     string `gorm:"primaryKey"`
	AccountID     string
	AccountName   string
	Kind          string
	State         string
	Closed        bool
	Requester     string
	Reason        string
	Period        string
	Currency      string
	QuotedTotal   *int64    // micros; nil: not quoted
	ApprovedTotal int64     // micros
	CreatedAt     time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt     time.Time `gorm:"autoUpdateTime:false"`
	Seq           int
	StateJSON     string `gorm:"column:state_json"`
}

func (renewalRequest) TableName() string { return "renewal_requests" }

type renewalResource struct {
	RequestID  string `gorm:"primaryKey"`
	ResourceID string `gorm:"primaryKey"`
	AccountID  string
}

func (renewalResource) TableName() string { return "renewal_resources" }

type renewalClaim struct {
	AccountID  string `gorm:"primaryKey"`
	ResourceID string `gorm:"primaryKey"`
	RequestID  string
}

func (renewalClaim) TableName() string { return "renewal_claims" }

type renewalEvent struct {
	RequestID string `gorm:"primaryKey"`
	Seq       int    `gorm:"primaryKey"`
	At        time.Time
	Kind      string
	Actor     string
	Detail    string
	State     string
}

func (renewalEvent) TableName() string { return "renewal_events" }

type lapseDecision struct {
	AccountID   string    `gorm:"primaryKey"`
	ResourceID  string    `gorm:"primaryKey"`
	ExpireTime  time.Time `gorm:"primaryKey"`
	AccountName string
	Reason      string
	DecidedBy   string
	DecidedAt   time.Time
	RequestID   *string
}

func (lapseDecision) TableName() string { return "lapse_decisions" }

// RecordRenewal writes one event and the request's state after it, in one
// transaction: it inserts renewal_events (request_id, seq) once (a retried
// record is a no-op); upserts renewal_requests only when ev.Seq > the row's
// seq (a late retry never rolls the state back); keeps renewal_resources;
// while the request is open it claims each of its resources in
// renewal_claims and fails with *RenewalConflict (nothing written) if
// another request holds one; when ev.State.Closed it releases the
// request's claims. A request whose first record is already closed (refused
// at its opening) claims nothing.
func (s *Store) RecordRenewal(ctx context.Context, accountID string, ev contract.RenewEvent) error {
	ev.RequestID = cmp.Or(ev.RequestID, ev.State.RequestID)
	ev.State.RequestID = cmp.Or(ev.State.RequestID, ev.RequestID)
	switch {
	case ev.RequestID == "":
		return fmt.Errorf("%w: the event names no request", errInvalidRenewal)
	case ev.State.RequestID != ev.RequestID:
		return fmt.Errorf(
			"%w: event of %s carries the state of %s",
			errInvalidRenewal,
			ev.RequestID,
			ev.State.RequestID,
		)
	case ev.Seq < 1:
		return fmt.Errorf("%w: event %d of %s: sequence numbers start at 1", errInvalidRenewal, ev.Seq, ev.RequestID)
	case accountID == "":
		return fmt.Errorf("%w: request %s names no account id", errInvalidRenewal, ev.RequestID)
	}
	stateJSON, err := json.Marshal(ev.State)
	if err != nil {
		return fmt.Errorf("%w: state of %s: %v", errInvalidRenewal, ev.RequestID, err)
	}
	at := utcSecond(firstTime(ev.At, ev.State.UpdatedAt, time.Now()))
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		e := renewalEvent{
			RequestID: ev.RequestID,
			Seq:       ev.Seq,
			At:        at,
			Kind:      truncate(ev.Kind, 32),
			Actor:     truncate(ev.Actor, 255),
			Detail:    truncate(ev.Detail, 60000),
			State:     truncate(ev.State.State, 16),
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&e)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // 0: recorded already, with the state after it
		}
		var cur renewalRequest
		err := s.forUpdate(tx).Where("request_id = ?", ev.RequestID).Take(&cur).Error
		found := err == nil
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		if found && ev.Seq <= cur.Seq {
			// An older event, recorded late: its state is history. A
			// closed request stays closed, so its claims stay released.
			return nil
		}
		row := requestRow(accountID, ev, at, string(stateJSON))
		if found {
			row.CreatedAt = cur.CreatedAt
			err = tx.Model(&renewalRequest{}).Where("request_id = ? AND seq < ?", ev.RequestID, ev.Seq).
				Select("account_name", "kind", "state", "closed", "requester", "reason", "period", "currency",
					"quoted_total", "approved_total", "updated_at", "seq", "state_json").Updates(&row).Error
		} else {
			err = tx.Create(&row).Error
		}
		if err != nil {
			return err
		}
		ids := renewalResourceIDs(ev.State)
		if err := keepResources(tx, accountID, ev.RequestID, ids); err != nil {
			return err
		}
		if ev.State.Closed {
			return tx.Where("request_id = ?", ev.RequestID).Delete(&renewalClaim{}).Error
		}
		return s.claim(tx, accountID, ev.RequestID, ids)
	})
}

// requestRow is the renewal_requests row of the state after ev.
func requestRow(accountID string, ev contract.RenewEvent, at time.Time, stateJSON string) renewalRequest {
	st := ev.State
	row := renewalRequest{
		RequestID: ev.RequestID, AccountID: accountID, AccountName: truncate(st.Account, 64),
		Kind: truncate(st.Kind, 32), State: truncate(st.State, 16), Closed: st.Closed,
		Requester: truncate(st.Requester, 255), Reason: truncate(st.Reason, 1024),
		ApprovedTotal: int64(st.Approved), Seq: ev.Seq, StateJSON: stateJSON,
		CreatedAt: utcSecond(firstTime(st.CreatedAt, at)), UpdatedAt: utcSecond(firstTime(st.UpdatedAt, at)),
	}
	if st.Period != (contract.Period{}) {
		row.Period = st.Period.String()
	}
	if st.Quote != nil {
		total := int64(st.Quote.Total)
		row.QuotedTotal, row.Currency = &total, truncate(st.Quote.Currency, 8)
	}
	return row
}

// firstTime is the first of ts that is not zero.
func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// renewalResourceIDs are the resources a state names, sorted, once each.
func renewalResourceIDs(st contract.RenewState) []string {
	ids := slices.DeleteFunc(st.AllResourceIDs(), func(id string) bool { return id == "" })
	slices.Sort(ids)
	return slices.Compact(ids)
}

func keepResources(tx *gorm.DB, accountID, requestID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	rows := make([]renewalResource, len(ids))
	for i, id := range ids {
		rows[i] = renewalResource{RequestID: requestID, ResourceID: id, AccountID: accountID}
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error
}

// claim holds each resource for the request, in id order (two requests
// claiming in the same order cannot deadlock each other); the key of
// renewal_claims refuses a second holder. A resource another request holds
// is a *RenewalConflict, which rolls the transaction back.
func (s *Store) claim(tx *gorm.DB, accountID, requestID string, ids []string) error {
	for _, id := range ids {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&renewalClaim{AccountID: accountID, ResourceID: id, RequestID: requestID})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected > 0 {
			continue
		}
		var holder renewalClaim
		// A locking read: it sees the claim as last committed.
		if err := s.forUpdate(tx).Where("account_id = ? AND resource_id = ?", accountID, id).
			Take(&holder).Error; err != nil {
			return err
		}
		if holder.RequestID != requestID {
			return &RenewalConflict{ResourceID: id, RequestID: holder.RequestID}
		}
	}
	return nil
}

// Renewal reads a request's state and its events in seq order; an
// event's State holds only State.State (the state after it).
func (s *Store) Renewal(ctx context.Context, requestID string) (contract.RenewState, []contract.RenewEvent, error) {
	var row renewalRequest
	err := s.db.WithContext(ctx).Where("request_id = ?", requestID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return contract.RenewState{}, nil, fmt.Errorf("%w: %s", ErrRenewalNotFound, requestID)
	}
	if err != nil {
		return contract.RenewState{}, nil, reportError(err)
	}
	st, err := row.state()
	if err != nil {
		return st, nil, err
	}
	var rows []renewalEvent
	if err := s.db.WithContext(ctx).Where("request_id = ?", requestID).Order("seq").Find(&rows).Error; err != nil {
		return st, nil, reportError(err)
	}
	events := make([]contract.RenewEvent, len(rows))
	for i, e := range rows {
		events[i] = contract.RenewEvent{
			RequestID: e.RequestID,
			Seq:       e.Seq,
			At:        e.At.UTC(),
			Kind:      e.Kind,
			Actor:     e.Actor,
			Detail:    e.Detail,
			State:     contract.RenewState{RequestID: e.RequestID, State: e.State},
		}
	}
	return st, events, nil
}

func (r renewalRequest) state() (contract.RenewState, error) {
	var st contract.RenewState
	if err := json.Unmarshal([]byte(r.StateJSON), &st); err != nil {
		return st, fmt.Errorf("renewal request %s: its recorded state is not readable: %w", r.RequestID, err)
	}
	return st, nil
}

// RenewalFilter selects requests; empty fields match all. Account is the
// account's name; State a state, or RenewalsOpen for every request not
// closed; ResourceID a resource the request names. Limit 0: 100.
type RenewalFilter struct {
	Account, State, ResourceID string
	Limit                      int
}

// Renewals lists the requests f selects, the most recently updated first.
func (s *Store) Renewals(ctx context.Context, f RenewalFilter) ([]contract.RenewState, error) {
	q := s.db.WithContext(ctx).Model(&renewalRequest{})
	if f.Account != "" {
		q = q.Where("account_name = ?", f.Account)
	}
	switch f.State {
	case "":
	case RenewalsOpen:
		q = q.Where("closed = ?", false)
	default:
		q = q.Where("state = ?", f.State)
	}
	if f.ResourceID != "" {
		q = q.Where(
			"request_id IN (?)",
			s.db.Model(&renewalResource{}).Select("request_id").Where("resource_id = ?", f.ResourceID),
		)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultRenewalsLimit
	}
	var rows []renewalRequest
	if err := q.Order("updated_at DESC, request_id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, reportError(err)
	}
	out := make([]contract.RenewState, 0, len(rows))
	for _, r := range rows {
		st, err := r.state()
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Lapse is a decision to let a resource's expiry (ExpireTime) lapse.
type Lapse struct {
	AccountID, AccountName, ResourceID string
	ExpireTime                         time.Time
	Reason, DecidedBy                  string
	DecidedAt                          time.Time
	RequestID                          string // "": not decided within a request
}

// RecordLapse records a decision to let the resource's current expiry
// lapse: it reads the resource's expire_time from the inventory
// (expiring_resources; ErrUnknownResource, naming the id and account, when
// it is not there) and upserts the decision for that expiry. Reminders stop
// for it; a later expiry (the resource was renewed after all) is reminded
// again.
func (s *Store) RecordLapse(
	ctx context.Context,
	accountID, accountName, resourceID, reason, decidedBy string,
	at time.Time,
) (Lapse, error) {
	var rows []ExpiringResource
	err := s.db.WithContext(ctx).Select("account_name", "expire_time").
		Where("cloud_provider = ? AND account_id = ? AND resource_id = ?",
			inventory.CloudProvider, accountID, resourceID).
		Limit(1).Find(&rows).Error
	if err != nil {
		return Lapse{}, reportError(err)
	}
	if len(rows) == 0 {
		return Lapse{}, fmt.Errorf(
			"%w: account %s (%s) has no resource %q: run a sync first, or check the id",
			ErrUnknownResource,
			cmp.Or(accountName, accountID),
			accountID,
			resourceID,
		)
	}
	if at.IsZero() {
		at = time.Now()
	}
	l := lapseDecision{AccountID: accountID, ResourceID: resourceID, ExpireTime: utcSecond(rows[0].ExpireTime),
		AccountName: truncate(cmp.Or(accountName, rows[0].AccountName), 64), Reason: truncate(reason, 1024),
		DecidedBy: truncate(decidedBy, 255), DecidedAt: utcSecond(at)}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "account_id"}, {Name: "resource_id"}, {Name: "expire_time"}},
		DoUpdates: clause.AssignmentColumns(
			[]string{"account_name", "reason", "decided_by", "decided_at", "request_id"},
		),
	}).Create(&l).Error
	if err != nil {
		return Lapse{}, err
	}
	return l.lapse(), nil
}

func (l lapseDecision) lapse() Lapse {
	out := Lapse{
		AccountID:   l.AccountID,
		AccountName: l.AccountName,
		ResourceID:  l.ResourceID,
		ExpireTime:  l.ExpireTime.UTC(),
		Reason:      l.Reason,
		DecidedBy:   l.DecidedBy,
		DecidedAt:   l.DecidedAt.UTC(),
	}
	if l.RequestID != nil {
		out.RequestID = *l.RequestID
	}
	return out
}

// Decision is what was decided about a resource: the latest renewal
// request naming it (RequestID "" when none; Closed once its workflow
// ended; NewExpiry: the expiry the request saw it renewed to, if any) and
// the decision to let its current expiry lapse (nil when none).
type Decision struct {
	ResourceID, RequestID, Kind, State string
	NewExpiry                          time.Time
	Lapse                              *Lapse
	Closed                             bool
}

// Open reports whether the decision's request is still open.
func (d Decision) Open() bool { return d.RequestID != "" && !d.Closed }

// Decisions answers, per resource id asked, the latest renewal request
// naming it (an open one first: a resource is in at most one) and the
// lapse decision for its current expiry (if any). A resource with neither
// is not in the map.
func (s *Store) Decisions(ctx context.Context, accountID string, resourceIDs []string) (map[string]Decision, error) {
	out := map[string]Decision{}
	ids := slices.Clone(resourceIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for chunk := range chunks(ids, 500) {
		if err := s.latestRequests(ctx, accountID, chunk, out); err != nil {
			return nil, err
		}
		if err := s.currentLapses(ctx, accountID, chunk, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) latestRequests(ctx context.Context, accountID string, ids []string, out map[string]Decision) error {
	var rows []struct {
		ResourceID, RequestID, Kind, State string
		Closed                             bool
		CreatedAt, UpdatedAt               time.Time
	}
	err := s.db.WithContext(ctx).Table("renewal_resources rr").
		Select("rr.resource_id, r.request_id, r.kind, r.state, r.closed, r.created_at, r.updated_at").
		Joins("JOIN renewal_requests r ON r.request_id = rr.request_id").
		Where("rr.account_id = ? AND rr.resource_id IN ?", accountID, ids).Scan(&rows).Error
	if err != nil {
		return reportError(err)
	}
	type pick struct {
		Decision
		created, updated time.Time
	}
	latest := map[string]pick{}
	newer := func(a, b pick) bool { // a after b
		if a.Open() != b.Open() {
			return a.Open()
		}
		if c := a.created.Compare(b.created); c != 0 {
			return c > 0
		}
		if c := a.updated.Compare(b.updated); c != 0 {
			return c > 0
		}
		return a.RequestID > b.RequestID
	}
	for _, r := range rows {
		p := pick{
			Decision{ResourceID: r.ResourceID, RequestID: r.RequestID, Kind: r.Kind, State: r.State, Closed: r.Closed},
			r.CreatedAt,
			r.UpdatedAt,
		}
		if cur, ok := latest[r.ResourceID]; !ok || newer(p, cur) {
			latest[r.ResourceID] = p
		}
	}
	if len(latest) == 0 {
		return nil
	}
	// The new expiries are in the states.
	var reqIDs []string
	for _, p := range latest {
		reqIDs = append(reqIDs, p.RequestID)
	}
	slices.Sort(reqIDs)
	var states []renewalRequest
	if err := s.db.WithContext(ctx).Select("request_id", "state_json").Where("request_id IN ?", slices.Compact(reqIDs)).
		Find(&states).Error; err != nil {
		return reportError(err)
	}
	newExpiry := map[string]map[string]time.Time{}
	for _, r := range states {
		if st, err := r.state(); err == nil {
			newExpiry[r.RequestID] = st.NewExpiry
		}
	}
	for id, p := range latest {
		d := out[id]
		d.ResourceID, d.RequestID, d.Kind, d.State, d.Closed = id, p.RequestID, p.Kind, p.State, p.Closed
		if t, ok := newExpiry[p.RequestID][id]; ok {
			d.NewExpiry = t.UTC()
		}
		out[id] = d
	}
	return nil
}

// currentLapses adds the lapse decisions made for the resources' current
// expire times.
func (s *Store) currentLapses(ctx context.Context, accountID string, ids []string, out map[string]Decision) error {
	var rows []lapseDecision
	err := s.db.WithContext(ctx).Table("lapse_decisions l").Select("l.*").
		Joins("JOIN expiring_resources e ON e.account_id = l.account_id AND e.resource_id = l.resource_id "+
			"AND e.expire_time = l.expire_time").
		Where("e.cloud_provider = ? AND l.account_id = ? AND l.resource_id IN ?",
			inventory.CloudProvider, accountID, ids).
		Scan(&rows).Error
	if err != nil {
		return reportError(err)
	}
	for _, l := range rows {
		d := out[l.ResourceID]
		lapse := l.lapse()
		d.ResourceID, d.Lapse = l.ResourceID, &lapse
		out[l.ResourceID] = d
	}
	return nil
}

// AttachDecisions sets the Decision of each row that has one (rows of any
// accounts). On a database migrated before renewals existed there are
// none: it attaches nothing.
func (s *Store) AttachDecisions(ctx context.Context, rows []ExpiringResource) error {
	ptrs := make([]*ExpiringResource, len(rows))
	for i := range rows {
		ptrs[i] = &rows[i]
	}
	return s.attachDecisions(ctx, ptrs)
}

func (s *Store) attachDecisions(ctx context.Context, rows []*ExpiringResource) error {
	if len(rows) == 0 {
		return nil
	}
	if ok, err := s.hasRenewals(ctx); err != nil || !ok {
		return err
	}
	byAccount := map[string][]*ExpiringResource{}
	for _, r := range rows {
		byAccount[r.AccountID] = append(byAccount[r.AccountID], r)
	}
	for account, rs := range byAccount {
		ids := make([]string, len(rs))
		for i, r := range rs {
			ids[i] = r.ResourceID
		}
		decisions, err := s.Decisions(ctx, account, ids)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if d, ok := decisions[r.ResourceID]; ok {
				r.Decision = &d
			}
		}
	}
	return nil
}

// hasRenewals reports whether the renewal tables exist (migration 00017):
// the read-only commands also read databases an older worker migrated.
// Once they exist they stay, so that answer is kept.
func (s *Store) hasRenewals(ctx context.Context) (bool, error) {
	if s.renewals.Load() {
		return true, nil
	}
	var n int64
	var err error
	if s.Dialect() == "mysql" {
		err = s.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM information_schema.tables "+
			"WHERE table_schema = DATABASE() AND table_name = ?", "lapse_decisions").Scan(&n).Error
	} else {
		err = s.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
			"lapse_decisions").Scan(&n).Error
	}
	if err != nil {
		return false, err
	}
	if n > 0 {
		s.renewals.Store(true)
	}
	return n > 0, nil
}
