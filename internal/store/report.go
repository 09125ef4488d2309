package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
)

// ErrNoTables: the database answers but holds no expiry-sync tables (the
// worker, which applies the migrations, never ran against it).
var ErrNoTables = errors.New("the expiry-sync tables do not exist")

// ReportSort orders a report. Every order ends with the expire time, then
// the resource id, so that the result is the same on every run and on both
// databases.
type ReportSort string

// Report orders.
const (
	SortExpire  ReportSort = "expire"  // expire_time
	SortName    ReportSort = "name"    // resource_name
	SortService ReportSort = "service" // service_type_code
	SortRegion  ReportSort = "region"  // region_code
	SortProject ReportSort = "project" // project_id
	SortAccount ReportSort = "account" // account_name
)

// ReportSorts lists the orders a report accepts, the default first.
func ReportSorts() []ReportSort {
	return []ReportSort{SortExpire, SortName, SortService, SortRegion, SortProject, SortAccount}
}

// reportSortColumns is the column each order sorts by before the expire time.
var reportSortColumns = map[ReportSort]string{
	SortExpire: "", SortName: "resource_name", SortService: "service_type_code",
	SortRegion: "region_code", SortProject: "project_id", SortAccount: "account_name",
}

// TagMatch is one tag a reported resource must carry with exactly this
// value; an empty Value matches a tag whose value is empty (not a missing one).
type TagMatch struct {
	Key   string
	Value string
}

// ReportFilter selects the resources of a report.
type ReportFilter struct {
	// ExpireBy is required: resources whose expire_time <= ExpireBy,
	// including the already expired ones.
	ExpireBy time.Time
	// IncludeInactive also reports resources that the last sync covering
	// their expire time no longer saw.
	IncludeInactive bool
	// AccountNames: only the rows of these accounts (their names); none
	// matches every account.
	AccountNames []string
	// ServiceTypeCode, RegionCode and ProjectID match exactly; "" matches any.
	ServiceTypeCode string
	RegionCode      string
	ProjectID       string
	// Tags must all match. A resource whose tags are unknown (NULL) matches
	// no tag.
	Tags []TagMatch
	// Sort defaults to SortExpire.
	Sort ReportSort
	// Limit caps the rows returned; 0 means no cap.
	Limit int
}

// ExpiringWithin lists the resources matching f, in f.Sort order. It only
// reads: it never migrates nor writes. When the tables are missing the
// error wraps ErrNoTables.
//
// Tags are matched in Go on the decoded JSON, so keys and values of any
// content (quotes, %, _, backslashes, any script) compare exactly; user text
// only ever reaches SQL as bound parameters.
func (s *Store) ExpiringWithin(ctx context.Context, f ReportFilter) ([]ExpiringResource, error) {
	if f.ExpireBy.IsZero() {
		return nil, errors.New("report: ExpireBy is required")
	}
	if f.Limit < 0 {
		return nil, fmt.Errorf("report: negative limit %d", f.Limit)
	}
	order, err := s.reportOrder(f.Sort)
	if err != nil {
		return nil, err
	}
	// Stored times are UTC whole seconds (utcSecond); the bound must be in
	// the same form for SQLite's text comparison.
	q := s.db.WithContext(ctx).Model(&ExpiringResource{}).Where("expire_time <= ?", utcSecond(f.ExpireBy))
	if !f.IncludeInactive {
		q = q.Where("is_active = ?", true)
	}
	if len(f.AccountNames) > 0 {
		q = q.Where("account_name IN ?", f.AccountNames)
	}
	if f.ServiceTypeCode != "" {
		q = q.Where("service_type_code = ?", f.ServiceTypeCode)
	}
	if f.RegionCode != "" {
		q = q.Where("region_code = ?", f.RegionCode)
	}
	if f.ProjectID != "" {
		q = q.Where("project_id = ?", f.ProjectID)
	}
	if len(f.Tags) > 0 {
		q = q.Where("tags IS NOT NULL")
	} else if f.Limit > 0 {
		q = q.Limit(f.Limit) // with tag filters the cap applies after matching, below
	}
	rows, err := q.Order(order).Rows()
	if err != nil {
		return nil, reportError(err)
	}
	defer rows.Close()
	out := []ExpiringResource{}
	for rows.Next() {
		var r ExpiringResource
		if err := s.db.ScanRows(rows, &r); err != nil {
			return nil, reportError(err)
		}
		if !tagsMatch(r.Tags, f.Tags) {
			continue
		}
		out = append(out, r)
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, reportError(err)
	}
	return out, nil
}

// reportOrder builds the ORDER BY of a sort. On MySQL strings are compared
// as bytes, as SQLite does, so that both databases return the same order
// (utf8mb4_unicode_ci would fold case and accents).
func (s *Store) reportOrder(sort ReportSort) (string, error) {
	if sort == "" {
		sort = SortExpire
	}
	col, ok := reportSortColumns[sort]
	if !ok {
		return "", fmt.Errorf("report: unknown sort %q", sort)
	}
	bytewise := func(c string) string {
		if s.Dialect() == "mysql" {
			return "CAST(" + c + " AS BINARY)"
		}
		return c
	}
	keys := []string{"expire_time", bytewise("resource_id"), bytewise("account_id"), "id"}
	if col != "" {
		keys = append([]string{bytewise(col)}, keys...)
	}
	return strings.Join(keys, ", "), nil
}

func tagsMatch(tags Tags, want []TagMatch) bool {
	if len(want) == 0 {
		return true
	}
	if tags == nil {
		return false
	}
	for _, w := range want {
		v, ok := tags[w.Key]
		if !ok || v != w.Value {
			return false
		}
	}
	return true
}

// reportError marks a missing table with ErrNoTables.
func reportError(err error) error {
	var me *mysqldriver.MySQLError
	if (errors.As(err, &me) && me.Number == 1146) || strings.Contains(err.Error(), "no such table") {
		return fmt.Errorf("%w: %v", ErrNoTables, err)
	}
	return err
}

// CheckURL reports whether databaseURL is one Open accepts, without
// connecting: a malformed DATABASE_URL is bad input, not an outage.
func CheckURL(databaseURL string) error {
	_, _, err := parseURL(databaseURL)
	return err
}

// MissingSQLiteFile returns the file an SQLite databaseURL names and true
// when that file does not exist. Opening it would create an empty database,
// which a read-only command must not do. Other URLs return "", false.
func MissingSQLiteFile(databaseURL string) (string, bool) {
	if databaseURL == "" {
		databaseURL = "sqlite://" + DefaultSQLiteFile
	}
	u, err := url.Parse(databaseURL)
	if err != nil || u.Scheme != "sqlite" || u.Host+u.Path == "" {
		return "", false
	}
	path := u.Host + u.Path
	_, err = os.Stat(path)
	return path, errors.Is(err, os.ErrNotExist)
}
