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
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	companyfile "github.com/kartustok/kartustok_exporter/config"
	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// simCompany is a simulated company of a fleet test: its API, its token
// file, and the lines of its entry in the companies file.
type simCompany struct {
	name    string
	company *kartustoktest.Company
	server  *kartustoktest.Server
	token   string
	// limit and window are the API's rate limit, which the entry gives
	// the exporter; extra are more lines of the entry.
	limit  int
	window time.Duration
	extra  []string
}

// newSimCompany generates a company with the given size and rate limit.
// Call it inside the synctest bubble.
func newSimCompany(t *testing.T, name string, seed int64, locators, items, limit int, window time.Duration) *simCompany {
	t.Helper()
	c := kartustoktest.NewCompany(kartustoktest.Config{Seed: seed, Subdomain: name, Locators: locators, Items: items})
	return &simCompany{
		name: name, company: c, limit: limit, window: window,
		server: kartustoktest.NewHandlerServer(c, kartustoktest.WithRateLimit(limit, window)),
		token:  c.AddToken(kartustoktest.TokenSpec{ExpiresAt: time.Now().Add(240 * time.Hour)}),
	}
}

func (s *simCompany) url() string { return "http://" + s.name + ".kartustok.test/public/v1" }

// writeCompanies writes the companies file of sims, with their token
// files, in dir and returns its path.
func writeCompanies(t *testing.T, dir string, sims ...*simCompany) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("companies:\n")
	for _, s := range sims {
		tokenFile := filepath.Join(dir, s.name+".token")
		require.NoError(t, os.WriteFile(tokenFile, []byte(s.token+"\n"), 0o600))
		fmt.Fprintf(&b, "  - name: %s\n    url: %s\n    token_file: %s\n    rate_limit: %d\n    rate_limit_window: %s\n",
			s.name, s.url(), filepath.Base(tokenFile), s.limit, s.window)
		for _, l := range s.extra {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	path := filepath.Join(dir, "companies.yml")
	// A rename, as a careful writer does: a reload never waits for it to
	// settle.
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(b.String()), 0o600))
	require.NoError(t, os.Rename(tmp, path))
	return path
}

// fleetFlags parses the flags of a fleet test.
func fleetFlags(t *testing.T, args ...string) *config {
	t.Helper()
	var stderr strings.Builder
	cfg, done, code := parseFlags(append([]string{"--web.disable-exporter-metrics"}, args...), &strings.Builder{}, &stderr)
	require.False(t, done, "flags refused: exit %d: %s", code, stderr.String())
	return cfg
}

// transports routes each company's client to its simulated API, in memory.
func transports(sims ...*simCompany) func(*config) []kartustok.Option {
	byName := map[string]*simCompany{}
	for _, s := range sims {
		byName[s.name] = s
	}
	return func(cfg *config) []kartustok.Option {
		s := byName[cfg.company]
		if s == nil {
			return nil
		}
		return []kartustok.Option{kartustok.WithTransport(kartustoktest.InMemory(s.server.Handler()))}
	}
}

