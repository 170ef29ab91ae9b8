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

// Bodies that are valid JSON of the right shape, yet lie: a key sent twice,
// a quantity no stock can have.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envelopeOf wraps rows in a list answer.
func envelopeOf(rows ...string) []byte {
	return []byte(`{"status":"success","data":[` + strings.Join(rows, ",") + `],"meta":{"current_page":1,"per_page":100,"total":` +
		strconv.Itoa(len(rows)) + `,"last_page":1}}`)
}

func TestRowWithARepeatedKeyIsInvalid(t *testing.T) {
	const good = `{"locator_id":"L1","item_id":"ok","ending_qty":"2"}`
	for _, tc := range []struct {
		name, row     string
		field         string
		problem       string
		id, locatorID ID
	}{
		{
			"repeated", `{"locator_id":"L1","item_id":"I1","ending_qty":"1","ending_qty":"999999"}`,
			"ending_qty", `key "ending_qty" repeated`, "I1", "L1",
		},
		{
			"another case", `{"locator_id":"L1","item_id":"I1","ending_qty":"1","ENDING_QTY":"999999"}`,
			"ENDING_QTY", `key "ENDING_QTY" repeated`, "I1", "L1",
		},
		{
			"escaped", `{"locator_id":"L1","item_id":"I1","ending_qty":"1","ending\u005fqty":"999999"}`,
			"ending_qty", `key "ending_qty" repeated`, "I1", "L1",
		},
		{
			"a field the exporter ignores", `{"locator_id":"L1","item_id":"I1","ending_qty":"1","note":"a","Note":"b"}`,
			"Note", `key "Note" repeated`, "I1", "L1",
		},
		{
			"nested", `{"locator_id":"L1","item_id":"I1","ending_qty":"1","extra":{"a":1,"a":2}}`,
			"a", `key "a" repeated in extra`, "I1", "L1",
		},
		{
			"a nested key named as an ID", `{"locator_id":"L1","item_id":"I1","ending_qty":"1","extra":[{"item_id":1,"item_id":2}]}`,
			"item_id", `key "item_id" repeated in extra[0]`, "I1", "L1",
		},
		{
			"item_id", `{"locator_id":"L1","item_id":"I1","ending_qty":"1","item_id":"I2"}`,
			"item_id", `key "item_id" repeated`, "", "L1",
		},
		{
			"locator_id", `{"locator_id":"L1","item_id":"I1","ending_qty":"1","Locator_Id":"L2"}`,
			"Locator_Id", `key "Locator_Id" repeated`, "I1", "",
		},
		// The first value cannot be read, which sends the page to the row
		// by row decoding: the repeat is still what is reported.
		{
			"repeated over an unreadable value", `{"locator_id":"L1","item_id":"I1","ending_qty":"abc","ending_qty":"1"}`,
			"ending_qty", `key "ending_qty" repeated`, "I1", "L1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, others := range [][2]string{
				{good, good},
				// A row that cannot be decoded makes the page decode row by
				// row.
				{good, `{"locator_id":"L1","item_id":"bad","ending_qty":{}}`},
			} {
				body := envelopeOf(others[0], tc.row, others[1])
				p, err := decodeList[StockRow](body, 3)
				require.NoError(t, err)
				require.Len(t, p.rows, 1+strings.Count(others[1], `"ok"`))
				for _, r := range p.rows {
					assert.Equal(t, ID("ok"), r.ItemID)
				}
				require.NotEmpty(t, p.invalid)
				bad := p.invalid[0]
				assert.Equal(t, InvalidRow{Page: 3, Index: 1, ID: tc.id, LocatorID: tc.locatorID, Field: tc.field, Problem: tc.problem}, bad)
				assert.Equal(t, tc.id != "", p.keys[1].ok, "a repeated ID is unreadable")
				assert.Len(t, p.keys, 3, "the skipped row still counts toward meta.total")

				// Decoded alone, the row fails the same way.
				var r StockRow
				err = json.Unmarshal([]byte(tc.row), &r)
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.problem)
			}
		})
	}
}

func TestEveryListRefusesRepeatedKeys(t *testing.T) {
	body := envelopeOf(`{"id":"A","name":"x"}`, `{"id":"B","name":"x","name":"y"}`, `{"id":"C","id":"D"}`)
	check := func(t *testing.T, invalid []InvalidRow, kept int) {
		t.Helper()
		assert.Equal(t, 1, kept)
		require.Len(t, invalid, 2)
		assert.Equal(t, InvalidRow{Page: 1, Index: 1, ID: "B", Field: "name", Problem: `key "name" repeated`}, invalid[0])
		assert.Equal(t, InvalidRow{Page: 1, Index: 2, Field: "id", Problem: `key "id" repeated`}, invalid[1])
	}
	items, err := decodeList[Item](body, 1)
	require.NoError(t, err)
	check(t, items.invalid, len(items.rows))
	locs, err := decodeList[Locator](body, 1)
	require.NoError(t, err)
	check(t, locs.invalid, len(locs.rows))
	cats, err := decodeList[Category](body, 1)
	require.NoError(t, err)
	check(t, cats.invalid, len(cats.rows))
	mv, err := decodeList[Movement](body, 1)
	require.NoError(t, err)
	check(t, mv.invalid, len(mv.rows))
}

