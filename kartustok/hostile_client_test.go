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
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// TestClientRefusesRowsThatLieInShape runs the client against the
// simulator sending stock rows that are valid JSON of the right shape, yet
// say two things under one key or hold a quantity no stock has: those rows
// are skipped and counted, every other row is kept as the company holds it.
func TestClientRefusesRowsThatLieInShape(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   kartustoktest.Fault
		field   string
		problem string
	}{
		{
			"ending_qty repeated",
			kartustoktest.Fault{RowField: "ending_qty", RowValue: "999999", RowRepeat: true},
			"ending_qty", `key "ending_qty" repeated`,
		},
		{
			"ENDING_QTY repeated",
			kartustoktest.Fault{RowField: "ENDING_QTY", RowValue: `"999999.0000"`, RowRepeat: true},
			"ENDING_QTY", `key "ENDING_QTY" repeated`,
		},
		{
			"ending_qty 1e308",
			kartustoktest.Fault{RowField: "ending_qty", RowValue: "1e308"},
			"ending_qty", `quantity 1e308 is beyond ±1e15`,
		},
		{
			"minimum_qty 1e308",
			kartustoktest.Fault{RowField: "minimum_qty", RowValue: `"1e308"`},
			"minimum_qty", `quantity 1e308 is beyond ±1e15`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, srv, obs, _ := bubble(t, nil, kartustoktest.TokenSpec{})
				co := srv.Company()
				const bad = 7
				tc.fault.RowIndex = bad
				srv.SetFault(kartustok.EndpointStockSummary, tc.fault)
				rows, info, err := c.StockSummary(t.Context(), kartustok.StockSummaryFilter{})
				require.NoError(t, err, "a bad row costs only itself")
				require.Len(t, info.Invalid, 1)
				inv := info.Invalid[0]
				assert.Equal(t, tc.field, inv.Field)
				assert.Equal(t, tc.problem, inv.Problem)
				assert.Equal(t, bad, inv.Index)
				assert.NotEmpty(t, inv.ID, "the row's item is still known")
				assert.NotEmpty(t, inv.LocatorID, "and its locator")
				assert.Len(t, rows, len(co.StockPairs())-1)
				for _, r := range rows {
					assert.False(t, r.ItemID == inv.ID && r.LocatorID == inv.LocatorID, "the skipped row %s/%s is returned", r.LocatorID, r.ItemID)
					assert.Equal(t, co.OnHand(string(r.LocatorID), string(r.ItemID)), float64(r.EndingQty), "%s/%s", r.LocatorID, r.ItemID)
				}
				listings := obs.Listings()
				require.NotEmpty(t, listings)
				assert.Equal(t, 1, listings[len(listings)-1].InvalidRows, "counted as an invalid row")

				// Every row repeating its key: nothing is taken, all counted.
				tc.fault.RowIndex = -1
				srv.SetFault(kartustok.EndpointStockSummary, tc.fault)
				rows, info, err = c.StockSummary(t.Context(), kartustok.StockSummaryFilter{})
				require.NoError(t, err)
				assert.Empty(t, rows)
				assert.Len(t, info.Invalid, len(co.StockPairs()))
				listings = obs.Listings()
				assert.Equal(t, len(co.StockPairs()), listings[len(listings)-1].InvalidRows)
			})
		})
	}
}

// TestClientRefusesAnswersThatRepeatAKey checks that a key repeated in an
// object answer fails the call as an invalid response naming the key, on
// the first attempt (a lying body is not retried).
func TestClientRefusesAnswersThatRepeatAKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, srv, obs, tok := bubble(t, nil, kartustoktest.TokenSpec{})
		srv.SetFault(kartustok.EndpointCompany, kartustoktest.Fault{RowField: "minimum_stock_mode", RowValue: `"inactive"`, RowRepeat: true})
		_, err := c.Company(t.Context())
		e := apiError(t, err)
		assert.Equal(t, kartustok.KindInvalidResponse, e.Kind)
		assert.Equal(t, 200, e.Status)
		assert.Contains(t, err.Error(), `key "minimum_stock_mode" repeated in data`)
		assert.NotContains(t, err.Error(), tok)
		assert.Len(t, obs.Requests(), 1)

		id := srv.Company().ItemIDs()[3]
		srv.SetFault(kartustok.EndpointItem, kartustoktest.Fault{RowField: "Minimum_Qty", RowValue: `"1.0000"`, RowRepeat: true})
		_, err = c.Item(t.Context(), kartustok.ID(id))
		assert.Equal(t, kartustok.KindInvalidResponse, apiError(t, err).Kind)
		assert.Contains(t, err.Error(), `key "Minimum_Qty" repeated in data`)

		srv.ClearFaults()
		co, err := c.Company(t.Context())
		require.NoError(t, err)
		assert.NotEmpty(t, co.MinimumStockMode)
	})
}
