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
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFlagHelpFitsThreeLines: each of the exporter's flags takes at most
// three lines of --help (at kingpin's 80 columns when not on a terminal),
// its name line included; the details are in docs/. exporter-toolkit's
// --web.* flags keep the toolkit's own text, which kingpin cannot change.
func TestFlagHelpFitsThreeLines(t *testing.T) {
	var help bytes.Buffer
	_, done, code := parseFlags([]string{"--help"}, &help, &help)
	require.True(t, done)
	require.Equal(t, 0, code)
	flagLine := regexp.MustCompile(`^\s+(?:-\w, )?--(?:\[no-\])?([a-z][a-z0-9.-]+)`)
	toolkit := map[string]bool{"web.listen-address": true, "web.config.file": true, "web.systemd-socket": true}
	lines := map[string]int{}
	var current string
	for l := range strings.SplitSeq(help.String(), "\n") {
		if m := flagLine.FindStringSubmatch(l); m != nil {
			current = m[1]
		}
		if current != "" && strings.TrimSpace(l) != "" {
			lines[current]++
		}
	}
	require.Contains(t, lines, "stock.minimums-file")
	for flag, n := range lines {
		if toolkit[flag] {
			continue
		}
		assert.LessOrEqual(t, n, 3, "--%s takes %d lines of --help", flag, n)
	}
}

// TestStockIntervalsDeriveFromTheMaxStaleness: the stock intervals a user
// did not set fit the max staleness they did (at most half of it), so that
// a flag set valid before a default changed stays valid; one they set is
// theirs, and a contradiction is an error.
func TestStockIntervalsDeriveFromTheMaxStaleness(t *testing.T) {
	base := []string{"--kartustok.url=https://sinarjaya.kartustok.com/public/v1"}
	for _, tc := range []struct {
		name             string
		args             []string
		stock, fullStock time.Duration
		wantErr          string
	}{
		{"defaults", nil, time.Minute, 15 * time.Minute, ""},
		{"a max staleness of 10m", []string{"--sync.max-staleness=10m"}, time.Minute, 5 * time.Minute, ""},
		{"a max staleness of 90s", []string{"--sync.max-staleness=90s"}, 45 * time.Second, 45 * time.Second, ""},
		{"a full stock interval set", []string{"--sync.max-staleness=10m", "--sync.full-stock-interval=8m"}, time.Minute, 8 * time.Minute, ""},
		{"a stock interval set", []string{"--sync.max-staleness=2h", "--sync.stock-interval=5m"}, 5 * time.Minute, 15 * time.Minute, ""},
		{"an explicit contradiction", []string{"--sync.max-staleness=10m", "--sync.full-stock-interval=12m"}, 0, 0, "--sync.full-stock-interval 12m0s must be shorter than --sync.max-staleness 10m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cfg, done, code := parseFlags(append(slices.Clone(base), tc.args...), &stdout, &stderr)
			if tc.wantErr != "" {
				require.True(t, done)
				assert.Equal(t, 2, code)
				assert.Contains(t, stderr.String(), tc.wantErr)
				return
			}
			require.False(t, done, stderr.String())
			assert.Equal(t, tc.stock, cfg.stockInterval)
			assert.Equal(t, tc.fullStock, cfg.fullStock)
		})
	}
}
