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

package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// This file compares the rows the API sends with what the exporter reads.
// The rows are taken apart generically (one map per row) to see which
// fields came; whether a value can be read is decided by the exporter's
// own types in package kartustok, so the check and the exporter cannot
// disagree on what a quantity, an ID or a flag may look like.

// kind is what a field holds, for saying what was expected.
type kind int

const (
	kindText kind = iota
	kindID
	kindQuantity
	kindOptQuantity
	kindFlag
	kindObject
	kindStrings
	kindTime
)

// want says in words what a field of this kind must hold.
func (k kind) want() string {
	switch k {
	case kindID:
		return fmt.Sprintf("an ID: a JSON string or number of at most %d bytes", kartustok.MaxIDBytes)
	case kindQuantity:
		return `a quantity: a JSON number or a decimal string such as "12.5000"`
	case kindOptQuantity:
		return `a quantity (a JSON number or a decimal string such as "12.5000") or null`
	case kindFlag:
		return "true, false, 1 or 0"
	case kindObject:
		return "a JSON object"
	case kindStrings:
		return "a JSON array of strings"
	case kindTime:
		return "a date and time"
	}
	return "a JSON string or null"
}

// need says how much the exporter depends on a field.
type need int

const (
	// optional: the exporter reads it when it comes (a label, a minimum
	// that depends on the mode); without it the output only lacks it.
	optional need = iota
	// needed: without it the exporter's output is wrong, though the row
	// is kept.
	needed
	// required: without it the exporter skips the row.
	required
)

// fieldSpec is one field the exporter reads.
type fieldSpec struct {
	name string
	kind kind
	need need
	// without says what the exporter does when a needed or required
	// field is missing.
	without string
}

// shape is the fields of one kind of row (or object) the exporter reads.
type shape struct {
	// key is the field that names a row in messages.
	key    string
	fields []fieldSpec
	// template is a row the exporter accepts, with only its required
	// fields; a field's value is tried in it alone.
	template string
	// decode reads one row with the exporter's own type.
	decode func([]byte) error
}

// decodeAs reads b as the exporter reads a row of type T: its
// UnmarshalJSON applies the same rules, and the same checks of required
// fields, as a listing does.
func decodeAs[T any](b []byte) error {
	var v T
	return json.Unmarshal(b, &v)
}

const skipRow = "the exporter skips such rows"

var (
	healthShape = &shape{
		fields: []fieldSpec{
			{name: "status", kind: kindText},
			{name: "time", kind: kindText},
		},
		template: `{}`,
		decode:   decodeAs[kartustok.Health],
	}
	companyShape = &shape{
		fields: []fieldSpec{
			{name: "id", kind: kindID},
			{name: "name", kind: kindText},
			{name: "subdomain", kind: kindText},
			{
				name: "timezone", kind: kindText, need: needed,
				without: "the exporter reads stock for the UTC day, which is the wrong day for part of every day",
			},
			{name: "minimum_stock_mode", kind: kindText},
			{name: "token", kind: kindObject},
		},
		template: `{}`,
		decode:   decodeAs[kartustok.Company],
	}
	tokenShape = &shape{
		fields: []fieldSpec{
			{name: "name", kind: kindText},
			{name: "prefix", kind: kindText},
			{name: "scopes", kind: kindStrings},
			{name: "expires_at", kind: kindTime},
		},
		template: `{}`,
		decode:   decodeAs[kartustok.TokenInfo],
	}
	categoryShape = &shape{
		key: "id",
		fields: []fieldSpec{
			{name: "id", kind: kindID, need: required, without: skipRow},
			{name: "name", kind: kindText},
			{name: "description", kind: kindText},
			{name: "is_active", kind: kindFlag},
		},
		template: `{"id":"x"}`,
		decode:   decodeAs[kartustok.Category],
	}
	locatorShape = &shape{
		key: "id",
		fields: []fieldSpec{
			{name: "id", kind: kindID, need: required, without: skipRow},
			{name: "code", kind: kindText},
			{name: "name", kind: kindText},
			{
				name: "is_active", kind: kindFlag, need: needed,
				without: "the exporter takes such a warehouse as inactive and reads no stock for it",
			},
		},
		template: `{"id":"x"}`,
		decode:   decodeAs[kartustok.Locator],
	}
	itemShape = &shape{
		key: "id",
		fields: []fieldSpec{
			{name: "id", kind: kindID, need: required, without: skipRow},
			{name: "code", kind: kindText},
			{name: "name", kind: kindText},
			{name: "upc", kind: kindText},
			{name: "description", kind: kindText},
			{name: "category_id", kind: kindID},
			{name: "category_name", kind: kindText},
			{name: "uom", kind: kindText},
			{name: "minimum_qty", kind: kindOptQuantity},
			{
				name: "is_active", kind: kindFlag, need: needed,
				without: "the exporter takes such an item as inactive",
			},
		},
		template: `{"id":"x"}`,
		decode:   decodeAs[kartustok.Item],
	}
	stockShape = &shape{
		key: "item_id",
		fields: []fieldSpec{
			{name: "locator_id", kind: kindID},
			{name: "locator_name", kind: kindText},
			{name: "item_id", kind: kindID, need: required, without: skipRow},
			{name: "item_code", kind: kindText},
			{name: "item_name", kind: kindText},
			{name: "category_id", kind: kindID},
			{name: "uom", kind: kindText},
			{name: "opening_qty", kind: kindQuantity},
			{name: "in_qty", kind: kindQuantity},
			{name: "out_qty", kind: kindQuantity},
			{
				name: "ending_qty", kind: kindQuantity, need: required,
				without: skipRow + " (a missing balance is never taken for 0)",
			},
			{name: "minimum_qty", kind: kindOptQuantity},
		},
		template: `{"item_id":"x","ending_qty":"0"}`,
		decode:   decodeAs[kartustok.StockRow],
	}
	movementShape = &shape{
		key: "id",
		fields: []fieldSpec{
			{name: "id", kind: kindID, need: required, without: skipRow},
			{name: "date", kind: kindText},
			{name: "document_no", kind: kindText},
			{name: "transaction_type", kind: kindText},
			{name: "locator_id", kind: kindID},
			{name: "item_id", kind: kindID},
			{name: "qty_in", kind: kindQuantity},
			{name: "qty_out", kind: kindQuantity},
			{name: "balance", kind: kindQuantity},
		},
		template: `{"id":"x"}`,
		decode:   decodeAs[kartustok.Movement],
	}
)

