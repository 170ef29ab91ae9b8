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

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stockPage renders a stock summary page of n rows, item IDs I0..In-1,
// ending_qty i, with row bad's ending_qty replaced by the raw JSON value.
func stockPage(n, bad int, value string) []byte {
	var rows []string
	for i := range n {
		qty := fmt.Sprintf(`"%d.0000"`, i)
		if i == bad {
			qty = value
		}
		rows = append(rows, fmt.Sprintf(`{"locator_id":"L1","item_id":"I%d","opening_qty":"0","in_qty":"0","out_qty":"0","ending_qty":%s}`, i, qty))
	}
	return fmt.Appendf(nil, `{"status":"success","data":[%s],"meta":{"current_page":1,"per_page":100,"total":%d,"last_page":1}}`,
		strings.Join(rows, ","), n)
}

func TestOneBadRowCostsOnlyItself(t *testing.T) {
	for _, value := range []string{`"abc"`, `null`, `true`, `1e400`, `"NaN"`, `"Infinity"`, `{}`, `[1]`, `"1e400"`, `"0x10"`} {
		t.Run(value, func(t *testing.T) {
			p, err := decodeList[StockRow](stockPage(150, 17, value), 2)
			require.NoError(t, err)
			require.Len(t, p.rows, 149, "every other row is kept")
			require.Len(t, p.invalid, 1)
			bad := p.invalid[0]
			assert.Equal(t, InvalidRow{Page: 2, Index: 17, ID: "I17", LocatorID: "L1", Field: "ending_qty", Problem: bad.Problem}, bad)
			assert.NotEmpty(t, bad.Problem)
			assert.Contains(t, bad.String(), `page 2 row 17 (id "I17"): ending_qty: `)
			for _, r := range p.rows {
				assert.NotEqual(t, ID("I17"), r.ItemID)
			}
			assert.Len(t, p.keys, 150, "the skipped row still counts toward meta.total")
		})
	}
}

func TestRequiredFieldsOfARow(t *testing.T) {
	for _, tc := range []struct {
		name, row     string
		field         string
		id, locatorID ID
	}{
		{"no ending_qty", `{"locator_id":"L1","item_id":"I1"}`, "ending_qty", "I1", "L1"},
		{"no item_id", `{"locator_id":"L1","ending_qty":"1"}`, "item_id", "", "L1"},
		{"empty item_id", `{"item_id":"","ending_qty":"1"}`, "item_id", "", ""},
		{"item_id an object", `{"item_id":{"v":1},"ending_qty":"1"}`, "item_id", "", ""},
		{"item_id too long", `{"item_id":"` + strings.Repeat("x", MaxIDBytes+1) + `","ending_qty":"1"}`, "item_id", "", ""},
		{"minimum_qty not a number", `{"item_id":"I1","ending_qty":"1","minimum_qty":"lots"}`, "minimum_qty", "I1", ""},
		{"not an object", `"I1"`, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"status":"success","data":[{"item_id":"ok","ending_qty":"2"},` + tc.row + `]}`
			p, err := decodeList[StockRow]([]byte(body), 1)
			require.NoError(t, err)
			require.Len(t, p.rows, 1)
			assert.Equal(t, ID("ok"), p.rows[0].ItemID)
			require.Len(t, p.invalid, 1)
			assert.Equal(t, tc.field, p.invalid[0].Field)
			assert.Equal(t, tc.id, p.invalid[0].ID)
			assert.Equal(t, tc.locatorID, p.invalid[0].LocatorID)
			assert.Equal(t, tc.id != "", p.keys[1].ok)
		})
	}
}

func TestEveryListSkipsBadRows(t *testing.T) {
	body := []byte(`{"status":"success","data":[{"id":"A","is_active":true},{"id":"B","is_active":"maybe"},{"name":"no id"}]}`)
	items, err := decodeList[Item](body, 1)
	require.NoError(t, err)
	assert.Len(t, items.rows, 1)
	assert.Len(t, items.invalid, 2)
	assert.Equal(t, "is_active", items.invalid[0].Field)
	assert.Equal(t, "id", items.invalid[1].Field)
	locs, err := decodeList[Locator](body, 1)
	require.NoError(t, err)
	assert.Len(t, locs.rows, 1)
	cats, err := decodeList[Category](body, 1)
	require.NoError(t, err)
	assert.Len(t, cats.rows, 1)
	mv, err := decodeList[Movement]([]byte(`{"status":"success","data":[{"id":"M1","qty_in":"1"},{"id":"M2","qty_in":"x"}]}`), 1)
	require.NoError(t, err)
	assert.Len(t, mv.rows, 1)
	assert.Equal(t, "qty_in", mv.invalid[0].Field)
}

func TestLongTextsAreCut(t *testing.T) {
	long := strings.Repeat("é", 1<<19) // 1 MiB of two-byte characters
	body := fmt.Appendf(nil, `{"status":"success","data":[{"id":"A","code":"K","name":%q,"uom":%q,"category_name":"short"}]}`, long, long)
	p, err := decodeList[Item](body, 1)
	require.NoError(t, err)
	require.Len(t, p.rows, 1)
	it := p.rows[0]
	assert.LessOrEqual(t, len(it.Name), MaxLabelBytes)
	assert.True(t, utf8.ValidString(it.Name))
	assert.True(t, strings.HasSuffix(it.Name, "…"))
	assert.Equal(t, "K", it.Code)
	assert.Equal(t, 2, p.cut, "name and uom were cut")

	var c cutter
	s := strings.Repeat("a", MaxLabelBytes)
	c.cut(&s)
	assert.Len(t, s, MaxLabelBytes, "a text of exactly the limit stays whole")
	assert.Zero(t, c.n)

	co, err := decodeObject[Company](fmt.Appendf(nil, `{"status":"success","data":{"id":"c","name":%q}}`, long), &c)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(co.Name), MaxLabelBytes)
	assert.Equal(t, 1, c.n)
}
