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

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// restartable is a simulated company and what an exporter process needs
// to be started against it again and again.
type restartable struct {
	company          *kartustoktest.Company
	server           *kartustoktest.Server
	token, tokenFile string
}

func newRestartable(t *testing.T, cc kartustoktest.Config, opts ...kartustoktest.Option) *restartable {
	t.Helper()
	company := kartustoktest.NewCompany(cc)
	token := company.AddToken(kartustoktest.TokenSpec{ExpiresAt: time.Now().Add(240 * time.Hour)})
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o600))
	return &restartable{company: company, server: kartustoktest.NewHandlerServer(company, opts...), token: token, tokenFile: tokenFile}
}

// start starts an exporter process's data path, as main does.
func (r *restartable) start(t *testing.T, cfg refresh.Config) *simHarness {
	t.Helper()
	return runSim(t, r.company, r.server, r.token, r.tokenFile, cfg, nil)
}

// stockPagesOf returns, by locator, the stock pages of the day read in log.
func stockPagesOf(log []kartustoktest.LoggedRequest) map[string]int {
	pages := map[string]int{}
	for _, r := range log {
		q, _ := url.ParseQuery(r.Query)
		if r.Endpoint == kartustok.EndpointStockSummary && q.Get("date_from") == q.Get("date_to") {
			pages[q.Get("locator_id")]++
		}
	}
	return pages
}

// TestIntegrationWarmRestart: an exporter stopped and started again with
// its state exports every stock series at once, with its true age, and is
// ready before any request is answered; then it asks each warehouse's
// count once and reads the pages of only the two warehouses that changed
// while it was down, leaving the catalogue and the flow to their intervals.
func TestIntegrationWarmRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := flowConfig()
		cfg.StatePath = filepath.Join(t.TempDir(), "sinarjaya.state")
		r := newRestartable(t, kartustoktest.Config{Locators: 6, Items: 300})
		r.company.Step(40)
		first := r.start(t, cfg)
		time.Sleep(20 * time.Minute)
		synctest.Wait()
		require.True(t, first.engine.Ready())
		before := first.series()
		first.assertMatchesCompany(before)
		first.stop()
		_, err := os.Stat(cfg.StatePath)
		require.NoError(t, err, "no state saved at shutdown")

		// Down for two minutes, while two warehouses move.
		time.Sleep(2 * time.Minute)
		locs := activeLocators(r.company)
		require.GreaterOrEqual(t, len(locs), 4)
		changed := map[string]bool{}
		for _, l := range locs[:2] {
			item := cardsOf(r.company, l)[0]
			r.company.Post(l, item, kartustok.TransactionReceipt, 7, 0)
			changed[l] = true
		}
		r.server.ResetLog()

		start := time.Now()
		second := r.start(t, cfg)
		require.True(t, second.engine.Ready(), "ready at once from a fresh saved state")
		at := second.series() // no time has passed: nothing answered yet
		assert.Equal(t, 1.0, at[`kartustok_state_loaded{company="sinarjaya"}`])
		assert.Equal(t, testkit.Count(before, "kartustok_stock_on_hand"), testkit.Count(at, "kartustok_stock_on_hand"), "every stock series at once")
		for k, v := range before {
			if strings.HasPrefix(k, "kartustok_stock_on_hand{") {
				assert.Equal(t, v, at[k], k)
			}
		}
		lastStock := `kartustok_sync_last_success_timestamp_seconds{company="sinarjaya",resource="stock"}`
		assert.Equal(t, before[lastStock], at[lastStock], "stock's true age, from the file")

		time.Sleep(time.Minute)
		synctest.Wait()
		log := r.server.Requests()
		n := countRequests(log, start, start.Add(time.Minute))
		t.Logf("first minute after the restart: %v (health, checks, stock pages, catalogue, flow pages, counts by type)",
			[]int{n[healthCheck], n[movementCheck], n[stockPage], n[catalogRequest], n[flowPage], n[countByType]})
		assert.Zero(t, n[catalogRequest], "the catalogue waits for its interval")
		assert.Zero(t, n[flowPage]+n[countByType], "the flow waits for its interval")
		assert.Equal(t, len(locs), n[movementCheck], "one count per warehouse")
		pages := stockPagesOf(log)
		for _, l := range locs {
			if changed[l] {
				assert.Positive(t, pages[l], "a warehouse that changed while down is read")
			} else {
				assert.Zero(t, pages[l], "a warehouse that did not change is not read")
			}
		}
		second.assertMatchesCompany(second.series())
	})
}

