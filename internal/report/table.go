package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// Widths the table cuts long names and tag lists at, in terminal columns.
const (
	nameWidth   = 40
	tagsWidth   = 50
	reasonWidth = 40
)

const resourceTypePrefix = "hws.resource.type."

// writeTable writes the report for people: one line a resource, long names
// and tag lists cut, and a footer saying what was asked.
func writeTable(w io.Writer, r Result) error {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetStyle(table.StyleLight)
	t.Style().Options.SeparateRows = false
	t.Style().Format.Footer = text.FormatDefault
	t.Style().Options.DoNotRenderSeparatorWhenEmpty = true
	t.AppendHeader(table.Row{
		"EXPIRES (UTC)",
		"DAYS LEFT",
		"ACCOUNT",
		"RESOURCE",
		"DECISION",
		"SERVICE",
		"TYPE",
		"REGION",
		"PROJECT",
		"STATUS",
		"EXPIRE POLICY",
		"TAGS",
	})
	t.SetColumnConfigs([]table.ColumnConfig{{Number: 2, Align: text.AlignRight}})
	for _, it := range r.Items {
		t.AppendRow(table.Row{
			it.ExpireTime.Format(time.DateTime),
			it.DaysLeft,
			cell(it.AccountName),
			resourceCell(it),
			decisionCell(it),
			serviceCell(it.ServiceTypeCode),
			cell(strings.TrimPrefix(it.ResourceTypeCode, resourceTypePrefix)),
			cell(it.RegionCode),
			cell(it.ProjectID),
			it.StatusText,
			it.ExpirePolicyText,
			tagsCell(it),
		})
	}
	// The same text in every cell merges into one line across the table.
	footer := make(table.Row, 12)
	for i := range footer {
		footer[i] = r.footer()
	}
	t.AppendFooter(footer, table.RowConfig{AutoMerge: true, AutoMergeAlign: text.AlignLeft})
	t.Render()
	return nil
}

func (r Result) footer() string {
	s := fmt.Sprintf("%d resources", len(r.Items))
	if len(r.Items) == 1 {
		s = "1 resource"
	}
	if r.More {
		s += fmt.Sprintf(" shown, more match (--limit=%d)", r.Query.Limit)
	}
	s += fmt.Sprintf(" expiring by %s UTC (within %d days)", r.ExpireBy.Format(time.DateTime), r.Query.Days)
	if names := r.Query.Filter.AccountNames; len(names) > 0 {
		s += ", account " + strings.Join(names, ", ")
	}
	if !r.Query.Filter.IncludeInactive {
		s += ", active only"
	}
	return s
}

func resourceCell(it Item) string {
	name := truncate(cell(it.ResourceName), nameWidth)
	if name == "" {
		return cell(it.ResourceID)
	}
	return name + " (" + cell(it.ResourceID) + ")"
}

// decisionCell shows the decision, a lapse's reason cut at reasonWidth: a
// request id is never cut, so that it can be copied.
func decisionCell(it Item) string {
	if reason, ok := strings.CutPrefix(it.Decision, "lapse: "); ok {
		return "lapse: " + truncate(cell(reason), reasonWidth)
	}
	return cell(it.Decision)
}

func serviceCell(code string) string {
	if name, ok := serviceNames[code]; ok {
		return name
	}
	return cell(code)
}

// tagsCell lists the tags as k=v sorted by key, cut for the table; unknown
// tags say why.
func tagsCell(it Item) string {
	if it.Tags == nil {
		switch it.TagStatus {
		case "unsupported":
			return "(type not tagged)"
		case "not_found":
			return "(vanished)"
		case "error":
			return "(could not read)"
		}
		return "(unknown)"
	}
	if len(it.Tags) == 0 {
		return "(none)"
	}
	keys := make([]string, 0, len(it.Tags))
	for k := range it.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + it.Tags[k]
	}
	return truncate(cell(strings.Join(parts, ", ")), tagsWidth)
}

// truncate cuts s to at most width terminal columns (CJK characters and
// most emoji take two), marking the cut with "…".
func truncate(s string, width int) string {
	if text.StringWidthWithoutEscSequences(s) <= width {
		return s
	}
	return text.Trim(s, width-1) + "…"
}

// cell keeps a table cell on one line and free of terminal escapes.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}
