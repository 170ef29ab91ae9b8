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

package main

import (
	"bytes"
	"context"
	"net/http"
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
	"github.com/kartustok/kartustok_exporter/refresh"
)

// TestCollectorFlags: both collectors are on by default; --no-collector.NAME
// turns one off in the engine's configuration of the flags' company and of
// every company of a companies file, whatever its own intervals.
func TestCollectorFlags(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.token"), []byte("ks_a\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.token"), []byte("ks_b\n"), 0o600))
	companies := filepath.Join(dir, "companies.yml")
	require.NoError(t, os.WriteFile(companies, []byte(`companies:
  - name: alpha
    url: https://alpha.kartustok.com/public/v1
    token_file: a.token
  - name: beta
    url: https://beta.kartustok.com/public/v1
    token_file: b.token
    flow_interval: 30m
`), 0o600))
	one := "--kartustok.url=https://sinarjaya.kartustok.com/public/v1"
	file := "--config.file=" + companies
	for _, tc := range []struct {
		name string
		args []string
		want refresh.Collectors
	}{
		{"defaults", []string{one}, refresh.Collectors{}},
		{"no flow", []string{one, "--no-collector.flow"}, refresh.Collectors{Flow: true}},
		{"no movements", []string{one, "--no-collector.movements"}, refresh.Collectors{Movements: true}},
		{"neither", []string{one, "--no-collector.flow", "--no-collector.movements"}, refresh.Collectors{Flow: true, Movements: true}},
		{"on by name", []string{one, "--collector.flow", "--collector.movements"}, refresh.Collectors{}},
		{"a companies file", []string{file, "--no-collector.movements"}, refresh.Collectors{Movements: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cfg, done, code := parseFlags(tc.args, &stdout, &stderr)
			require.False(t, done, "exit %d: %s", code, stderr.String())
			cfgs, err := cfg.companyConfigs()
			require.NoError(t, err)
			require.NotEmpty(t, cfgs)
			for _, cc := range cfgs {
				assert.Equal(t, tc.want, cc.engineConfig().Off, cc.company)
			}
		})
	}
}

// TestConfigCheckSaysWhichCollectorsAreOff: --config.check's summary names
// the collectors turned off, and says nothing of them when all are on.
func TestConfigCheckSaysWhichCollectorsAreOff(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no --stock.minimums-file\n"},
		{[]string{"--no-collector.flow"}, "no --stock.minimums-file; collectors off: flow\n"},
		{[]string{"--no-collector.movements", "--no-collector.flow"}, "no --stock.minimums-file; collectors off: flow, movements\n"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"--demo", "--config.check"}, tc.args...), &stdout, &stderr)
		require.Equal(t, 0, code, stderr.String())
		assert.True(t, strings.HasSuffix(stdout.String(), tc.want), "%v: %q", tc.args, stdout.String())
	}
}

// TestIntegrationCollectorSwitchesHoldForEveryCompany: with a collector
// turned off by its flag, no company of a companies file sends its
// requests (none in either simulated API's log) or exports its series,
// one company's flow interval of its own notwithstanding; the other
// collector's series and the stock are there for each, and the landing
// page says which collector is off.
func TestIntegrationCollectorSwitchesHoldForEveryCompany(t *testing.T) {
	for _, tc := range []struct {
		flag string
		// gone are the families the flag turns off, kept those it
		// leaves.
		gone, kept []string
	}{
		{"--no-collector.flow", []string{"kartustok_stock_inflow_quantity", "kartustok_stock_outflow_quantity"}, []string{"kartustok_stock_movements"}},
		{"--no-collector.movements", []string{"kartustok_stock_movements"}, []string{"kartustok_stock_inflow_quantity", "kartustok_stock_outflow_quantity"}},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := newSimCompany(t, "alpha", 1, 2, 80, 120, time.Minute)
				b := newSimCompany(t, "beta", 2, 3, 80, 120, time.Minute)
				b.extra = []string{"flow_interval: 30m"}
				for _, s := range []*simCompany{a, b} {
					s.company.Step(40)
				}
				cfg := fleetFlags(t, "--config.file="+writeCompanies(t, t.TempDir(), a, b), tc.flag)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				fl, h := newTestExporter(t, ctx, cfg, transports(a, b))
				fl.run()
				time.Sleep(2 * time.Hour)
				synctest.Wait()
				require.True(t, fl.Ready(), fl.NotReady())
				ms := series(t, h)
				_, body := get(t, h, "/metrics")
				for _, s := range []*simCompany{a, b} {
					var thirtyDays, typed int
					for _, r := range s.server.Requests() {
						q, err := url.ParseQuery(r.Query)
						require.NoError(t, err)
						switch {
						case r.Endpoint == kartustok.EndpointStockSummary && q.Get("date_from") != q.Get("date_to"):
							thirtyDays++
						case r.Endpoint == kartustok.EndpointStockDetail && q.Has("transaction_type"):
							typed++
						}
					}
					if tc.flag == "--no-collector.flow" {
						assert.Zero(t, thirtyDays, "%s: 30-day reads", s.name)
						assert.Positive(t, typed, "%s: counts by type", s.name)
					} else {
						assert.Zero(t, typed, "%s: counts by type", s.name)
						assert.Positive(t, thirtyDays, "%s: 30-day reads", s.name)
					}
					assert.Equal(t, len(s.company.StockPairs()), countOf(ms, "kartustok_stock_on_hand", s.name), "%s: stock series", s.name)
					for _, f := range tc.gone {
						assert.Zero(t, countOf(ms, f, s.name), "%s: %s", s.name, f)
					}
					for _, f := range tc.kept {
						assert.Positive(t, countOf(ms, f, s.name), "%s: %s", s.name, f)
					}
				}
				for _, f := range tc.gone {
					assert.NotContains(t, body, "# HELP "+f+" ", "HELP of %s", f)
				}
				code, landing := get(t, h, "/")
				require.Equal(t, http.StatusOK, code)
				assert.Contains(t, landing, "collectors off: "+strings.TrimPrefix(tc.flag, "--no-collector."))
				cancel()
				fl.halt()
			})
		})
	}
}
