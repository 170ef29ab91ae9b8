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
	"strconv"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// This file says in words what the rows of an answer held. Which fields
// the exporter reads, and whether it can read a value, is the client's
// to say (kartustok.Shape): the check keeps no list of the API's fields.

// want says in words what a field of kind k must hold.
func want(k kartustok.FieldKind) string {
	switch k {
	case kartustok.FieldID:
		return fmt.Sprintf("an ID: a JSON string or number of at most %d bytes", kartustok.MaxIDBytes)
	case kartustok.FieldQuantity:
		return `a quantity: a JSON number or a decimal string such as "12.5000"`
	case kartustok.FieldOptionalQuantity:
		return `a quantity (a JSON number or a decimal string such as "12.5000") or null`
	case kartustok.FieldFlag:
		return "true, false, 1 or 0"
	case kartustok.FieldObject:
		return "a JSON object"
	case kartustok.FieldStrings:
		return "a JSON array of strings"
	case kartustok.FieldTime:
		return "a date and time"
	}
	return "a JSON string or null"
}

const skipRow = "the exporter skips such rows"

// shapeReport is what the rows of one answer held, in words.
type shapeReport struct {
	rows       int
	skipped    int      // rows the exporter would skip
	understood []string // fields read by the exporter that came in some row
	ignored    []string // fields that came but the exporter does not read
	notSent    []string // optional fields that came in no row
	findings   []*finding
	// objects are the reports of the object fields the exporter reads
	// field by field (a company's token).
	objects []namedReport
}

type namedReport struct {
	name string
	rep  *shapeReport
}

// analyse compares rows of an answer of endpoint with what the exporter
// reads. object is true when the answer is one object rather than a list
// (then there is no "row" to speak of). sev is the severity of what would
// make the exporter lose data.
func analyse(endpoint string, rows []json.RawMessage, object bool, sev severity) *shapeReport {
	shape := kartustok.ShapeOf(endpoint)
	return describe(shape.Analyse(rows), shape.Key(), object, sev)
}

// describe puts the client's report on rows in words; key names a row.
func describe(kr *kartustok.RowsReport, key string, object bool, sev severity) *shapeReport {
	r := &shapeReport{rows: kr.Rows, skipped: kr.Skipped}
	rowKey := func(id kartustok.ID) string {
		if id == "" {
			return ""
		}
		return fmt.Sprintf(" (%s %s)", key, quote(string(id)))
	}
	for _, f := range kr.Fields {
		switch {
		case f.Present > 0:
			r.understood = append(r.understood, f.Name)
		case f.Need == kartustok.Optional:
			r.notSent = append(r.notSent, f.Name)
		}
		if f.Missing > 0 {
			what := "missing"
			if f.Present > 0 {
				what = "missing, null or empty"
			}
			text := fmt.Sprintf("%s: %s%s — %s", f.Name, what, count(object, f.Missing, f.FirstMissing, kr.Rows), f.Without)
			r.findings = append(r.findings, &finding{sev: sev, text: text})
		}
		if f.Bad > 0 {
			in := ""
			if !object {
				in = " in " + rowName(object, f.FirstBad)
			}
			value := sanitise(string(bytes.TrimSpace(f.BadValue)), maxValueBytes)
			text := fmt.Sprintf("%s: %s%s%s is not %s%s — %s", f.Name, value, in, rowKey(f.BadKey), want(f.Kind),
				countOnly(object, f.Bad, kr.Rows), consequence(object))
			r.findings = append(r.findings, &finding{sev: sev, text: text})
		}
		if f.Object != nil {
			r.objects = append(r.objects, namedReport{f.Name, describe(f.Object, "", true, sev)})
		}
	}
	if n := kr.NotObject; n.Count > 0 {
		r.findings = append(r.findings, &finding{sev: sev, text: fmt.Sprintf("%s is %s, not a JSON object%s — %s",
			rowName(object, n.First), describeJSON(n.Value), countOnly(object, n.Count, kr.Rows), consequence(object))})
	}
	if u := kr.Unexplained; u.Count > 0 {
		// The exporter refuses these rows for a reason no single field
		// explains: say what it says.
		r.findings = append(r.findings, &finding{sev: sev, text: fmt.Sprintf("%s%s: %s%s — %s",
			rowName(object, u.First), rowKey(u.Key), sanitise(u.Err.Error(), maxMessageBytes), countOnly(object, u.Count, kr.Rows), consequence(object))})
	}
	for _, k := range kr.Ignored {
		r.ignored = append(r.ignored, sanitise(k, maxValueBytes))
	}
	slices.Sort(r.ignored)
	r.ignored = slices.Compact(r.ignored)
	return r
}

// dataRows reads a list answer's data as rows.
func (c *checker) dataRows(r *result, sev severity) ([]json.RawMessage, bool) {
	var rows []json.RawMessage
	if err := json.Unmarshal(r.data, &rows); err != nil {
		c.note(r.b, sev, fmt.Sprintf(`"data" is %s, not a list`, describeJSON(r.data)), fixShape)
		return nil, false
	}
	return rows, true
}

// fields adds what a shape report found to a block.
func (c *checker) fields(b *block, rep *shapeReport) {
	b.add("understood", "%s", list(rep.understood))
	b.add("ignored", "%s", list(rep.ignored))
	if len(rep.notSent) > 0 {
		b.add("not sent", "%s", list(rep.notSent))
	}
	for _, f := range rep.findings {
		c.note(b, f.sev, f.text, fixShape)
	}
}

// rowsLine describes the rows of a list answer.
func rowsLine(b *block, rep *shapeReport, meta *kartustok.PageMeta, paged bool) {
	usable := "all usable"
	if rep.skipped > 0 {
		usable = fmt.Sprintf("the exporter skips %d", rep.skipped)
	}
	if !paged {
		b.add("rows", "%d (the whole list; %s)", rep.rows, usable)
		return
	}
	line := fmt.Sprintf("%d on page 1 (%s)", rep.rows, usable)
	if meta != nil {
		line += "; meta.total " + intOr(meta.Total) + ", last_page " + intOr(meta.LastPage) + ", per_page " + intOr(meta.PerPage)
	}
	b.add("rows", "%s", line)
}

func intOr(p *int) string {
	if p == nil {
		return "not sent"
	}
	return strconv.Itoa(*p)
}

// pageChecks warns of a paginated answer's meta block that makes the
// exporter's listings cost more or be less sure.
func (c *checker) pageChecks(b *block, meta *kartustok.PageMeta, rows int) {
	switch {
	case meta == nil:
		c.note(b, warning, "no meta block: the exporter pages until a short page and cannot check that a listing is complete", fixShape)
	case meta.Total == nil:
		c.note(b, warning, "no meta.total: the exporter cannot check that a listing is complete", fixShape)
	case meta.PerPage != nil && *meta.PerPage != kartustok.PerPage:
		c.note(b, warning, fmt.Sprintf("per_page %d instead of the %d asked: every listing costs more requests", *meta.PerPage, kartustok.PerPage), fixShape)
	case *meta.Total > 0 && rows == 0:
		c.note(b, warning, fmt.Sprintf("meta.total is %d but page 1 holds no rows", *meta.Total), fixShape)
	}
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
