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
	"strings"
	"testing"

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
