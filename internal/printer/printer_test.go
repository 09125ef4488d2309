package printer_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/printer"
)

type inner struct {
	Phase string `json:"phase"`
	Count int    `json:"count"`
}

type run struct {
	ID       string            `json:"id" doc:"the run's id"`
	Started  time.Time         `json:"started_at"`
	Ended    *time.Time        `json:"ended_at,omitempty"`
	OK       bool              `json:"ok"`
	Tags     map[string]string `json:"tags"`
	Progress *inner            `json:"progress,omitempty"`
	Steps    []inner           `json:"steps"`
	hidden   string
	Skipped  string `json:"-"`
}

func (r run) PrintText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "run %s\n", r.ID)
	return err
}

type runs []run

func (r runs) PrintText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%d runs\n", len(r))
	return err
}
func (r runs) Rows() any { return []run(r) }

var t0 = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

func render(t *testing.T, f printer.Format, r printer.Result) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, printer.Printer{Out: &b, Format: f}.Print(r))
	return b.String()
}

func TestEachFormatRendersTheSameValue(t *testing.T) {
	end := t0.Add(90 * time.Second)
	one := run{ID: "a<b>&c", Started: t0, Ended: &end, OK: true, Tags: map[string]string{"z": "1", "env": "prod"},
		Progress: &inner{Phase: "listing", Count: 3}, Steps: []inner{{"x", 1}}, hidden: "no", Skipped: "no"}
	two := run{ID: "b", Started: t0}
	list := runs{one, two}

	assert.Equal(t, "2 runs\n", render(t, printer.Text, list))
	assert.Equal(t, "run b\n", render(t, printer.Text, two))

	assert.Equal(t, `{
  "id": "b",
  "started_at": "2026-11-26T08:00:00Z",
  "ok": false,
  "tags": null,
  "steps": null
}
`, render(t, printer.JSON, two))
	assert.Equal(t, `{"id":"a<b>&c","started_at":"2026-11-26T08:00:00Z","ended_at":"2026-11-26T08:01:30Z","ok":true,"tags":{"env":"prod","z":"1"},"progress":{"phase":"listing","count":3},"steps":[{"phase":"x","count":1}]}
{"id":"b","started_at":"2026-11-26T08:00:00Z","ok":false,"tags":null,"steps":null}
`, render(t, printer.JSONL, list))
	assert.Equal(t, `id,started_at,ended_at,ok,tags,progress,steps
a<b>&c,2026-11-26T08:00:00Z,2026-11-26T08:01:30Z,true,"{""env"":""prod"",""z"":""1""}","{""phase"":""listing"",""count"":3}","[{""phase"":""x"",""count"":1}]"
b,2026-11-26T08:00:00Z,,false,,,
`, render(t, printer.CSV, list))
	assert.Equal(t, "id,started_at,ended_at,ok,tags,progress,steps\nb,2026-11-26T08:00:00Z,,false,,,\n", render(t, printer.CSV, two), "one object: one row")
}

func TestEmptyListIsAnEmptyArray(t *testing.T) {
	assert.Equal(t, "[]\n", render(t, printer.JSON, runs(nil)))
	assert.Equal(t, "", render(t, printer.JSONL, runs(nil)))
	assert.Equal(t, "id,started_at,ended_at,ok,tags,progress,steps\n", render(t, printer.CSV, runs(nil)))
}

func TestTextfIsForPeopleOnly(t *testing.T) {
	for _, f := range printer.Formats {
		var b bytes.Buffer
		printer.Printer{Out: &b, Format: f}.Textf("Started %s", "x")
		if f == printer.Text {
			assert.Equal(t, "Started x\n", b.String())
		} else {
			assert.Empty(t, b.String(), f)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]printer.Format{"text": printer.Text, "TABLE": printer.Text, " json ": printer.JSON, "jsonl": printer.JSONL, "Csv": printer.CSV} {
		got, err := printer.ParseFormat(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "yaml", "json,csv"} {
		_, err := printer.ParseFormat(bad)
		assert.EqualError(t, err, "allowed text, json, jsonl, csv", bad)
	}
}

func TestFieldsListTheJSONContract(t *testing.T) {
	var paths []string
	for _, f := range printer.Fields(runs(nil)) {
		paths = append(paths, fmt.Sprintf("%s %s %v", f.Path, f.Type, f.Optional))
	}
	assert.Equal(t, []string{
		"id string false", "started_at time false", "ended_at time true", "ok boolean false", "tags object of strings true",
		"progress object true", "progress.phase string false", "progress.count integer false",
		"steps array of objects false", "steps[].phase string false", "steps[].count integer false",
	}, paths)
	assert.Equal(t, "the run's id", printer.Fields(run{})[0].Doc)
}

// Text a spreadsheet would run as a formula is quoted (OWASP's CSV
// injection advice); numbers, times and JSON cells are not text.
func TestCSVDefusesFormulas(t *testing.T) {
	type row struct {
		Name  string   `json:"name"`
		Days  int      `json:"days"`
		Rate  float64  `json:"rate"`
		Owner *string  `json:"owner"`
		Tags  []string `json:"tags"`
	}
	owner := "@ops"
	rows := []row{
		{Name: "=HYPERLINK(\"http://evil\",\"x\")", Days: -3, Rate: -0.5, Owner: &owner, Tags: []string{"=1+1"}},
		{Name: "+1", Days: 0},
		{Name: "-2+3"},
		{Name: "\tcmd"},
		{Name: "\r=1"},
		{Name: "web-01=a", Days: 1},
		{Name: "'=quoted"},
	}
	var b bytes.Buffer
	require.NoError(t, printer.Printer{Out: &b, Format: printer.CSV}.Print(table[row](rows)))
	assert.Equal(t, `name,days,rate,owner,tags
"'=HYPERLINK(""http://evil"",""x"")",-3,-0.5,'@ops,"[""=1+1""]"
'+1,0,0,,
'-2+3,0,0,,
'`+"\t"+`cmd,0,0,,
"'`+"\r"+`=1",0,0,,
web-01=a,1,0,,
'=quoted,0,0,,
`, b.String())
}

type table[T any] []T

func (t table[T]) PrintText(io.Writer) error { return nil }
func (t table[T]) Rows() any                 { return []T(t) }
