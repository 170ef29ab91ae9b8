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

package yamlfile

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlLine matches the position prefix of yaml.v3's syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

// Parser collects the problems of one parse of the file Name.
type Parser struct {
	Name    string
	errs    Errors
	dropped int
}

// Errorf records a problem at node n (line 0 when n is nil). Beyond
// MaxErrors problems it only counts them.
func (p *Parser) Errorf(n *yaml.Node, path, format string, args ...any) {
	if len(p.errs) >= MaxErrors {
		p.dropped++
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.Name, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Count is the number of problems recorded so far, shown or not.
func (p *Parser) Count() int { return len(p.errs) + p.dropped }

// Err returns the problems found, an Errors in line order, or nil.
func (p *Parser) Err() error {
	if len(p.errs) == 0 {
		return nil
	}
	// Duplicates are found after the entry's fields; report in line order.
	slices.SortStableFunc(p.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	if p.dropped > 0 {
		p.errs = append(p.errs, &Error{File: p.Name, Msg: fmt.Sprintf("%d more problems not shown", p.dropped)})
		p.dropped = 0
	}
	return p.errs
}

// Document decodes the single YAML document in data and returns its root
// node, or nil after recording a problem: invalid YAML, more than one
// document, no document at all (noDocument says so), or a null one
// (nullDocument).
func (p *Parser) Document(data []byte, noDocument, nullDocument string) *yaml.Node {
	if blank(data) {
		// Checked before decoding: yaml.v3 refuses some blank files (a
		// line holding only a tab) with a syntax error that would hide
		// the real problem.
		p.Errorf(nil, "", "%s", noDocument)
		return nil
	}
	doc, next, err := decode(data)
	switch {
	case err != nil:
		p.syntax(data, err)
		return nil
	case next != nil:
		p.Errorf(next, "", "a second YAML document starts here; the file must hold exactly one")
		return nil
	case doc == nil || len(doc.Content) == 0:
		p.Errorf(nil, "", "%s", noDocument)
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		p.Errorf(nil, "", "%s", nullDocument)
		return nil
	}
	return root
}

// blank reports whether data holds no YAML content: only a byte order mark,
// blank lines and comment lines.
func blank(data []byte) bool {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	for _, line := range SplitLines(data) {
		line = bytes.TrimLeft(line, " \t")
		line = bytes.TrimRight(line, "\r\n\u0085\u2028\u2029")
		if len(line) > 0 && line[0] != '#' {
			return false
		}
	}
	return true
}

// decode reads the first YAML document in data and the start of a second
// one, if any; both are nil for an empty stream.
func decode(data []byte) (first, second *yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for _, doc := range []**yaml.Node{&first, &second} {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, err
		}
		*doc = &n
	}
	return first, second, nil
}

// syntax records a YAML syntax error at the line that holds the mistake.
func (p *Parser) syntax(data []byte, err error) {
	line, msg := splitYAMLError(err)
	if at := syntaxLine(data, msg); at > 0 {
		line = at
	}
	p.Errorf(&yaml.Node{Line: line}, "", "invalid YAML: %s", msg)
}

// splitYAMLError separates yaml.v3's "yaml: line N: " prefix from the message.
func splitYAMLError(err error) (line int, msg string) {
	msg = err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		return line, m[2]
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

// syntaxLine finds the line of a syntax error. yaml.v3 reports the line where
// the enclosing block began, which can be far above the mistake; the shortest
// run of leading lines that fails with the same message ends on the line
// that holds it. It returns 0 when no prefix reproduces the message.
func syntaxLine(data []byte, msg string) int {
	lines := SplitLines(data)
	n := sort.Search(len(lines)+1, func(n int) bool {
		_, _, err := decode(bytes.Join(lines[:n], nil))
		if err == nil {
			return false
		}
		_, m := splitYAMLError(err)
		return m == msg
	})
	if n > len(lines) {
		return 0
	}
	return n
}

// IsMapping reports whether a list entry is a mapping, recording a problem
// when it is not.
func (p *Parser) IsMapping(n *yaml.Node, path string) bool {
	if n.Kind == yaml.MappingNode {
		return true
	}
	p.Errorf(n, path, "must be a mapping of fields, got %s", Describe(n))
	return false
}

// Fields returns the values of a mapping by key, recording unknown,
// duplicate and non-text keys; clean is false after any of those. An
// unknown key gets the hint of hints (by its lower-case form) or else a
// "did you mean" of guess(key), if any; guessed holds the fields so
// guessed, so that a misspelt field is not also reported as a missing one.
func (p *Parser) Fields(n *yaml.Node, path string, known []string, hints map[string]string, guess func(string) string) (f map[string]*yaml.Node, guessed map[string]bool, clean bool) {
	f = make(map[string]*yaml.Node, len(n.Content)/2)
	guessed = make(map[string]bool)
	keys := make(map[string]int, len(n.Content)/2)
	clean = true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.Errorf(k, path, "field names must be plain words, got %s", Describe(k))
			clean = false
			continue
		}
		if first, dup := keys[k.Value]; dup {
			p.Errorf(k, path, "field %q given twice (first at line %d)", k.Value, first)
			clean = false
			continue
		}
		keys[k.Value] = k.Line
		if slices.Contains(known, k.Value) {
			f[k.Value] = v
			continue
		}
		clean = false
		msg := fmt.Sprintf("unknown field %q", k.Value)
		if hint, ok := hints[strings.ToLower(k.Value)]; ok {
			msg += hint
		} else if g := guess(k.Value); g != "" {
			msg += fmt.Sprintf(", did you mean %q?", g)
			guessed[g] = true
		}
		p.Errorf(k, path, "%s", msg)
	}
	return f, guessed, clean
}

// Text returns a name, code, URL or path as written, so that a code such
// as 00123 stays "00123" instead of becoming the number 123.
func (p *Parser) Text(n *yaml.Node, path string) (string, bool) {
	switch {
	case n.Kind != yaml.ScalarNode:
		p.Errorf(n, path, "must be text, got %s", Describe(n))
		return "", false
	case n.Tag == "!!null" || strings.TrimSpace(n.Value) == "":
		p.Errorf(n, path, "must not be empty")
		return "", false
	}
	return n.Value, true
}

// IsNull reports whether a node is absent or an empty value.
func IsNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// Quoted reports whether a scalar was written in quotes or as a block.
func Quoted(n *yaml.Node) bool {
	return n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
}

// SplitLines splits data after each line break as YAML counts them: LF,
// CRLF, a lone CR, NEL, LS and PS. The last line may lack a break.
func SplitLines(data []byte) [][]byte {
	var lines [][]byte
	start := 0
	for i := 0; i < len(data); {
		size := 0
		switch {
		case data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n':
			size = 2
		case data[i] == '\n' || data[i] == '\r':
			size = 1
		case bytes.HasPrefix(data[i:], []byte("\u0085")):
			size = 2
		case bytes.HasPrefix(data[i:], []byte("\u2028")), bytes.HasPrefix(data[i:], []byte("\u2029")):
			size = 3
		}
		if size == 0 {
			i++
			continue
		}
		i += size
		lines = append(lines, data[start:i])
		start = i
	}
	if start < len(data) {
		lines = append(lines, data[start:])
	}
	return lines
}

// Describe names what a node holds, for "got …" in messages.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "the alias *" + n.Value + " (aliases are not supported)"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "an empty value"
		}
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// Join appends a field to a path.
func Join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// Typo returns the known field within two edits of s (compared in lower
// case), the usual size of a typo, or "" when none is that close.
func Typo(s string, known []string) string {
	s = strings.ToLower(s)
	best, bestDist := "", 3
	for _, k := range known {
		if d := EditDistance(s, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// EditDistance is the Levenshtein distance between two short strings.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
