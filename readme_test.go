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
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMEListsEveryFlagAndMetric keeps the README's flag and metric
// tables true: every flag --help prints and every metric family of the
// golden /metrics must have a row.
func TestREADMEListsEveryFlagAndMetric(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	row := func(name string) *regexp.Regexp {
		return regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(name) + "`")
	}

	var help bytes.Buffer
	_, done, _ := parseFlags([]string{"--help"}, &help, &help)
	require.True(t, done)
	flags := regexp.MustCompile(`(?m)^\s+(?:-\w, )?(--[a-z][a-z0-9.-]+)`).FindAllStringSubmatch(help.String(), -1)
	require.NotEmpty(t, flags)
	for _, f := range flags {
		if f[1] == "--help" || f[1] == "--help-long" || f[1] == "--help-man" || f[1] == "--completion-script-bash" || f[1] == "--completion-script-zsh" {
			continue // kingpin's own
		}
		assert.True(t, row(f[1]).Match(readme), "README's flag table lacks %s", f[1])
	}

	golden, err := os.ReadFile(goldenPath)
	require.NoError(t, err)
	families := regexp.MustCompile(`(?m)^# TYPE (kartustok_\w+) `).FindAllStringSubmatch(string(golden), -1)
	require.NotEmpty(t, families)
	for _, f := range families {
		assert.True(t, row(f[1]).Match(readme), "README's metric table lacks %s", f[1])
	}
}
