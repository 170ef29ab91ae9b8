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

package check

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// labelWidth is the width of the label column of a block's lines.
const labelWidth = 14

// severity says whether a finding stops the exporter from working.
type severity int

const (
	// problem: something the exporter needs does not work; the check
	// fails.
	problem severity = iota
	// warning: the exporter works, but not as well as it could, or a
	// part it does not need fails.
	warning
)

// finding is one problem or warning, with the one-line fix for it.
type finding struct {
	sev   severity
	where string // the block's title, for the summary
	text  string
	fix   string
}

// block is what the report says of one step: a title line, then aligned
// label/value lines, then its findings.
type block struct {
	title    string
	lines    [][2]string
	findings []*finding
}

func (b *block) add(label, format string, args ...any) {
	b.lines = append(b.lines, [2]string{label, fmt.Sprintf(format, args...)})
}

// render writes the block as text.
func (b *block) render() string {
	var s strings.Builder
	s.WriteString(b.title)
	s.WriteByte('\n')
	for _, l := range b.lines {
		writeLine(&s, l[0], l[1])
	}
	for i, f := range b.findings {
		label := "PROBLEM"
		if f.sev == warning {
			label = "warning"
		}
		writeLine(&s, label, f.text)
		if f.fix != "" && !sameFixNext(b.findings, i) {
			writeLine(&s, "fix", f.fix)
		}
	}
	return s.String()
}

// sameFixNext reports whether the finding after fs[i] has the same fix,
// which is then shown once, after the last of them.
func sameFixNext(fs []*finding, i int) bool {
	return i+1 < len(fs) && fs[i+1].fix == fs[i].fix
}

func writeLine(s *strings.Builder, label, value string) {
	fmt.Fprintf(s, "  %-*s %s\n", labelWidth, label, value)
}

// plural returns "1 row", "2 rows".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// list joins names, or says there are none.
func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// maxShown is the most bytes a value or message from the server keeps in
// the report.
const (
	maxValueBytes   = 60
	maxMessageBytes = 200
)

// sanitise makes text from the server safe to print on one line: valid
// UTF-8, control and formatting characters (which could move the cursor
// or reorder the text on a terminal) escaped, runs of white space folded
// to one space, cut to at most n bytes on a character boundary, marked
// with "…" when cut.
func sanitise(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || !unicode.IsPrint(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
		} else {
			b.WriteRune(r)
		}
		if b.Len() > n {
			break
		}
	}
	return cut(b.String(), n)
}

// cut shortens s to at most n bytes on a character boundary, marking the
// cut with "…".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
