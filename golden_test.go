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
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

var update = flag.Bool("update", false, "rewrite "+goldenPath+" from the current output")

// goldenPath is where make test lints the golden page with promtool.
const goldenPath = "collector/testdata/metrics.golden"

// goldenMinimums gives one item a company-wide minimum and one warehouse a
// minimum of its own, so that the page shows kartustok_item_minimum_quantity
// (the simulated company is in per_warehouse mode, whose API minimums are
// per warehouse only) and the reload metrics of a loaded file.
const goldenMinimums = `items:
  - code: KS-00004
    total_minimum: 25
    warehouses:
      - code: GDG-01
        minimum: 7
`

// buildInfo matches the build info series, whose labels (version, Go
// version, revision...) change with every build.
var timing = regexp.MustCompile(`(?m)^((?:kartustok_sync_duration_seconds|kartustok_sync_last_success_timestamp_seconds|kartustok_api_budget_wait_seconds_total)(?:\{[^}]*\})?) \S+$`)

var buildInfo = regexp.MustCompile(`(?m)^kartustok_exporter_build_info\{.*\} 1$`)

// stateSize matches the size of the saved state, which holds those timings
// too: gzip'd, their digits change its size by a few bytes.
var stateSize = regexp.MustCompile(`(?m)^(kartustok_state_bytes(?:\{[^}]*\})?) ([1-9][0-9]*)$`)

// TestGoldenMetrics pins the whole /metrics page, as the exporter's own
// handler serves it with --web.disable-exporter-metrics, for a fixed
// simulated company (seeded data, fake clock) and a minimums file: any
// change to a name, label, HELP text or value shows up in review as a diff
// of the golden file. The build info's labels are normalised.
// Regenerate it with `go test . -run TestGoldenMetrics -update`.
func TestGoldenMetrics(t *testing.T) {
	dir := t.TempDir()
	minimumsFile := filepath.Join(dir, "minimums.yml")
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(minimumsFile, []byte(goldenMinimums), 0o600); err != nil {
		t.Fatal(err)
	}
	var got string
	synctest.Test(t, func(t *testing.T) {
		company := kartustoktest.NewCompany(kartustoktest.Config{Seed: 42, Locators: 2, Items: 12, Categories: 3})
		server := kartustoktest.NewHandlerServer(company)
		token := company.AddToken(kartustoktest.TokenSpec{ExpiresAt: time.Now().Add(240 * time.Hour)})
		if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, done, code := parseFlags([]string{
			"--kartustok.url=http://sinarjaya.kartustok.test/public/v1",
			"--kartustok.token-file=" + tokenFile,
			"--stock.minimums-file=" + minimumsFile,
			"--storage.path=" + dir,
			"--web.disable-exporter-metrics",
		}, os.Stdout, os.Stderr)
		if done {
			t.Fatalf("flags refused: exit %d", code)
		}
		ctx, cancel := context.WithCancel(context.Background())
		fl, handler := newTestExporter(t, ctx, cfg, func(*config) []kartustok.Option {
			return []kartustok.Option{kartustok.WithTransport(kartustoktest.InMemory(server.Handler()))}
		})
		fl.run()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if !fl.Ready() {
			t.Error("not ready after 5 s")
		}
		code, body := get(t, handler, cfg.telemetryPath)
		om, _ := testkit.Scrape(t, handler, cfg.telemetryPath, "application/openmetrics-text;version=1.0.0", "")
		gz, _ := testkit.Scrape(t, handler, cfg.telemetryPath, "", "gzip")
		cancel()
		fl.halt()
		if code != http.StatusOK {
			t.Fatalf("%s = %d", cfg.telemetryPath, code)
		}
		got = body
		// The same scrape in every form: gzip is the text, compressed;
		// OpenMetrics has the same samples and ends in # EOF.
		if gz != body {
			t.Errorf("the gzip answer decompresses to something else than the plain one:\n%s", gz)
		}
		if !strings.HasSuffix(om, "\n# EOF\n") || strings.Count(om, "# EOF") != 1 {
			t.Errorf("OpenMetrics answer does not end in one # EOF")
		}
		if dir := os.Getenv("KARTUSTOK_METRICS_DUMP"); dir != "" {
			// For `make checkmetrics`: promtool and the OpenMetrics parser
			// check the live answers.
			for name, content := range map[string]string{"metrics.txt": body, "metrics.om": om} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	if n := len(buildInfo.FindAllString(got, -1)); n != 1 {
		t.Fatalf("%d build info series, want 1", n)
	}
	got = buildInfo.ReplaceAllLiteralString(got,
		`kartustok_exporter_build_info{branch="",goarch="",goos="",goversion="",revision="",tags="",version=""} 1`)
	// How long refreshes took, and waited for the budget, depends on which
	// loop's request the scheduler admitted first at one instant of the
	// fake clock: the series must be there, their values are not pinned.
	got = timing.ReplaceAllString(got, "$1 <timing>")
	if n := len(stateSize.FindAllString(got, -1)); n != 1 {
		t.Fatalf("%d kartustok_state_bytes series with a size above 0, want 1", n)
	}
	got = stateSize.ReplaceAllString(got, "$1 <size>")
	if *update {
		if err := os.WriteFile(goldenPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("/metrics differs from %s; if the change is intended, run with -update and review the diff.\ngot:\n%s", goldenPath, got)
	}
}
