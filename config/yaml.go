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

package config

// The file is walked as the minimums file is, with the strict reading that
// internal/yamlfile shares between them; what is the companies file's own
// is its schema (config.go), and a guess at a misspelt key that also
// catches a plural for a singular (company for companies).

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kartustok/kartustok_exporter/internal/yamlfile"
)

// parser walks a companies file against its schema.
type parser struct{ *yamlfile.Parser }

// fields returns the values of a mapping by key, recording unknown,
// duplicate and non-text keys. guessed holds the known fields that an
// unknown key is a likely misspelling of, so that a misspelt field is not
// also reported as a missing one.
func (p *parser) fields(n *yaml.Node, path string, known []string) (f map[string]*yaml.Node, guessed map[string]bool) {
	f, guessed, _ = p.Fields(n, path, known, unknownHints, func(s string) string { return closest(s, known) })
	return f, guessed
}

// closest returns the known field within two edits of s, the usual size of
// a typo, else the one known field that starts with the same five or more
// letters as s, longer than any other does (company for companies), or ""
// when none is that close.
func closest(s string, known []string) string {
	if best := yamlfile.Typo(s, known); best != "" {
		return best
	}
	s = strings.ToLower(s)
	best, bestLen := "", 4
	for _, k := range known {
		switch n := commonPrefix(s, k); {
		case n > bestLen:
			best, bestLen = k, n
		case n == bestLen:
			best = ""
		}
	}
	return best
}

// commonPrefix is the length of the longest common prefix of a and b.
func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
