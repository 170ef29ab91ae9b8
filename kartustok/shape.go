// Copyright The kartustok_exporter Authors
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package kartustok

// This file describes what the client reads of the data of every answer,
// field by field, from the wire types of types.go: the fields' JSON names
// and kinds come from the types by reflection, and which fields a row
// cannot do without from the types' own checks. A connectivity check
// compares an answer's rows with it, every value tried with the client's
// own decoding, so that it keeps no second list of the API's fields and
// cannot disagree with the client on what a field may hold.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// FieldKind is what a field holds.
type FieldKind int

// The kinds of field.
const (
	// FieldText is a JSON string, or null.
	FieldText FieldKind = iota
	// FieldID is an ID: a JSON string or number of at most MaxIDBytes.
	FieldID
	// FieldQuantity is a quantity: a JSON number or a decimal string.
	FieldQuantity
	// FieldOptionalQuantity is a quantity, or null for none.
	FieldOptionalQuantity
	// FieldFlag is true, false, 1 or 0.
	FieldFlag
	// FieldObject is a JSON object.
	FieldObject
	// FieldStrings is a JSON array of strings.
	FieldStrings
	// FieldTime is a date and time.
	FieldTime
)

// Need says how much the exporter depends on a field.
type Need int

// The needs.
const (
	// Optional: the exporter reads it when it comes (a label, a minimum
	// that depends on the mode); without it the output only lacks it.
	Optional Need = iota
	// Needed: without it the exporter's output is wrong, though the row
	// is kept.
	Needed
	// Required: without it the client skips the row.
	Required
)

// Field is one field of a row, or of an object answer, that the client
// reads.
type Field struct {
	// Name is the field's JSON name, which encoding/json matches without
	// regard to case.
	Name string
	Kind FieldKind
	Need Need
	// Without says what the exporter does when a Needed or Required field
	// is missing; it is empty for an Optional one.
	Without string
}

// Shape is what the client reads of the data of one endpoint: the fields
// of a row of its list, or of the object it answers.
type Shape struct {
	typ reflect.Type // the row type
	// key is the field that names a row, "" for an object.
	key    string
	fields []Field
	types  []reflect.Type // each field's wire type
	// template is a row the client accepts, of its required fields
	// alone: a field's value is tried in it.
	template map[string]json.RawMessage
	decode   func([]byte) error
	// nested holds, by field index, the shapes of the object fields the
	// client reads field by field.
	nested map[int]*Shape
}

// ShapeOf returns the shape of the data endpoint answers (an Endpoint
// constant), or nil for an endpoint the client does not call.
func ShapeOf(endpoint string) *Shape { return shapes()[endpoint] }

// Fields returns the fields of the shape, in the order of its type.
func (s *Shape) Fields() []Field { return slices.Clone(s.fields) }

// Key returns the name of the field that names a row in messages ("id",
// or "item_id" for a stock summary row), "" for an object answer.
func (s *Shape) Key() string { return s.key }

// skipRow is what the client does with a row that lacks a required field.
const skipRow = "the exporter skips such rows"

// shapes holds the shape of every endpoint's data.
var shapes = sync.OnceValue(func() map[string]*Shape {
	item := newShape[Item, itemWire]("id", map[string]string{
		"is_active": "the exporter takes such an item as inactive",
	})
	return map[string]*Shape{
		EndpointHealth: newShape[Health, Health]("", nil),
		EndpointCompany: newShape[Company, Company]("", map[string]string{
			"timezone": "the exporter reads stock for the UTC day, which is the wrong day for part of every day",
		}, newShape[TokenInfo, tokenWire]("", nil)),
		EndpointItemCategories: newShape[Category, categoryWire]("id", nil),
		EndpointLocators: newShape[Locator, locatorWire]("id", map[string]string{
			"is_active": "the exporter takes such a warehouse as inactive and reads no stock for it",
		}),
		EndpointItems: item,
		EndpointItem:  item,
		EndpointStockSummary: newShape[StockRow, stockRowWire]("item_id", map[string]string{
			"ending_qty": "a missing balance is never taken for 0",
		}),
		EndpointStockDetail: newShape[Movement, movementWire]("id", nil),
	}
})