// series scrapes h as Prometheus would and returns every sample by its
// series, name{labels}.
func series(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	body, _ := testkit.Scrape(t, h, "/metrics", "", "")
	out := map[string]float64{}
	for line := range strings.SplitSeq(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	return out
}

// companiesIn returns the companies whose series a scrape holds.
func companiesIn(ms map[string]float64) []string {
	seen := map[string]bool{}
	for k := range ms {
		if _, rest, ok := strings.Cut(k, `company="`); ok {
			name, _, _ := strings.Cut(rest, `"`)
			seen[name] = true
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// countOf counts the series of the family name of company.
func countOf(ms map[string]float64, name, company string) int {
	n := 0
	for k := range ms {
		if strings.HasPrefix(k, name+"{") && strings.Contains(k, `company="`+company+`"`) {
			n++
		}
	}
	return n
}

// maxSentInWindow is the most requests the API logged in any closed
// interval of length w.
func maxSentInWindow(reqs []kartustoktest.LoggedRequest, w time.Duration) int {
	worst, j := 0, 0
	for i := range reqs {
		for j < len(reqs) && reqs[j].At.Sub(reqs[i].At) <= w {
			j++
		}
		worst = max(worst, j-i)
	}
	return worst
}

// TestIntegrationCompaniesEachWithinTheirOwnBudget: companies of different
// sizes and rate limits in one process each stay within the budget of
// their own limit, in every window, and are never throttled; together they
// send more than any one budget allows, so the budgets are not shared. Each
// company's stock is exported with its label, and the fleet is ready once
// all are. Three random sets of limits, windows and sizes.
func TestIntegrationCompaniesEachWithinTheirOwnBudget(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				rng := rand.New(rand.NewPCG(seed, 17))
				windows := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}
				var sims []*simCompany
				for i, name := range []string{"alpha", "beta", "gamma"} {
					limit := 20 + rng.IntN(180)
					sims = append(sims, newSimCompany(t, name, int64(i+1), 3+rng.IntN(6), 1000+rng.IntN(2000), limit, windows[rng.IntN(len(windows))]))
				}
				// Stock moves everywhere for the first 10 minutes, so that
				// each company wants more than its budget: every warehouse
				// must be read in full. Then the last moves are read.
				go func() {
					for {
						time.Sleep(10 * time.Second)
						if time.Since(start) > 10*time.Minute {
							return
						}
						for _, s := range sims {
							s.company.Step(20)
						}
					}
				}()
				dir := t.TempDir()
				cfg := fleetFlags(t, "--config.file="+writeCompanies(t, dir, sims...))
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				fl, h := newTestExporter(t, ctx, cfg, transports(sims...))
				fl.run()
				time.Sleep(30 * time.Minute)
				synctest.Wait()

				assert.True(t, fl.Ready(), "not ready: %s", fl.NotReady())
				ms := series(t, h)
				assert.Equal(t, []string{"alpha", "beta", "gamma"}, companiesIn(ms))
				var all []kartustoktest.LoggedRequest
				biggest := 0
				for _, s := range sims {
					budget := kartustok.BudgetFor(s.limit, 0.8)
					biggest = max(biggest, budget)
					reqs := s.server.Requests()
					all = append(all, reqs...)
					most := maxSentInWindow(reqs, s.window)
					t.Logf("%s: %d per %s allowed, budget %d, at most %d sent in a window, %d requests", s.name, s.limit, s.window, budget, most, len(reqs))
					assert.LessOrEqual(t, most, budget, "%s: more than its budget of %d per %s", s.name, budget, s.window)
					assert.Zero(t, s.server.Count("", http.StatusTooManyRequests), "%s was throttled", s.name)
					assert.Equal(t, float64(budget), ms[`kartustok_api_request_budget{company="`+s.name+`"}`], s.name)
					pairs := len(s.company.StockPairs())
					assert.Equal(t, pairs, countOf(ms, "kartustok_stock_on_hand", s.name), "%s: stock series", s.name)
				}
				slices.SortFunc(all, func(a, b kartustoktest.LoggedRequest) int { return a.At.Compare(b.At) })
				assert.Greater(t, maxSentInWindow(all, 2*time.Minute), biggest,
					"the companies together never sent more than the biggest budget: do they share one?")
				cancel()
				fl.halt()
			})
		})
	}
}

