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

// Bodies that are valid JSON of the right shape, yet lie: a quantity no
// stock can have.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envelopeOf wraps rows in a list answer.
func envelopeOf(rows ...string) []byte {
	return []byte(`{"status":"success","data":[` + strings.Join(rows, ",") + `],"meta":{"current_page":1,"per_page":100,"total":` +
		fmt.Sprint(len(rows)) + `,"last_page":1}}`)
}

func TestQuantityBeyondWhatKartuStokHolds(t *testing.T) {
	for _, in := range []string{`1e15`, `-1e15`, `"1000000000000000"`, `"999999999999999.9999"`, `"-999999999999999.9999"`, `0`, `"1e-300"`} {
		var q Quantity
		assert.NoError(t, q.UnmarshalJSON([]byte(in)), in)
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