// TestIntegrationStateFilesThatAreNotUsed: a state file of another company,
// of another version, truncated or garbage is said once and not used: the
// start is cold, exports nothing of that file, and the first save
// replaces it with this company's state.
func TestIntegrationStateFilesThatAreNotUsed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(good []byte) []byte
	}{
		{"another company", func(good []byte) []byte {
			return []byte(strings.Replace(string(good), simURL, "http://other.kartustok.test/public/v1", 1))
		}},
		{"another version", func(good []byte) []byte {
			return []byte(strings.Replace(string(good), "format 1 ", "format 2 ", 1))
		}},
		{"truncated", func(good []byte) []byte { return good[:len(good)*2/3] }},
		{"garbage", func([]byte) []byte { return []byte("\x7fELF garbage\n") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testkit.EngineConfig()
				cfg.StatePath = filepath.Join(t.TempDir(), "sinarjaya.state")
				r := newRestartable(t, kartustoktest.Config{Locators: 2, Items: 50})
				first := r.start(t, cfg)
				time.Sleep(time.Minute)
				synctest.Wait()
				first.stop()
				good, err := os.ReadFile(cfg.StatePath)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(cfg.StatePath, tc.spoil(good), 0o600))

				second := r.start(t, cfg)
				assert.False(t, second.engine.Ready(), "ready from a file that is not used")
				at := second.series()
				assert.Equal(t, 0.0, at[`kartustok_state_loaded{company="sinarjaya"}`])
				assert.Zero(t, testkit.Count(at, "kartustok_stock_on_hand"), "a series from a file that is not used")
				time.Sleep(time.Minute)
				synctest.Wait()
				second.assertMatchesCompany(second.series())
				second.stop()
				_, err = refresh.LoadState(cfg.StatePath, simURL)
				require.NoError(t, err, "the file was not replaced by a good one")
			})
		})
	}
}

// TestIntegrationSaveFailureGoesOn: a state file that cannot be written
// (here its directory is a file) is counted and said once; exporting goes
// on from memory.
func TestIntegrationSaveFailureGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testkit.EngineConfig()
		notADir := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(notADir, nil, 0o600))
		cfg.StatePath = filepath.Join(notADir, "sinarjaya.state")
		r := newRestartable(t, kartustoktest.Config{Locators: 2, Items: 50})
		h := r.start(t, cfg)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		ms := h.series()
		h.assertMatchesCompany(ms)
		assert.GreaterOrEqual(t, ms[`kartustok_state_save_errors_total{company="sinarjaya"}`], 2.0)
		assert.NotContains(t, ms, `kartustok_state_last_save_timestamp_seconds{company="sinarjaya"}`)
		assert.Equal(t, 1, strings.Count(h.logs.String(), "Cannot save the state"), "said once")
	})
}

// TestIntegrationFlowReadCountsAsFullRead: a 30-day read ends today and
// carries the balances, so an idle warehouse's full read, due every full
// stock interval, reads the 30 days and serves the flow too: over an idle
// hour a warehouse is read four times in all (every 15 minutes), not five
// (four full reads and the hourly flow read), and every value still equals
// the company's.
func TestIntegrationFlowReadCountsAsFullRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := flowConfig()
		r := newRestartable(t, kartustoktest.Config{Locators: 3, Items: 450})
		h := r.start(t, cfg)
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		from := time.Now()
		time.Sleep(time.Hour)
		synctest.Wait()
		log := r.server.Requests()
		n := countRequests(log, from, time.Now())
		perRead := 0
		for _, l := range activeLocators(r.company) {
			perRead += (len(cardsOf(r.company, l)) + kartustok.PerPage - 1) / kartustok.PerPage
		}
		reads := float64(n[stockPage]+n[flowPage]) / float64(perRead)
		t.Logf("an idle hour: %d pages of the day and %d of 30 days (%.2f reads of %d pages)", n[stockPage], n[flowPage], reads, perRead)
		assert.InDelta(t, 4, reads, 0.5, "reads in an idle hour")
		ms := h.series()
		h.assertMatchesCompany(ms)
		h.assertFlowMatchesCompany(ms, false)
	})
}