// TestIntegrationOneCompanysTroubleStaysItsOwn: beside a healthy company,
// one has a revoked token, one is throttled without end, one answers too
// slowly for the timeout and one pages without end. The healthy company
// is read as fast as it is alone, a scrape never waits, each trouble shows
// in its own company's metrics, and the fleet is ready, held back by none.
func TestIntegrationOneCompanysTroubleStaysItsOwn(t *testing.T) {
	// readyAfter runs the companies and returns how long "fine" took to
	// be ready, with the fleet and its handler at that moment.
	run := func(t *testing.T, troubled bool, check func(fl *fleet, h http.Handler, sims map[string]*simCompany)) time.Duration {
		var took time.Duration
		synctest.Test(t, func(t *testing.T) {
			sims := []*simCompany{newSimCompany(t, "fine", 1, 4, 300, 120, time.Minute)}
			if troubled {
				revoked := newSimCompany(t, "revoked", 2, 4, 300, 120, time.Minute)
				revoked.company.RevokeToken(revoked.token)
				throttled := newSimCompany(t, "throttled", 3, 4, 300, 120, time.Minute)
				throttled.server.SetFault("*", kartustoktest.Fault{RateLimited: true, RetryAfter: 30 * time.Second})
				slow := newSimCompany(t, "slow", 4, 4, 300, 120, time.Minute)
				slow.server.SetFault("*", kartustoktest.Fault{Latency: time.Hour})
				liar := newSimCompany(t, "liar", 5, 4, 300, 120, time.Minute)
				liar.server.SetFault("/stock/summary", kartustoktest.Fault{EndlessPages: true})
				sims = append(sims, revoked, throttled, slow, liar)
			}
			byName := map[string]*simCompany{}
			for _, s := range sims {
				byName[s.name] = s
			}
			cfg := fleetFlags(t, "--config.file="+writeCompanies(t, t.TempDir(), sims...))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fl, h := newTestExporter(t, ctx, cfg, transports(sims...))
			start := time.Now()
			fl.run()
			fine := fl.companies()[slices.IndexFunc(fl.companies(), func(c *company) bool { return c.name == "fine" })]
			for !fine.engine.Ready() {
				// A scrape takes no time, whatever the companies do.
				before := time.Now()
				series(t, h)
				require.Zero(t, time.Since(before), "a scrape waited")
				time.Sleep(100 * time.Millisecond)
			}
			took = time.Since(start)
			time.Sleep(5 * time.Minute)
			synctest.Wait()
			check(fl, h, byName)
			cancel()
			fl.halt()
		})
		return took
	}
	alone := run(t, false, func(*fleet, http.Handler, map[string]*simCompany) {})
	together := run(t, true, func(fl *fleet, h http.Handler, sims map[string]*simCompany) {
		assert.True(t, fl.Ready(), "the troubled companies hold readiness back: %s", fl.NotReady())
		code, body := get(t, h, "/-/ready")
		assert.Equal(t, http.StatusOK, code, body)
		ms := series(t, h)
		assert.Equal(t, len(sims["fine"].company.StockPairs()), countOf(ms, "kartustok_stock_on_hand", "fine"))
		assert.Equal(t, 1.0, ms[`kartustok_token_valid{company="fine"}`])
		assert.Equal(t, 0.0, ms[`kartustok_token_valid{company="revoked"}`], "the revoked token")
		assert.Equal(t, 0.0, ms[`kartustok_up{company="slow"}`], "the slow API")
		assert.Positive(t, ms[`kartustok_api_errors_total{company="slow",endpoint="/health",reason="timeout"}`], "the slow API's timeouts")
		assert.Positive(t, ms[`kartustok_api_errors_total{company="throttled",endpoint="/health",reason="rate_limited"}`], "the throttled API's 429s")
		assert.Positive(t, ms[`kartustok_api_errors_total{company="liar",endpoint="/stock/summary",reason="invalid_response"}`]+
			ms[`kartustok_api_errors_total{company="liar",endpoint="/stock/summary",reason="inconsistent_pages"}`], "the endless pages")
		for _, name := range []string{"revoked", "throttled", "slow", "liar"} {
			assert.Zero(t, countOf(ms, "kartustok_stock_on_hand", name), "%s exports stock it could not read", name)
		}
		assert.Zero(t, sims["fine"].server.Count("", http.StatusTooManyRequests))
	})
	t.Logf("the healthy company was ready after %s alone, %s beside four troubled ones", alone, together)
	assert.LessOrEqual(t, together, alone+time.Second, "the troubled companies delayed the healthy one")
}

