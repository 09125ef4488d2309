// Package printer writes a command's result in the format the user chose
// with -o/--output, on the model of the temporal CLI's structured printer:
// a command builds one typed value and hands it over; the printer renders it
// as text for people, or as JSON, JSON lines or CSV for programs. The JSON
// names are the values' `json` tags, so they are the documented contract
// (see Fields).
package printer

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Format is an output format.
type Format string

// The formats -o accepts.
const (
	Text  Format = "text"  // tables and aligned fields, for people
	JSON  Format = "json"  // one indented JSON value (an array for a list)
	JSONL Format = "jsonl" // one compact JSON object per line
	CSV   Format = "csv"   // a header row, then one row per object
)

// Formats lists the formats in the order the help names them.
var Formats = []Format{Text, JSON, JSONL, CSV}

// Names lists the formats as the help writes them: "text, json, jsonl, csv".
func Names() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// ParseFormat reads a format name, in any case; "table" is text (the name
// `report --format` used).
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if f == "table" {
		return Text, nil
	}
	for _, known := range Formats {
		if f == known {
			return f, nil
		}
	}
	return "", fmt.Errorf("allowed %s", Names())
}

// Result is what a command prints.
type Result interface {
	// PrintText writes the result for people.
	PrintText(w io.Writer) error
}

// List is a Result made of rows: JSON prints Rows as an array, JSONL one
// row a line and CSV one row a record. Rows returns a slice.
type List interface {
	Result
	Rows() any
}

// Printer writes results to Out in Format.
type Printer struct {
	Out    io.Writer
	Format Format
}

// Print writes r in the printer's format.
func (p Printer) Print(r Result) error {
	switch p.Format {
	case JSON:
		return p.writeJSON(data(r), "  ")
	case JSONL:
		return p.writeJSONL(data(r))
	case CSV:
		return p.writeCSV(data(r))
	}
	var b bytes.Buffer
	if err := r.PrintText(&b); err != nil {
		return err
	}
	_, err := p.Out.Write(b.Bytes())
	return err
}

// Textf writes a line for people only: what a command says while it works
// (e.g. "Started sync ..."), which must not mix with JSON or CSV.
func (p Printer) Textf(format string, args ...any) {
	if p.Format == Text || p.Format == "" {
		fmt.Fprintf(p.Out, format+"\n", args...)
	}
}

// data is what the machine formats encode: the rows of a list (never
// null: an empty list is []), else the result itself.
func data(r Result) any {
	l, ok := r.(List)
	if !ok {
		return r
	}
	rows := reflect.ValueOf(l.Rows())
	if rows.Kind() == reflect.Slice && rows.IsNil() {
		return reflect.MakeSlice(rows.Type(), 0, 0).Interface()
	}
	return rows.Interface()
}

func (p Printer) writeJSON(v any, indent string) error {
	enc := json.NewEncoder(p.Out)
	enc.SetEscapeHTML(false) // tags and names keep their < > &
	enc.SetIndent("", indent)
	return enc.Encode(v)
}

func (p Printer) writeJSONL(v any) error {
	for _, item := range items(v) {
		if err := p.writeJSON(item, ""); err != nil {
			return err
		}
	}
	return nil
}

// items is v's elements when v is a slice, else v alone.
func items(v any) []any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return []any{v}
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out
}

// writeCSV writes one column per top-level JSON field of the rows' type, in
// declaration order: nested objects and arrays go into one cell as compact
// JSON, times as RFC 3339, null as an empty cell, and text that a
// spreadsheet would run as a formula quoted (defuse).
func (p Printer) writeCSV(v any) error {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	cols := columns(deref(t))
	w := csv.NewWriter(p.Out)
	record := make([]string, len(cols))
	for i, c := range cols {
		record[i] = c.name
	}
	if err := w.Write(record); err != nil {
		return err
	}
	for _, item := range items(v) {
		rv := reflect.Indirect(reflect.ValueOf(item))
		for i, c := range cols {
			cell, err := csvCell(rv.FieldByIndex(c.index))
			if err != nil {
				return fmt.Errorf("csv column %s: %w", c.name, err)
			}
			record[i] = cell
		}
		if err := w.Write(record); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

var timeType = reflect.TypeFor[time.Time]()

func csvCell(v reflect.Value) (string, error) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "", nil
		}
		v = v.Elem()
	}
	if v.Type() == timeType {
		return v.Interface().(time.Time).Format(time.RFC3339), nil
	}
	switch v.Kind() {
	case reflect.String:
		return defuse(v.String()), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64), nil
	case reflect.Map, reflect.Slice:
		if v.IsNil() {
			return "", nil
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v.Interface()); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// formulaStart: the first characters that make a spreadsheet read a cell
// as a formula (OWASP, CSV injection).
const formulaStart = "=+-@\t\r"

// defuse prefixes text a spreadsheet would run as a formula with a single
// quote, which makes it text: a resource name or tag is written by whoever
// can tag a resource, and "=HYPERLINK(...)" would run on the reader's
// machine. Only text is defused: a negative number stays a number.
func defuse(s string) string {
	if s != "" && strings.ContainsRune(formulaStart, rune(s[0])) {
		return "'" + s
	}
	return s
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
