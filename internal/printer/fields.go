package printer

import (
	"encoding/json"
	"reflect"
	"strings"
)

// column is one top-level JSON field of a struct.
type column struct {
	name      string
	index     []int
	field     reflect.StructField
	omitEmpty bool
}

// columns lists the JSON fields of struct type t in declaration order, as
// encoding/json names them (embedded structs without a tag are flattened).
func columns(t reflect.Type) []column {
	if t.Kind() != reflect.Struct {
		return nil
	}
	var cols []column
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && deref(f.Type).Kind() == reflect.Struct {
			for _, c := range columns(deref(f.Type)) {
				c.index = append([]int{i}, c.index...)
				cols = append(cols, c)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		cols = append(cols, column{name: name, index: []int{i}, field: f, omitEmpty: omit})
	}
	return cols
}

// Field is one JSON field of a command's output, as the CLI reference
// lists it.
type Field struct {
	// Path names the field: nested objects with dots, array elements
	// with [] (summary.status, recent_actions[].workflow_id).
	Path string
	// Type is string, integer, number, boolean, time (RFC 3339), object,
	// or "array of ...".
	Type string
	// Optional: the field may be null or left out.
	Optional bool
	// Doc is the field's `doc` tag.
	Doc string
}

// Fields lists the JSON fields that r prints (for a List, those of one
// row), depth first.
func Fields(r Result) []Field {
	t := reflect.TypeOf(data(r))
	if t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	var out []Field
	walk(deref(t), "", &out, 0)
	return out
}

func walk(t reflect.Type, prefix string, out *[]Field, depth int) {
	if depth > 4 {
		return
	}
	for _, c := range columns(t) {
		path := prefix + c.name
		ft := c.field.Type
		optional := c.omitEmpty || ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Map
		ft = deref(ft)
		*out = append(*out, Field{Path: path, Type: typeName(ft), Optional: optional, Doc: c.field.Tag.Get("doc")})
		switch {
		case ft.Kind() == reflect.Struct && ft != timeType:
			walk(ft, path+".", out, depth+1)
		case ft.Kind() == reflect.Slice && deref(ft.Elem()).Kind() == reflect.Struct && deref(ft.Elem()) != timeType:
			walk(deref(ft.Elem()), path+"[].", out, depth+1)
		}
	}
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

func typeName(t reflect.Type) string {
	t = deref(t)
	if t == timeType {
		return "time"
	}
	if t.Kind() != reflect.Struct && t.Implements(marshalerType) {
		return "string" // a scalar that writes itself as one, e.g. an amount "1234.50"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Map:
		return "object of " + typeName(t.Elem()) + "s"
	case reflect.Slice:
		if deref(t.Elem()).Kind() == reflect.Struct && deref(t.Elem()) != timeType {
			return "array of objects"
		}
		return "array of " + typeName(t.Elem()) + "s"
	}
	return "object"
}
