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

// The file is decoded into a yaml.Node tree and walked against the schema,
// rather than unmarshalled into structs with KnownFields: the struct decoder
// reports an unknown field without the path to it, stops at the first kind
// of problem, accepts a key given twice in some cases, and reads 0123 as
// octal. Walking the tree keeps decoding as strict while every message
// names the line and the field path. The walk follows the minimums file's
// (package minimums), so that both files report problems alike.

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

// parser collects the problems of one parse.
type parser struct {
	name    string
	errs    Errors
	dropped int
}

// errorf records a problem at node n (line 0 when n is nil).
func (p *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		p.dropped++
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.name, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// result returns the problems found, in line order, or nil.
func (p *parser) result() error {
	if len(p.errs) == 0 {
		return nil
	}
	// Duplicates are found after the entry's fields; report in line order.
	slices.SortStableFunc(p.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	if p.dropped > 0 {
		p.errs = append(p.errs, &Error{File: p.name, Msg: fmt.Sprintf("%d more problems not shown", p.dropped)})
	}
	return p.errs
}

// document decodes the single YAML document in data and returns its root
// node, or nil after recording a problem: invalid YAML, more than one
// document, no document at all, or a null one.
func (p *parser) document(data []byte) *yaml.Node {
	if blank(data) {
		// Checked before decoding: yaml.v3 refuses some blank files (a
		// line holding only a tab) with a syntax error that would hide
		// the real problem.
		p.errorf(nil, "", "%s", msgNoDocument)
		return nil
	}
	doc, next, err := decode(data)
	switch {
	case err != nil:
		p.syntax(data, err)
		return nil
	case next != nil:
		p.errorf(next, "", "a second YAML document starts here; the file must hold exactly one")
		return nil
	case doc == nil || len(doc.Content) == 0:
		p.errorf(nil, "", "%s", msgNoDocument)
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		p.errorf(nil, "", "%s", msgNullDocument)
		return nil
	}
	return root
}

// blank reports whether data holds no YAML content: only a byte order mark,
// blank lines and comment lines.
func blank(data []byte) bool {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	for _, line := range splitLines(data) {
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
func (p *parser) syntax(data []byte, err error) {
	line, msg := splitYAMLError(err)
	if at := syntaxLine(data, msg); at > 0 {
		line = at
	}
	p.errorf(&yaml.Node{Line: line}, "", "invalid YAML: %s", msg)
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
	lines := splitLines(data)
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

// isMapping reports whether a list entry is a mapping, recording a problem
// when it is not.
func (p *parser) isMapping(n *yaml.Node, path string) bool {
	if n.Kind == yaml.MappingNode {
		return true
	}
	p.errorf(n, path, "must be a mapping of fields, got %s", describe(n))
	return false
}

// fields returns the values of a mapping by key, recording unknown,
// duplicate and non-text keys. guessed holds the known fields that an
// unknown key is a likely misspelling of, so that a misspelt field is not
// also reported as a missing one.
func (p *parser) fields(n *yaml.Node, path string, known []string) (f map[string]*yaml.Node, guessed map[string]bool) {
	f = make(map[string]*yaml.Node, len(n.Content)/2)
	guessed = make(map[string]bool)
	keys := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, path, "field names must be plain words, got %s", describe(k))
			continue
		}
		if first, dup := keys[k.Value]; dup {
			p.errorf(k, path, "field %q given twice (first at line %d)", k.Value, first)
			continue
		}
		keys[k.Value] = k.Line
		if slices.Contains(known, k.Value) {
			f[k.Value] = v
			continue
		}
		msg := fmt.Sprintf("unknown field %q", k.Value)
		if hint, ok := unknownHints[strings.ToLower(k.Value)]; ok {
			msg += hint
		} else if guess := closest(k.Value, known); guess != "" {
			msg += fmt.Sprintf(", did you mean %q?", guess)
			guessed[guess] = true
		}
		p.errorf(k, path, "%s", msg)
	}
	return f, guessed
}

// text returns a name, URL or path as written, so that a name such as 0123
// stays "0123".
func (p *parser) text(n *yaml.Node, path string) (string, bool) {
	switch {
	case n.Kind != yaml.ScalarNode:
		p.errorf(n, path, "must be text, got %s", describe(n))
		return "", false
	case n.Tag == "!!null" || strings.TrimSpace(n.Value) == "":
		p.errorf(n, path, "must not be empty")
		return "", false
	}
	return n.Value, true
}

// isNull reports whether a node is absent or an empty value.
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// quoted reports whether a scalar was written in quotes or as a block.
func quoted(n *yaml.Node) bool {
	return n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
}

// splitLines splits data after each line break as YAML counts them: LF,
// CRLF, a lone CR, NEL, LS and PS. The last line may lack a break.
func splitLines(data []byte) [][]byte {
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

// describe names what a node holds, for "got …" in messages.
func describe(n *yaml.Node) string {
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

// join appends a field to a path.
func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// closest returns the known field within two edits of s, the usual size of
// a typo, else the one known field that starts with the same five or more
// letters as s, longer than any other does (company for companies), or ""
// when none is that close.
func closest(s string, known []string) string {
	s = strings.ToLower(s)
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return best
	}
	bestLen := 4
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

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
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