// newShape describes row type T, sent as W. A field is required when T's
// decoding refuses a row without it: the template is grown from {} by
// the field each refusal names. without says what the exporter does
// without a field: a field it names is Needed unless it is required, when
// the text adds to the row being skipped. nested are the shapes of object
// fields, matched by their type.
func newShape[T, W any](key string, without map[string]string, nested ...*Shape) *Shape {
	s := &Shape{
		typ: reflect.TypeFor[T](), key: key, template: map[string]json.RawMessage{},
		decode: func(b []byte) error {
			var v T
			return json.Unmarshal(b, &v)
		},
	}
	s.readFields(reflect.TypeFor[W]())
	for {
		b, err := json.Marshal(s.template)
		if err != nil {
			panic(err)
		}
		err = s.decode(b)
		if err == nil {
			break
		}
		var p *rowProblem
		i := -1
		if errors.As(err, &p) {
			i = s.index(p.Field)
		}
		if i < 0 || s.fields[i].Need == Required {
			panic(fmt.Sprintf("kartustok: %s refuses %s: %v", s.typ, b, err))
		}
		s.fields[i].Need, s.fields[i].Without = Required, skipRow
		s.template[p.Field] = sample[s.fields[i].Kind]
	}
	for name, text := range without {
		i := s.index(name)
		switch {
		case i < 0:
			panic(fmt.Sprintf("kartustok: %s has no field %q", s.typ, name))
		case s.fields[i].Need == Required:
			s.fields[i].Without = skipRow + " (" + text + ")"
		default:
			s.fields[i].Need, s.fields[i].Without = Needed, text
		}
	}
	for _, n := range nested {
		i := slices.IndexFunc(s.types, func(t reflect.Type) bool { return t == n.typ || t == reflect.PointerTo(n.typ) })
		if i < 0 {
			panic(fmt.Sprintf("kartustok: %s has no field of type %s", s.typ, n.typ))
		}
		if s.nested == nil {
			s.nested = map[int]*Shape{}
		}
		s.nested[i] = n
	}
	return s
}

// readFields sets the fields encoding/json decodes of struct type t, in
// their order, with the fields of embedded structs promoted: of two
// fields with one name, the shallower is decoded, in the place of the
// first.
func (s *Shape) readFields(t reflect.Type) {
	var depths []int
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-":
				continue
			case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
				walk(f.Type, depth+1)
				continue
			case !f.IsExported():
				continue
			case name == "":
				name = f.Name
			}
			kind := kindOf(f.Type)
			if j := s.index(name); j >= 0 {
				if depth < depths[j] {
					s.fields[j].Kind, s.types[j], depths[j] = kind, f.Type, depth
				}
				continue
			}
			s.fields = append(s.fields, Field{Name: name, Kind: kind})
			s.types = append(s.types, f.Type)
			depths = append(depths, depth)
		}
	}
	walk(t, 0)
}

// kindOf is the kind of a field of Go type t.
func kindOf(t reflect.Type) FieldKind {
	switch t {
	case reflect.TypeFor[ID]():
		return FieldID
	case reflect.TypeFor[string]():
		return FieldText
	case reflect.TypeFor[Quantity](), reflect.TypeFor[requiredQuantity]():
		return FieldQuantity
	case reflect.TypeFor[optionalQuantity](), reflect.TypeFor[*Quantity]():
		return FieldOptionalQuantity
	case reflect.TypeFor[flag](), reflect.TypeFor[bool]():
		return FieldFlag
	case reflect.TypeFor[[]string]():
		return FieldStrings
	case reflect.TypeFor[expiry](), reflect.TypeFor[*time.Time]():
		return FieldTime
	}
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		return FieldObject
	}
	panic(fmt.Sprintf("kartustok: no field kind for %s", t))
}

// sample is a value of every kind that the client reads.
var sample = map[FieldKind]json.RawMessage{
	FieldText: json.RawMessage(`"x"`), FieldID: json.RawMessage(`"x"`),
	FieldQuantity: json.RawMessage(`"0"`), FieldOptionalQuantity: json.RawMessage(`"0"`),
	FieldFlag: json.RawMessage(`true`), FieldObject: json.RawMessage(`{}`),
	FieldStrings: json.RawMessage(`[]`), FieldTime: json.RawMessage(`"2006-01-02"`),
}

// index returns the index of the field named name, -1 when none is.
func (s *Shape) index(name string) int {
	return slices.IndexFunc(s.fields, func(f Field) bool { return f.Name == name })
}

// RowsReport is what the rows of one answer held, field by field, as the
// client reads them. Rows are counted from 0.
type RowsReport struct {
	Rows int
	// Skipped counts the rows the client does not use.
	Skipped int
	// Fields holds a report for every field of the shape, in its order.
	Fields []FieldReport
	// Ignored holds the keys that came in some row but that the client
	// does not read, sorted, each once, as sent.
	Ignored []string
	// NotObject counts the rows that are no JSON object; Value is the
	// first of them.
	NotObject RowIssue
	// Unexplained counts the rows the client refuses for a reason that no
	// single field's value explains, such as a key repeated in the row;
	// Err is why it refuses the first of them.
	Unexplained RowIssue
}

// RowIssue counts the rows with one problem, and shows the first.
type RowIssue struct {
	Count, First int
	// Value is the first row, for NotObject.
	Value json.RawMessage
	// Key is the first row's ID (see Shape.Key), empty when it has none
	// that can be read.
	Key ID
	// Err is why the client refuses the first row.
	Err error
}

