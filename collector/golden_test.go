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

package collector

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden from the current output")

// TestGoldenMetrics pins the whole /metrics page of a fixed simulated
// company (seeded data, fake clock), so any change to a name, label, HELP
// text or value shows up in review as a diff of testdata/metrics.golden.
// Regenerate with: go test ./collector -run TestGoldenMetrics -update
func TestGoldenMetrics(t *testing.T) {
	var got string
	synctest.Test(t, func(t *testing.T) {
		h := startSim(t, kartustoktest.Config{Seed: 42, Locators: 2, Items: 12, Categories: 3}, testConfig())
		time.Sleep(5 * time.Second)
		synctest.Wait()
		got = h.scrape()
	})
	path := filepath.Join("testdata", "metrics.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("/metrics differs from %s; if the change is intended, run with -update and review the diff.\ngot:\n%s", path, got)
	}
}
