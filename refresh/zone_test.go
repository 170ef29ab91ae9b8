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
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// startSimFaults is startSimCompany with faults in force before the
// exporter's first request.
func startSimFaults(t *testing.T, company *kartustoktest.Company, cfg refresh.Config, faults map[string]kartustoktest.Fault) *simHarness {
	t.Helper()
	server := kartustoktest.NewHandlerServer(company)
	for ep, f := range faults {
		server.SetFault(ep, f)
	}
	token := company.AddToken(kartustoktest.TokenSpec{ExpiresAt: time.Now().Add(240 * time.Hour)})
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o600))
	return runSim(t, company, server, token, tokenFile, cfg, nil)
}

// TestIntegrationUnknownZoneNeverGivesFalseFigures: a Jakarta company
// whose /meta/company names no zone the exporter knows ("Mars/Olympus", or
// none), between 17:00 and 24:00 UTC, when the UTC date is the day before
// the company's. The day is taken from the UTC offset of /health's time,
// so the day's flow, the 30 days and the day's movements equal the
// company's ledger; and the warning is logged once, not per catalog
// refresh.
func TestIntegrationUnknownZoneNeverGivesFalseFigures(t *testing.T) {
	for _, zone := range []string{`"Mars/Olympus"`, `""`} {
		t.Run(zone, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				time.Sleep(18 * time.Hour) // 18:00 UTC: 01:00 the next day in Jakarta
				company := kartustoktest.NewCompany(kartustoktest.Config{Locators: 3, Items: 80})
				company.Step(60)
				require.NotEqual(t, time.Now().UTC().Format(time.DateOnly), company.Today())
				cfg := flowConfig()
				h := startSimFaults(t, company, cfg, map[string]kartustoktest.Fault{
					kartustok.EndpointCompany: {RowField: "timezone", RowValue: zone},
				})
				time.Sleep(2 * time.Minute)
				synctest.Wait()
				require.True(t, h.engine.Ready())
				ms := h.series()
				h.assertMatchesCompany(ms)
				h.assertFlowMatchesCompany(ms, false)

				time.Sleep(2 * cfg.CatalogInterval)
				synctest.Wait()
				assert.Equal(t, 1, strings.Count(h.logs.String(), "Unknown company time zone"), h.logs.String())
			})
		})
	}
}

// TestIntegrationNoZoneAtAllExportsNoDayFigures: when neither /meta/company
// nor /health tells the company's zone, its day is unknown: stock is read
// for the API's own today (no dates sent) and is exported, but nothing of
// the day (the day's flow, the movements) nor the 30 days, which would be
// figures of a guessed day.
func TestIntegrationNoZoneAtAllExportsNoDayFigures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(18 * time.Hour)
		company := kartustoktest.NewCompany(kartustoktest.Config{Locators: 3, Items: 80})
		company.Step(60)
		cfg := flowConfig()
		h := startSimFaults(t, company, cfg, map[string]kartustoktest.Fault{
			kartustok.EndpointCompany: {RowField: "timezone", RowValue: `""`},
			kartustok.EndpointHealth:  {RowField: "time", RowValue: ""},
		})
		time.Sleep(2 * cfg.FlowInterval)
		synctest.Wait()
		require.True(t, h.engine.Ready())
		ms := h.series()
		h.assertMatchesCompany(ms)
		for k := range ms {
			assert.False(t, strings.HasPrefix(k, "kartustok_stock_inflow_quantity") || strings.HasPrefix(k, "kartustok_stock_outflow_quantity") ||
				strings.HasPrefix(k, "kartustok_stock_movements"), "%s exported without the company's day", k)
		}
		for _, r := range h.server.Requests() {
			if r.Endpoint != kartustok.EndpointStockSummary && r.Endpoint != kartustok.EndpointStockDetail {
				continue
			}
			q, err := url.ParseQuery(r.Query)
			require.NoError(t, err)
			assert.Empty(t, q.Get("date_from"), "a date sent without the company's zone: %s?%s", r.Endpoint, r.Query)
			assert.Empty(t, q.Get("date_to"), "a date sent without the company's zone: %s?%s", r.Endpoint, r.Query)
		}
		assert.Equal(t, 1, strings.Count(h.logs.String(), "Unknown company time zone"), h.logs.String())
	})
}