// FieldReport is what the rows held in one field.
type FieldReport struct {
	Field
	// Present counts the rows in which the field came, null included.
	Present int
	// Missing counts the rows without a usable value of a Needed or
	// Required field: absent, null, or for an ID or a text "".
	Missing, FirstMissing int
	// Bad counts the rows whose value the client cannot read; BadValue
	// is the first such value and BadKey its row's ID, empty when the row
	// has none that can be read.
	Bad, FirstBad int
	BadValue      json.RawMessage
	BadKey        ID
	// Object is what the field's values held, for an object the client
	// reads field by field (a company's token); nil otherwise.
	Object *RowsReport
}

// Analyse compares rows, each a row of a list or the one object an answer
// holds, with the shape. A row's fields are matched to the shape's as
// encoding/json matches them, and every value is tried on its own in a row
// the client accepts, so that a value is bad exactly when the client
// cannot read it.
func (s *Shape) Analyse(rows []json.RawMessage) *RowsReport {
	r := &RowsReport{Rows: len(rows), Fields: make([]FieldReport, len(s.fields))}
	for i, f := range s.fields {
		r.Fields[i].Field = f
	}
	ignored := map[string]bool{}
	var nested map[int][]json.RawMessage
	values := make([]json.RawMessage, len(s.fields))
	for i, raw := range rows {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			r.Skipped++
			if r.NotObject.add(i) {
				r.NotObject.Value = raw
			}
			continue
		}
		s.match(m, values, ignored)
		key := s.rowKey(values)
		flagged := false // a field's report covers the row
		for f, v := range values {
			fr := &r.Fields[f]
			present := v != nil
			if present {
				fr.Present++
				if s.nested[f] != nil {
					if nested == nil {
						nested = map[int][]json.RawMessage{}
					}
					nested[f] = append(nested[f], v)
				}
			}
			if isMissing(fr.Field, v) {
				if fr.Missing == 0 {
					fr.FirstMissing = i
				}
				fr.Missing++
				flagged = flagged || fr.Need == Required
				continue
			}
			if !present || s.try(fr.Name, v) == nil {
				continue
			}
			if fr.Bad == 0 {
				fr.FirstBad, fr.BadValue, fr.BadKey = i, v, key
			}
			fr.Bad++
			flagged = true
		}
		if err := s.decode(raw); err != nil {
			r.Skipped++
			if !flagged && r.Unexplained.add(i) {
				r.Unexplained.Key, r.Unexplained.Err = key, err
			}
		}
	}
	for f, vs := range nested {
		r.Fields[f].Object = s.nested[f].Analyse(vs)
	}
	r.Ignored = slices.Sorted(maps.Keys(ignored))
	return r
}

// add counts row i and reports whether it is the first.
func (ri *RowIssue) add(i int) bool {
	ri.Count++
	if ri.Count == 1 {
		ri.First = i
		return true
	}
	return false
}

// match sets values[f] to the value of field f in the row m, nil when it
// has none, matching names without regard to case as encoding/json does,
// an exact match first; the other keys are added to ignored.
func (s *Shape) match(m map[string]json.RawMessage, values []json.RawMessage, ignored map[string]bool) {
	clear(values)
	for k, v := range m {
		f := s.index(k)
		if f < 0 {
			f = slices.IndexFunc(s.fields, func(fl Field) bool { return strings.EqualFold(k, fl.Name) })
		}
		if f < 0 {
			ignored[k] = true
			continue
		}
		if values[f] == nil || k == s.fields[f].Name {
			values[f] = v
		}
	}
}

// isMissing reports whether a Needed or Required field has no usable
// value: absent (nil), null, or for an ID or a text "".
func isMissing(f Field, v json.RawMessage) bool {
	if f.Need == Optional {
		return false
	}
	if v == nil {
		return true
	}
	v = bytes.TrimSpace(v)
	if bytes.Equal(v, []byte("null")) {
		return true
	}
	return (f.Kind == FieldID || f.Kind == FieldText) && bytes.Equal(v, []byte(`""`))
}

// try reports whether the client reads value in field name: the value is
// put in the template row, which it accepts, and the row is decoded as the
// client decodes one.
func (s *Shape) try(name string, value json.RawMessage) error {
	m := maps.Clone(s.template)
	m[name] = value
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.decode(b)
}

// rowKey is a row's ID in its key field, "" when it has none that can be
// read.
func (s *Shape) rowKey(values []json.RawMessage) ID {
	f := s.index(s.key)
	if f < 0 || values[f] == nil {
		return ""
	}
	var id ID
	if id.UnmarshalJSON(values[f]) != nil || checkID("", id, true) != nil {
		return ""
	}
	return id
}