// fieldStats counts what the rows held in one field.
type fieldStats struct {
	spec    *fieldSpec
	present int
	// missing counts rows without a usable value of a needed or
	// required field; first is the first such row.
	missing, firstMissing int
	// bad counts rows whose value the exporter cannot read; firstBad is
	// the first such row, value its value and key its name.
	bad, firstBad int
	value, key    string
}

// shapeReport is what the rows of one answer held.
type shapeReport struct {
	rows       int
	skipped    int      // rows the exporter would skip
	understood []string // fields read by the exporter that came in some row
	ignored    []string // fields that came but the exporter does not read
	notSent    []string // optional fields that came in no row
	findings   []*finding
}

// analyse compares rows with s. object is true when the answer is one
// object rather than a list (then there is no "row" to speak of). sev is
// the severity of what would make the exporter lose data.
func analyse(rows []json.RawMessage, s *shape, object bool, sev severity) *shapeReport {
	r := &shapeReport{rows: len(rows)}
	stats := make([]fieldStats, len(s.fields))
	for i := range s.fields {
		stats[i].spec = &s.fields[i]
	}
	ignored := map[string]bool{}
	// Rows that are no object, and rows the exporter refuses for a reason
	// no single field explains, are counted and the first one shown.
	var notObject, unexplained struct {
		n, first int
		what     string
	}
	for i, raw := range rows {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			r.skipped++
			if notObject.n == 0 {
				notObject.first, notObject.what = i, describeJSON(raw)
			}
			notObject.n++
			continue
		}
		flagged := false // a field finding covers the row
		values := matchFields(m, s, ignored)
		key := rowKey(values, s)
		for f := range s.fields {
			st := &stats[f]
			v, ok := values[st.spec.name]
			if ok {
				st.present++
			}
			if isMissing(st.spec, v, ok) {
				if st.missing == 0 {
					st.firstMissing = i
				}
				st.missing++
				flagged = flagged || st.spec.need == required
				continue
			}
			if !ok {
				continue
			}
			if s.tryField(st.spec.name, v) != nil {
				if st.bad == 0 {
					st.firstBad, st.value, st.key = i, sanitise(string(bytes.TrimSpace(v)), maxValueBytes), key
				}
				st.bad++
				flagged = true
			}
		}
		if err := s.decode(raw); err != nil {
			r.skipped++
			if !flagged {
				if unexplained.n == 0 {
					unexplained.first, unexplained.what = i, key+": "+sanitise(err.Error(), maxMessageBytes)
				}
				unexplained.n++
			}
		}
	}
	if notObject.n > 0 {
		r.findings = append(r.findings, &finding{sev: sev, text: fmt.Sprintf("%s is %s, not a JSON object%s — %s",
			rowName(object, notObject.first), notObject.what, countOnly(object, notObject.n, len(rows)), consequence(object))})
	}
	if unexplained.n > 0 {
		// The exporter refuses these rows for a reason no single field
		// explains: say what it says.
		r.findings = append(r.findings, &finding{sev: sev, text: fmt.Sprintf("%s%s%s — %s",
			rowName(object, unexplained.first), unexplained.what, countOnly(object, unexplained.n, len(rows)), consequence(object))})
	}
	var fields []*finding
	for i := range stats {
		st := &stats[i]
		name := st.spec.name
		switch {
		case st.present > 0:
			r.understood = append(r.understood, name)
		case st.spec.need == optional:
			r.notSent = append(r.notSent, name)
		}
		if st.missing > 0 {
			what := "missing"
			if st.present > 0 {
				what = "missing, null or empty"
			}
			text := fmt.Sprintf("%s: %s%s — %s", name, what, count(object, st.missing, st.firstMissing, len(rows)), st.spec.without)
			fields = append(fields, &finding{sev: sev, text: text})
		}
		if st.bad > 0 {
			in := ""
			if !object {
				in = " in " + rowName(object, st.firstBad)
			}
			text := fmt.Sprintf("%s: %s%s%s is not %s%s — %s", name, st.value, in, st.key, st.spec.kind.want(),
				countOnly(object, st.bad, len(rows)), consequence(object))
			fields = append(fields, &finding{sev: sev, text: text})
		}
	}
	r.findings = append(fields, r.findings...)
	for name := range ignored {
		r.ignored = append(r.ignored, name)
	}
	slices.Sort(r.ignored)
	return r
}

