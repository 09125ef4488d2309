package inventory

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// What the inventory can hold of a BSS record. The sizes are those of the
// expiring_resources columns (internal/store/migrations; MySQL counts
// VARCHAR sizes in characters), so that MySQL in strict mode, which refuses
// an over-long value (error 1406), and SQLite, which would keep it, store
// the same thing: one record never fails a batch, and so an account.

// MaxIDLength is the longest resource id the inventory stores (the
// resource_id column). A longer id cannot be cut (it would name another
// resource): its record is quarantined.
const MaxIDLength = 128

// Times a DATETIME column holds (MySQL's range; SQLite stores any text).
var (
	MinStorableTime = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxStorableTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// CheckID says why a resource id cannot be used, or nil: it must be stored
// whole, and it goes into TMS URL paths (/v2.0/resources/{id}/tags), where
// '/', '?', '#', '%' or '\' would change the path, and control characters
// or spaces have no place.
func CheckID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("no resource_id")
	case !utf8.ValidString(id):
		return fmt.Errorf("resource_id %q is not valid UTF-8", id)
	case utf8.RuneCountInString(id) > MaxIDLength:
		return fmt.Errorf(
			"resource_id %.40q… has %d characters, more than the %d an id may have",
			id,
			utf8.RuneCountInString(id),
			MaxIDLength,
		)
	case strings.ContainsAny(id, `/?#%\`):
		return fmt.Errorf("resource_id %q holds one of / ? # %% \\, which would change a TMS URL path", id)
	case strings.ContainsFunc(id, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		return fmt.Errorf("resource_id %q holds a space or a control character", id)
	}
	return nil
}

// CheckExpireTime says why an expire time cannot be stored, or nil.
func CheckExpireTime(t time.Time) error {
	if t.Before(MinStorableTime) || t.After(MaxStorableTime) {
		return fmt.Errorf(
			"expire_time %s is outside %d..%d",
			t.Format(time.RFC3339),
			MinStorableTime.Year(),
			MaxStorableTime.Year(),
		)
	}
	return nil
}

// field is one descriptive text field of a record and its column's size.
type field struct {
	name string
	max  int
	get  func(*Resource) *string
}

// fields are the text fields stored cut when too long: what they say is
// worth keeping in part (a name, a spec) rather than losing the record.
var fields = []field{
	{"resource_name", 512, func(r *Resource) *string { return &r.Name }},
	{"region_code", 64, func(r *Resource) *string { return &r.RegionCode }},
	{"project_id", 64, func(r *Resource) *string { return &r.ProjectID }},
	{"service_type_code", 64, func(r *Resource) *string { return &r.ServiceTypeCode }},
	{"resource_type_code", 64, func(r *Resource) *string { return &r.ResourceTypeCode }},
	{"resource_spec_code", 128, func(r *Resource) *string { return &r.ResourceSpecCode }},
	{"parent_resource_id", MaxIDLength, func(r *Resource) *string { return &r.ParentResourceID }},
	{"enterprise_project_id", 64, func(r *Resource) *string { return &r.EnterpriseProjectID }},
}

// ColumnSizes names each cut field's column size (for the test that holds
// them equal to the migrations').
func ColumnSizes() map[string]int {
	out := make(map[string]int, len(fields))
	for _, f := range fields {
		out[f.name] = f.max
	}
	return out
}

// Fit cuts the record's text fields to their columns' sizes, on character
// boundaries, and drops an effective time a column cannot hold; it returns
// the names of the fields it changed (none: the record fits as it is).
// The record is then stored cut and flagged (expiring_resources.cut_fields),
// never refused.
func (r *Resource) Fit() []string {
	var cut []string
	for _, f := range fields {
		v := f.get(r)
		if utf8.RuneCountInString(*v) > f.max {
			*v = cutRunes(*v, f.max)
			cut = append(cut, f.name)
		}
	}
	if !r.EffectiveTime.IsZero() &&
		(r.EffectiveTime.Before(MinStorableTime) || r.EffectiveTime.After(MaxStorableTime)) {
		r.EffectiveTime = time.Time{}
		cut = append(cut, "effective_time")
	}
	return cut
}

// cutRunes keeps the first n characters of s.
func cutRunes(s string, n int) string {
	i := 0
	for range n {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return s[:i]
}