func TestRepeatedKeyOutsideTheRowsFailsTheAnswer(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"status", `{"status":"success","data":[],"status":"success"}`, `key "status" repeated at the top level`},
		{"data", `{"status":"success","data":[{"item_id":"I","ending_qty":"1"}],"DATA":[]}`, `key "DATA" repeated at the top level`},
		{"meta", `{"status":"success","data":[],"meta":{"current_page":1,"per_page":100,"total":0,"total":5,"last_page":1}}`, `key "total" repeated in meta`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeList[StockRow]([]byte(tc.body), 1)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	for _, tc := range []struct{ name, body, want string }{
		{"health", `{"status":"success","data":{"status":"ok","status":"down"}}`, `key "status" repeated in data`},
		{"company", `{"status":"success","data":{"id":"c","minimum_stock_mode":"union","Minimum_Stock_Mode":"inactive"}}`, `key "Minimum_Stock_Mode" repeated in data`},
		{"token", `{"status":"success","data":{"id":"c","token":{"scopes":["stock.read"],"scopes":[]}}}`, `key "scopes" repeated in data.token`},
		{"envelope", `{"status":"success","data":{"id":"c"},"Data":{"id":"d"}}`, `key "Data" repeated at the top level`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.name == "health" {
				_, err = decodeObject[Health]([]byte(tc.body), nil)
			} else {
				_, err = decodeObject[Company]([]byte(tc.body), nil)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := decodeObject[Item]([]byte(`{"status":"success","data":{"id":"It1","minimum_qty":"5","minimum_qty":"500"}}`), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `key "minimum_qty" repeated in data`)
	// Broken JSON is still reported as such, not as a repeat.
	_, err = decodeObject[Health]([]byte(`{"status":"success","status":"ok","data":{`), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "truncated JSON")
}

func TestQuantityBeyondWhatKartuStokHolds(t *testing.T) {
	for _, in := range []string{`1e15`, `-1e15`, `"1000000000000000"`, `"999999999999999.9999"`, `"-999999999999999.9999"`, `0`, `"1e-300"`} {
		var q Quantity
		require.NoError(t, q.UnmarshalJSON([]byte(in)), in)
	}
	for _, in := range []string{`1e308`, `-1e308`, `"1e308"`, `1.0000000001e15`, `"1000000000000001"`, `-2e15`, `"1E+16"`, `1.7976931348623157e308`} {
		var q Quantity
		err := q.UnmarshalJSON([]byte(in))
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), "is beyond ±1e15", in)
		assert.Zero(t, q, "nothing is stored")
	}
	var q Quantity
	assert.EqualError(t, q.UnmarshalJSON([]byte(`1e308`)), `quantity 1e308 is beyond ±1e15`)
}

func TestHugeQuantitiesMakeRowsInvalid(t *testing.T) {
	const huge = `1e308`
	for _, field := range []string{"ending_qty", "opening_qty", "in_qty", "out_qty", "minimum_qty"} {
		t.Run("stock "+field, func(t *testing.T) {
			fields := []string{`"locator_id":"L1"`, `"item_id":"I1"`}
			for _, f := range []string{"opening_qty", "in_qty", "out_qty", "ending_qty", "minimum_qty"} {
				v := `"1.0000"`
				if f == field {
					v = huge
				}
				fields = append(fields, fmt.Sprintf("%q:%s", f, v))
			}
			row := "{" + strings.Join(fields, ",") + "}"
			p, err := decodeList[StockRow](envelopeOf(`{"item_id":"ok","ending_qty":"2"}`, row), 1)
			require.NoError(t, err)
			require.Len(t, p.rows, 1)
			assert.Equal(t, ID("ok"), p.rows[0].ItemID)
			require.Len(t, p.invalid, 1, "an optional quantity too big is refused, never left out")
			assert.Equal(t, field, p.invalid[0].Field)
			assert.Equal(t, ID("I1"), p.invalid[0].ID)
			assert.Contains(t, p.invalid[0].Problem, "is beyond ±1e15")
		})
	}
	t.Run("item minimum_qty", func(t *testing.T) {
		p, err := decodeList[Item](envelopeOf(`{"id":"ok","minimum_qty":"40.0000"}`, `{"id":"It1","minimum_qty":"-5e20"}`), 1)
		require.NoError(t, err)
		require.Len(t, p.rows, 1)
		require.Len(t, p.invalid, 1)
		assert.Equal(t, InvalidRow{Page: 1, Index: 1, ID: "It1", Field: "minimum_qty", Problem: p.invalid[0].Problem}, p.invalid[0])
		assert.Contains(t, p.invalid[0].Problem, `quantity -5e20 is beyond ±1e15`)
		_, err = decodeObject[Item]([]byte(`{"status":"success","data":{"id":"It1","minimum_qty":1e16}}`), nil)
		assert.ErrorContains(t, err, "is beyond ±1e15")
	})
	for _, field := range []string{"qty_in", "qty_out", "balance"} {
		t.Run("movement "+field, func(t *testing.T) {
			p, err := decodeList[Movement](envelopeOf(`{"id":"ok","balance":"3"}`, fmt.Sprintf(`{"id":"M1",%q:%s}`, field, huge)), 1)
			require.NoError(t, err)
			require.Len(t, p.rows, 1)
			require.Len(t, p.invalid, 1)
			assert.Equal(t, field, p.invalid[0].Field)
			assert.Equal(t, ID("M1"), p.invalid[0].ID)
		})
	}
}
