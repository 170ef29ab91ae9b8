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

package collector_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/collector"
	"github.com/kartustok/kartustok_exporter/minimums"
	"github.com/kartustok/kartustok_exporter/refresh"
)

// maxHelp is the most characters the HELP text of a kartustok_ family may
// have: what the metric is, its unit and where it comes from, so that it
// reads whole in a tooltip. The metrics reference (docs/metrics.md) holds
// the details.
const maxHelp = 200

// goldenPath is the /metrics page the exporter's own handler serves, as
// the root package's TestGoldenMetrics pins it.
const goldenPath = "testdata/metrics.golden"

// TestHelpTextsAreShort checks the HELP of every kartustok_ family: on the
// page the exporter serves, and in the Desc of every family it can serve,
// those that page does not show included.
func TestHelpTextsAreShort(t *testing.T) {
	helps := map[string]string{}

	golden, err := os.ReadFile(goldenPath)
	require.NoError(t, err)
	unescape := strings.NewReplacer(`\\`, `\`, `\n`, "\n")
	for line := range strings.SplitSeq(string(golden), "\n") {
		rest, ok := strings.CutPrefix(line, "# HELP ")
		if !ok {
			continue
		}
		name, help, _ := strings.Cut(rest, " ")
		helps[name] = unescape.Replace(help)
	}
	require.Contains(t, helps, "kartustok_stock_on_hand", "the golden page holds the families")

	src := fixedSource{}
	reloader, err := minimums.NewReloader("", log.NewNopLogger())
	require.NoError(t, err)
	descs := collector.RenderedDescs()
	for _, c := range []prometheus.Collector{collector.NewCollector(src), collector.NewAPIMetrics(), reloader} {
		ch := make(chan *prometheus.Desc)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			descs = append(descs, d)
		}
	}
	descRE := regexp.MustCompile(`^Desc\{fqName: ("(?:[^"\\]|\\.)*"), help: ("(?:[^"\\]|\\.)*")`)
	for _, d := range descs {
		m := descRE.FindStringSubmatch(d.String())
		require.NotNil(t, m, "cannot read %s", d)
		name, err := strconv.Unquote(m[1])
		require.NoError(t, err)
		help, err := strconv.Unquote(m[2])
		require.NoError(t, err)
		if g, ok := helps[name]; ok {
			assert.Equal(t, help, g, "%s: the golden page is out of date: go test . -run TestGoldenMetrics -update", name)
		}
		helps[name] = help
	}

	n := 0
	for name, help := range helps {
		if !strings.HasPrefix(name, "kartustok_") {
			continue
		}
		n++
		assert.LessOrEqual(t, utf8.RuneCountInString(help), maxHelp, "HELP of %s is too long; move the details to docs/metrics.md:\n%s", name, help)
	}
	assert.GreaterOrEqual(t, n, 30, "kartustok_ families checked")
}

// fixedSource is a Source of an empty snapshot.
type fixedSource struct{}

func (fixedSource) Snapshot() *refresh.Snapshot  { return &refresh.Snapshot{} }
func (fixedSource) MaxStaleness() time.Duration  { return time.Hour }
func (fixedSource) FlowMaxAge() time.Duration    { return time.Hour }
func (fixedSource) Budget() (int, time.Duration) { return 96, time.Minute }