// matchFields maps the fields of a row to the names the exporter reads,
// matching names without regard to case as encoding/json does; the rest
// are added to ignored.
func matchFields(m map[string]json.RawMessage, s *shape, ignored map[string]bool) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		name := ""
		for _, f := range s.fields {
			if k == f.name {
				name = f.name
				break
			}
			if name == "" && strings.EqualFold(k, f.name) {
				name = f.name
			}
		}
		if name == "" {
			ignored[sanitise(k, maxValueBytes)] = true
			continue
		}
		if _, dup := out[name]; !dup || k == name {
			out[name] = v
		}
	}
	return out
}

// isMissing reports whether a needed or required field has no usable
// value: absent, null, or for an ID or a text an empty string.
func isMissing(f *fieldSpec, v json.RawMessage, present bool) bool {
	if f.need == optional {
		return false
	}
	if !present {
		return true
	}
	v = bytes.TrimSpace(v)
	if bytes.Equal(v, []byte("null")) {
		return true
	}
	return (f.kind == kindID || f.kind == kindText) && bytes.Equal(v, []byte(`""`))
}

// tryField reports whether the exporter reads value in field name: the
// value is put in the shape's template row, which the exporter accepts,
// and the row is read with the exporter's own type.
func (s *shape) tryField(name string, value json.RawMessage) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s.template), &m); err != nil {
		return err
	}
	m[name] = value
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.decode(b)
}

// rowKey names a row by its key field, e.g. ` (item_id "It7fZk")`, or ""
// when it has none.
func rowKey(values map[string]json.RawMessage, s *shape) string {
	if s.key == "" {
		return ""
	}
	v, ok := values[s.key]
	if !ok {
		return ""
	}
	var id kartustok.ID
	if id.UnmarshalJSON(v) != nil || id == "" || len(id) > kartustok.MaxIDBytes {
		return ""
	}
	return fmt.Sprintf(" (%s %s)", s.key, quote(string(id)))
}

// consequence says what the exporter does with a row (or an object
// answer) it cannot read.
func consequence(object bool) string {
	if object {
		return "the exporter cannot read this answer"
	}
	return skipRow
}

// rowName names row i ("row 3", counted from 1), or "the answer" for an
// object.
func rowName(object bool, i int) string {
	if object {
		return "the answer"
	}
	return fmt.Sprintf("row %d", i+1)
}

// count says how many of n rows, and which first: " in 3 of 100 rows
// (first: row 2)".
func count(object bool, k, first, n int) string {
	if object {
		return ""
	}
	if k == 1 {
		return fmt.Sprintf(" in row %d (1 of %s)", first+1, plural(n, "row"))
	}
	return fmt.Sprintf(" in %d of %s (first: row %d)", k, plural(n, "row"), first+1)
}

// countOnly says how many of n rows: "; 1 of 100 rows".
func countOnly(object bool, k, n int) string {
	if object {
		return ""
	}
	return fmt.Sprintf("; %d of %s", k, plural(n, "row"))
}

// describeJSON names the kind of a JSON value.
func describeJSON(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '[':
		return "an array"
	case '"':
		return "a string " + sanitise(string(v), maxValueBytes)
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	}
	return "a number " + sanitise(string(v), maxValueBytes)
}

// quote quotes a text from the server for the report, cleaned and cut.
func quote(s string) string {
	return `"` + sanitise(s, maxValueBytes) + `"`
}