// TestIntegrationReloadAddsAndRemovesCompanies: a reload of the companies
// file starts the companies it adds, stops those it removes, and leaves
// the others running untouched; a file that fails, or names a company that
// cannot start, changes nothing and says so.
func TestIntegrationReloadAddsAndRemovesCompanies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newSimCompany(t, "alpha", 1, 2, 100, 120, time.Minute)
		b := newSimCompany(t, "beta", 2, 3, 100, 120, time.Minute)
		c := newSimCompany(t, "gamma", 3, 2, 150, 60, time.Minute)
		dir := t.TempDir()
		path := writeCompanies(t, dir, a, b)
		cfg := fleetFlags(t, "--config.file="+path)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		fl, h := newTestExporter(t, ctx, cfg, transports(a, b, c))
		fl.run()
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		ms := series(t, h)
		require.Equal(t, []string{"alpha", "beta"}, companiesIn(ms))
		assert.Equal(t, 1.0, ms["kartustok_config_file_last_reload_successful"])
		betaBefore := fl.companies()[1]
		betaRequests := b.server.Count("", 0)

		writeCompanies(t, dir, b, c)
		code, body := do(t, h, http.MethodPost, "/-/reload")
		require.Equal(t, http.StatusOK, code.Code, body)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		ms = series(t, h)
		assert.Equal(t, []string{"beta", "gamma"}, companiesIn(ms), "after the reload")
		assert.Same(t, betaBefore, fl.companies()[0], "beta was restarted")
		assert.Equal(t, len(c.company.StockPairs()), countOf(ms, "kartustok_stock_on_hand", "gamma"))
		assert.Equal(t, 2.0, ms["kartustok_exporter_companies"])
		alphaStopped := a.server.Count("", 0)
		assert.Greater(t, b.server.Count("", 0), betaRequests, "beta stopped polling")

		// A file that does not parse, then one whose new company has no
		// token file: nothing changes, and the metric says so.
		require.NoError(t, os.WriteFile(path, []byte("companies:\n  - name: beta\n    urll: x\n"), 0o600))
		time.Sleep(time.Second) // settled
		code, body = do(t, h, http.MethodPost, "/-/reload")
		assert.Equal(t, http.StatusInternalServerError, code.Code)
		assert.Contains(t, body, `unknown field "urll"`)
		a.extra = nil
		writeCompanies(t, dir, a, b, c)
		require.NoError(t, os.Remove(filepath.Join(dir, "alpha.token")))
		code, body = do(t, h, http.MethodPost, "/-/reload")
		assert.Equal(t, http.StatusInternalServerError, code.Code)
		assert.Contains(t, body, "alpha.token")
		time.Sleep(time.Minute)
		synctest.Wait()
		ms = series(t, h)
		assert.Equal(t, []string{"beta", "gamma"}, companiesIn(ms), "after the failed reloads")
		assert.Equal(t, 0.0, ms["kartustok_config_file_last_reload_successful"])
		assert.Equal(t, alphaStopped, a.server.Count("", 0), "the removed company still polls")
		cancel()
		fl.halt()
	})
}

// TestShardsCoverEveryCompanyOnce: the shards of a companies file serve
// every company exactly once, each shard exporting only its own.
func TestShardsCoverEveryCompanyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sims []*simCompany
		for i := range 12 {
			sims = append(sims, newSimCompany(t, fmt.Sprintf("co-%02d", i), int64(i+1), 1, 20, 120, time.Minute))
		}
		path := writeCompanies(t, t.TempDir(), sims...)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		served := map[string]int{}
		const total = 2
		var fleets []*fleet
		for shard := range total {
			cfg := fleetFlags(t, "--config.file="+path, "--total-shards=2", fmt.Sprint("--shard=", shard))
			fl, h := newTestExporter(t, ctx, cfg, transports(sims...))
			fl.run()
			fleets = append(fleets, fl)
			time.Sleep(2 * time.Minute)
			synctest.Wait()
			ms := series(t, h)
			assert.Equal(t, float64(shard), ms["kartustok_exporter_shard_ordinal"])
			assert.Equal(t, float64(total), ms["kartustok_exporter_total_shards"])
			names := companiesIn(ms)
			assert.NotEmpty(t, names, "shard %d serves no company of 12", shard)
			for _, n := range names {
				served[n]++
				assert.Equal(t, shard, companyfile.ShardOf(n, total), "%s in the wrong shard", n)
			}
		}
		for _, s := range sims {
			assert.Equal(t, 1, served[s.name], "%s served %d times", s.name, served[s.name])
		}
		cancel()
		for _, fl := range fleets {
			fl.halt()
		}
	})
}
