package store

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ExpiringResource is one row of expiring_resources.
type ExpiringResource struct {
	ID                  uint64 `gorm:"primaryKey"`
	CloudProvider       string
	AccountID           string
	AccountName         string
	ResourceID          string
	ResourceName        string
	RegionCode          string
	ProjectID           string
	ServiceTypeCode     string
	ResourceTypeCode    string
	ResourceSpecCode    string
	ParentResourceID    string
	IsMainResource      bool
	Status              *int // NULL: unknown
	EffectiveTime       *time.Time
	ExpireTime          time.Time
	ExpirePolicy        *int // NULL: unknown
	EnterpriseProjectID string
	Tags                Tags
	TagStatus           string
	TagError            string
	IsActive            bool
	FirstSeenAt         time.Time
	LastSyncedAt        time.Time
	LastSyncID          string
	SyncGeneration      int64      // generation of the sync that last wrote the row
	TagsReadAt          *time.Time // when Tags were last read successfully
	CutFields           string     // fields longer than their column, stored cut (comma-separated)
	// Decision is not a column: what was decided about the resource
	// (renewal request, lapse), set by the reads that say so
	// (NotifyCandidates, SendItems, AttachDecisions); nil: nothing.
	Decision *Decision `gorm:"-"`
}

// SyncLog is one row of resource_sync_logs: a sync run and its checkpoint.
type SyncLog struct {
	SyncID               string `gorm:"primaryKey"`
	CloudProvider        string
	AccountID            string
	AccountName          string
	Status               string
	ExpireDays           int
	WindowBegin          time.Time
	WindowEnd            time.Time
	TotalResources       int
	TaggedResources      int
	UntaggedResources    int
	VanishedResources    int
	TagErrorResources    int
	DeactivatedResources int
	RowsWritten          int
	BatchesCommitted     int
	LastCommittedBatch   int
	NextOffset           int // listing offset of the page holding the next uncommitted row
	NextRow              int // rows of that page already committed
	Attempts             int
	RunID                string // the workflow run that opened this attempt
	AttemptStartedAt     *time.Time
	Retries              int
	StartedAt            time.Time
	UpdatedAt            time.Time
	FinishedAt           *time.Time
	ErrorMessage         *string
	Generation           int64   // the account's generation this sync took
	LeaseToken           int64   // the lease token of the current attempt
	ListingAnchor        *string // JSON: last ids of the last committed page
	RecheckedResources   int     // unseen resources re-checked by id
	QuarantinedRecords   int     // malformed BSS records skipped
	ListedResources      int     // distinct resources the current attempt's listing wrote
	Notes                *string // JSON SyncNotes
}

// SyncNotes say what a sync could not do as asked: why it is partial
// (Degraded, Quarantined) and where bulk tag reads fell back (Fallbacks).
type SyncNotes struct {
	Degraded         []string `json:"degraded,omitempty"`
	Fallbacks        []string `json:"fallbacks,omitempty"`
	Quarantined      []string `json:"quarantined,omitempty"` // a sample
	QuarantinedCount int      `json:"quarantined_count,omitempty"`
}

// SetNotes stores n as the log's notes (none when empty).
func (l *SyncLog) SetNotes(n SyncNotes) error {
	if len(n.Degraded)+len(n.Fallbacks)+len(n.Quarantined) == 0 && n.QuarantinedCount == 0 {
		l.Notes = nil
		return nil
	}
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	s := string(b)
	l.Notes = &s
	return nil
}

// GetNotes decodes the log's notes.
func (l SyncLog) GetNotes() SyncNotes {
	var n SyncNotes
	if l.Notes != nil {
		_ = json.Unmarshal([]byte(*l.Notes), &n)
	}
	return n
}

// Anchor decodes the log's listing anchor.
func (l SyncLog) Anchor() []string {
	var ids []string
	if l.ListingAnchor != nil {
		_ = json.Unmarshal([]byte(*l.ListingAnchor), &ids)
	}
	return ids
}

// Tags is the tags column: a JSON object of key to value. A nil Tags is SQL
// NULL (tags unknown), an empty one is {} (the resource has no tags).
type Tags map[string]string

// JSON is the tags as stored: a JSON object, "{}" when there are none.
func (t Tags) JSON() (string, error) {
	if t == nil {
		t = Tags{}
	}
	v, err := t.Value()
	s, _ := v.(string)
	return s, err
}

// Value encodes without HTML escaping so the stored JSON reads as written.
func (t Tags) Value() (driver.Value, error) {
	if t == nil {
		return nil, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]string(t)); err != nil {
		return nil, err
	}
	return string(bytes.TrimRight(b.Bytes(), "\n")), nil
}

// Scan decodes the JSON column.
func (t *Tags) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case nil:
		*t = nil
		return nil
	case []byte:
		b = x
	case string:
		b = []byte(x)
	default:
		return fmt.Errorf("tags column: unexpected %T", v)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return errors.New("tags column: invalid JSON object")
	}
	*t = m
	return nil
}

// TableName pins the table name (gorm would derive "sync_logs").
func (SyncLog) TableName() string { return "resource_sync_logs" }

// TableName pins the table name.
func (ExpiringResource) TableName() string { return "expiring_resources" }

// GormDataType tells gorm the column holds JSON.
func (Tags) GormDataType() string { return "json" }
