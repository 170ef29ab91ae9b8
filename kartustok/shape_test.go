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

package kartustok_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// TestShapesAreTheTypes: a shape's fields are the JSON fields of the type
// the client decodes the endpoint's data into, and only those.
func TestShapesAreTheTypes(t *testing.T) {
	for endpoint, typ := range map[string]any{
		kartustok.EndpointHealth:         kartustok.Health{},
		kartustok.EndpointCompany:        kartustok.Company{},
		kartustok.EndpointItemCategories: kartustok.Category{},
		kartustok.EndpointLocators:       kartustok.Locator{},
		kartustok.EndpointItems:          kartustok.Item{},
		kartustok.EndpointItem:           kartustok.Item{},
		kartustok.EndpointStockSummary:   kartustok.StockRow{},
		kartustok.EndpointStockDetail:    kartustok.Movement{},
	} {
		shape := kartustok.ShapeOf(endpoint)
		require.NotNil(t, shape, endpoint)
		assert.Equal(t, jsonNames(reflect.TypeOf(typ)), names(shape.Fields()), endpoint)
	}
	assert.Nil(t, kartustok.ShapeOf("/unknown"))
}

func jsonNames(rt reflect.Type) []string {
	var out []string
	for field := range rt.Fields() {
		if name, _, _ := strings.Cut(field.Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

func names(fs []kartustok.Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// field returns the field of a shape named name.
func field(t *testing.T, endpoint, name string) kartustok.Field {
	t.Helper()
	for _, f := range kartustok.ShapeOf(endpoint).Fields() {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("%s has no field %s", endpoint, name)
	return kartustok.Field{}
}

// TestShapeNeeds: the fields a row cannot do without are those the
// client's own decoding refuses a row without; the kinds are those of
// the wire types, which may differ from the public types'.
func TestShapeNeeds(t *testing.T) {
	for endpoint, want := range map[string][]string{
		kartustok.EndpointHealth:         nil,
		kartustok.EndpointCompany:        nil,
		kartustok.EndpointItemCategories: {"id"},
		kartustok.EndpointLocators:       {"id"},
		kartustok.EndpointItems:          {"id"},
		kartustok.EndpointStockSummary:   {"item_id", "ending_qty"},
		kartustok.EndpointStockDetail:    {"id"},
	} {
		var required []string
		for _, f := range kartustok.ShapeOf(endpoint).Fields() {
			if f.Need == kartustok.Required {
				required = append(required, f.Name)
				assert.True(t, strings.HasPrefix(f.Without, "the exporter skips such rows"), f.Without)
			}
		}
		assert.Equal(t, want, required, endpoint)
	}
	assert.Equal(t, kartustok.Field{
		Name: "ending_qty", Kind: kartustok.FieldQuantity, Need: kartustok.Required,
		Without: "the exporter skips such rows (a missing balance is never taken for 0)",
	}, field(t, kartustok.EndpointStockSummary, "ending_qty"))
	assert.Equal(t, kartustok.Field{
		Name: "is_active", Kind: kartustok.FieldFlag, Need: kartustok.Needed,
		Without: "the exporter takes such a warehouse as inactive and reads no stock for it",
	}, field(t, kartustok.EndpointLocators, "is_active"))
	assert.Equal(t, kartustok.Needed, field(t, kartustok.EndpointCompany, "timezone").Need)
	assert.Equal(t, kartustok.Optional, field(t, kartustok.EndpointItems, "minimum_qty").Need)
	// A missing in_qty is never 0: the client reads it as an optional
	// quantity, though StockRow holds a *Quantity.
	assert.Equal(t, kartustok.FieldOptionalQuantity, field(t, kartustok.EndpointStockSummary, "in_qty").Kind)
	assert.Equal(t, kartustok.FieldObject, field(t, kartustok.EndpointCompany, "token").Kind)
	assert.Equal(t, "item_id", kartustok.ShapeOf(kartustok.EndpointStockSummary).Key())
	assert.Empty(t, kartustok.ShapeOf(kartustok.EndpointCompany).Key())
}

func rows(s ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(s))
	for i, r := range s {
		out[i] = json.RawMessage(r)
	}
	return out
}

// report returns the report of field name.
func report(t *testing.T, r *kartustok.RowsReport, name string) kartustok.FieldReport {
	t.Helper()
	for _, f := range r.Fields {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no report of %s", name)
	return kartustok.FieldReport{}
}

func TestAnalyseLocators(t *testing.T) {
	long := strings.Repeat("x", 300)
	r := kartustok.ShapeOf(kartustok.EndpointLocators).Analyse(rows(
		`"just text"`,
		`{"ID":"a","is_active":1,"colour":"red"}`,
		`{"id":"`+long+`","is_active":"yes"}`,
		`{"id":null,"is_active":true}`,
		`{"id":7,"is_active":"0"}`,
	))
	assert.Equal(t, 5, r.Rows)
	assert.Equal(t, 3, r.Skipped)
	assert.Equal(t, []string{"colour"}, r.Ignored)
	assert.Equal(t, kartustok.RowIssue{Count: 1, First: 0, Value: json.RawMessage(`"just text"`)}, r.NotObject)
	assert.Zero(t, r.Unexplained)

	id := report(t, r, "id")
	assert.Equal(t, 4, id.Present, "ID matches id, as encoding/json matches it")
	assert.Equal(t, []int{1, 3}, []int{id.Missing, id.FirstMissing})
	assert.Equal(t, []int{1, 2}, []int{id.Bad, id.FirstBad})
	assert.JSONEq(t, `"`+long+`"`, string(id.BadValue))
	assert.Empty(t, id.BadKey, "an ID too long to read names no row")

	active := report(t, r, "is_active")
	assert.Equal(t, 4, active.Present)
	assert.Zero(t, active.Missing)
	assert.Equal(t, []int{1, 2}, []int{active.Bad, active.FirstBad})
	assert.JSONEq(t, `"yes"`, string(active.BadValue))
	assert.Zero(t, report(t, r, "code").Present)
}

// TestAnalyseRepeatedKey: a row with a repeated key is skipped, and no
// field's value explains why.
func TestAnalyseRepeatedKey(t *testing.T) {
	r := kartustok.ShapeOf(kartustok.EndpointStockSummary).Analyse(rows(
		`{"item_id":"i1","ending_qty":"1"}`,
		`{"item_id":"i2","ending_qty":"1","ENDING_QTY":"999999"}`,
	))
	assert.Equal(t, 1, r.Skipped)
	assert.Equal(t, 1, r.Unexplained.Count)
	assert.Equal(t, 1, r.Unexplained.First)
	assert.Equal(t, kartustok.ID("i2"), r.Unexplained.Key)
	require.ErrorContains(t, r.Unexplained.Err, `key "ENDING_QTY" repeated`)
	assert.Zero(t, report(t, r, "ending_qty").Bad)
}

// TestAnalyseValues: a value is bad exactly when the client cannot read
// it, tried in a row it accepts.
func TestAnalyseValues(t *testing.T) {
	r := kartustok.ShapeOf(kartustok.EndpointStockSummary).Analyse(rows(
		`{"item_id":"i1","ending_qty":"1","in_qty":null,"minimum_qty":""}`,
		`{"item_id":"i2","ending_qty":"1","in_qty":"abc","locator_id":{"v":1}}`,
		`{"item_id":"i3"}`,
	))
	assert.Equal(t, 2, r.Skipped)
	in := report(t, r, "in_qty")
	assert.Equal(t, []int{2, 1, 1}, []int{in.Present, in.Bad, in.FirstBad})
	assert.Equal(t, kartustok.ID("i2"), in.BadKey)
	assert.Zero(t, report(t, r, "minimum_qty").Bad)
	assert.Equal(t, 1, report(t, r, "locator_id").Bad)
	ending := report(t, r, "ending_qty")
	assert.Equal(t, []int{1, 2}, []int{ending.Missing, ending.FirstMissing})
	assert.Zero(t, r.Unexplained.Count, "every skipped row has a field to blame")
}

// TestAnalyseCompany: an object answer, with the token the company
// carries analysed field by field.
func TestAnalyseCompany(t *testing.T) {
	r := kartustok.ShapeOf(kartustok.EndpointCompany).Analyse(rows(
		`{"id":"c1","name":"Sinar Jaya","plan":"pro","token":{"name":"Prometheus","scopes":["meta.read"],"ip":"203.0.113.7"}}`,
	))
	assert.Zero(t, r.Skipped)
	assert.Equal(t, []string{"plan"}, r.Ignored)
	tz := report(t, r, "timezone")
	assert.Equal(t, 1, tz.Missing, "a needed field")
	token := report(t, r, "token")
	require.NotNil(t, token.Object)
	assert.Equal(t, []string{"ip"}, token.Object.Ignored)
	assert.Equal(t, 1, report(t, token.Object, "scopes").Present)
	assert.Nil(t, report(t, r, "name").Object)
}
