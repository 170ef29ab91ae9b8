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

package refresh_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// TestIntegrationBodiesThatLieInShape sends stock pages that are valid
// JSON of the right shape, yet lie: every row repeats ending_qty with a
// value of its own (encoding/json alone would take the last), or holds a
// quantity no stock has. No lie reaches /metrics: every row keeps its last
// good value and is counted as an invalid row.
func TestIntegrationBodiesThatLieInShape(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   kartustoktest.Fault
		lie     float64
		problem string
	}{
		{
			"ending_qty repeated",
			kartustoktest.Fault{RowField: "ending_qty", RowValue: "999999", RowRepeat: true, RowIndex: -1},
			999999, `key \"ending_qty\" repeated`,
		},
		{
			"ending_qty repeated in another case",
			kartustoktest.Fault{RowField: "ENDING_QTY", RowValue: `"999999.0000"`, RowRepeat: true, RowIndex: -1},
			999999, `key \"ENDING_QTY\" repeated`,
		},
		{
			"ending_qty 1e308",
			kartustoktest.Fault{RowField: "ending_qty", RowValue: "1e308", RowIndex: -1},
			1e308, `quantity 1e308 is beyond ±1e15`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testkit.EngineConfig()
				h, before := startReady(t, kartustoktest.Config{Locators: 2, Items: 50}, cfg)
				h.assertMatchesCompany(before)
				pairs := testkit.Count(before, "kartustok_stock_on_hand")
				require.Positive(t, pairs)

				h.server.SetFault(kartustok.EndpointStockSummary, tc.fault)
				h.company.Step(30) // the truth moves on; the exporter cannot see it
				time.Sleep(3 * cfg.StockInterval)
				synctest.Wait()
				ms := h.series()
				for k, v := range ms {
					if v == tc.lie {
						t.Errorf("%s = %v: the lie was exported", k, v)
					}
				}
				for k, v := range before {
					if strings.HasPrefix(k, "kartustok_stock_") && ms[k] != v {
						t.Errorf("%s = %v during the fault, want the last good %v", k, ms[k], v)
					}
				}
				assert.Equal(t, pairs, testkit.Count(ms, "kartustok_stock_on_hand"), "every pair keeps its last good value")
				invalid := ms[`kartustok_api_errors_total{company="sinarjaya",endpoint="/stock/summary",reason="invalid_row"}`]
				assert.GreaterOrEqual(t, invalid, float64(pairs), "every row of a refresh counted as invalid")
				assert.Zero(t, ms[`kartustok_api_errors_total{company="sinarjaya",endpoint="/stock/summary",reason="invalid_response"}`],
					"the page itself is fine: only its rows lie")
				assert.Contains(t, h.logs.String(), tc.problem, "the skipped rows are logged with %s", tc.problem)

				h.recovers(cfg)
			})
		})
	}
}

// TestIntegrationCompanyRepeatingAKeyIsAnInvalidResponse sends a company
// answer whose minimum stock mode is said twice: the answer is refused
// and counted as an invalid response, and the mode last read stays.
func TestIntegrationCompanyRepeatingAKeyIsAnInvalidResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		h := startSim(t, kartustoktest.Config{Locators: 2, Items: 50, MinimumStockMode: kartustoktest.ModePerWarehouse}, cfg)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		before := h.series()
		require.Positive(t, testkit.Count(before, "kartustok_stock_minimum_quantity"))

		h.server.SetFault(kartustok.EndpointCompany, kartustoktest.Fault{RowField: "minimum_stock_mode", RowValue: `"inactive"`, RowRepeat: true})
		time.Sleep(2 * cfg.CatalogInterval)
		synctest.Wait()
		ms := h.series()
		assert.Positive(t, ms[`kartustok_api_errors_total{company="sinarjaya",endpoint="/meta/company",reason="invalid_response"}`])
		assert.Equal(t, testkit.Count(before, "kartustok_stock_minimum_quantity"), testkit.Count(ms, "kartustok_stock_minimum_quantity"),
			"the repeated mode is not taken")
		assert.Contains(t, h.logs.String(), `key \"minimum_stock_mode\" repeated in data`, "the refused answer is logged with its key")
	})
}
