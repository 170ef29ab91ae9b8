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

package minimums

// The file is decoded into a yaml.Node tree and walked here against the
// schema, rather than unmarshalled into structs with KnownFields: the struct
// decoder reports an unknown field as "line 4: field minimun not found in type
// minimums.category", without the path to it, it stops at the first kind of
// problem, and it reads 0123 as octal. Walking the tree keeps the decoding
// just as strict while every message names the line and the field path.

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Field names, shared by the decoder, the encoder and the messages.
const (
	fieldCategories   = "categories"
	fieldItems        = "items"
	fieldName         = "name"
	fieldID           = "id"
	fieldCode         = "code"
	fieldMinimum      = "minimum"
	fieldTotalMinimum = "total_minimum"
	fieldWarehouses   = "warehouses"
	fieldLeadTime     = "lead_time_days"
)

var (
	topFields       = []string{fieldLeadTime, fieldCategories, fieldItems}
	categoryFields  = []string{fieldName, fieldID, fieldMinimum, fieldTotalMinimum, fieldLeadTime}
	itemFields      = []string{fieldCode, fieldMinimum, fieldTotalMinimum, fieldLeadTime, fieldWarehouses}
	warehouseFields = []string{fieldCode, fieldMinimum}
)

// decimal is the only number syntax accepted: what a person writes. YAML's
// other integer forms (0x1F, 0o17, 0123 read as octal, 1_000) are refused
// rather than read in a way the writer may not have meant.
var decimal = regexp.MustCompile(`^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$`)

// yamlLine matches the position prefix of yaml.v3's syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

// clearHint tells how to clear every minimum on purpose, for the messages
// about a file that holds no minimums document at all.
const clearHint = `to clear every minimum on purpose, write an explicit empty document such as "items: []"`

// Messages for a file that writes no minimums at all.
const (
	msgNoDocument   = "the file holds no YAML document (it is empty or only comments); " + clearHint
	msgNullDocument = `the file's YAML document is null (a bare "---", "null" or "~"), which writes no minimums; ` + clearHint
)

// Parse parses the contents of a minimums file; name is used in error
// messages only. On failure the error is an Errors listing every problem
// found.
//
// The file must hold exactly one YAML document. An explicit empty document
// ("items: []", "categories: []", "{}", or lists that are all absent or
// empty under a key that is written) gives an empty, non-nil Set: that is
// how every minimum is cleared on purpose. A file of zero documents (empty,
// or only whitespace and comments) is an error, so that a file truncated or
// half-written while being edited cannot silently drop every minimum on a
// reload; a document that is null (a bare "---", "null" or "~") writes no
// minimums either and is treated the same way. Both errors concern the
// whole file (Line 0) and say how to clear the minimums deliberately.
func Parse(name string, data []byte) (*Set, error) {
	p := &parser{name: name}
	root := p.document(data)
	s := &Set{
		name:      name,
		byItem:    make(map[string]*item),
		byCatID:   make(map[string]*category),
		byCatName: make(map[string]*category),
	}
	if root != nil {
		p.top(root, s)
	}
	if len(p.errs) > 0 {
		// Duplicates are found after the entry's fields; report in line order.
		slices.SortStableFunc(p.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
		if p.dropped > 0 {
			p.errs = append(p.errs, &Error{File: name, Msg: fmt.Sprintf("%d more problems not shown", p.dropped)})
		}
		return nil, p.errs
	}
	return s, nil
}

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

// top walks the root mapping.
func (p *parser) top(root *yaml.Node, s *Set) {
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "", "the file must be a mapping with the keys categories and items, got %s", describe(root))
		return
	}
	f, _ := p.fields(root, "", topFields)
	s.leadTime = p.optional(f[fieldLeadTime], fieldLeadTime)
	for i, n := range p.list(f[fieldCategories], fieldCategories) {
		p.category(n, fmt.Sprintf("%s[%d]", fieldCategories, i), i, s)
	}
	for i, n := range p.list(f[fieldItems], fieldItems) {
		p.item(n, fmt.Sprintf("%s[%d]", fieldItems, i), i, s)
	}
}

// category walks one entry of the categories list and adds it to s.
func (p *parser) category(n *yaml.Node, path string, index int, s *Set) {
	if !p.isMapping(n, path) {
		return
	}
	f, clean := p.fields(n, path, categoryFields)
	c := &category{line: n.Line, index: index}
	nameNode, idNode := f[fieldName], f[fieldID]
	switch {
	case nameNode != nil && idNode != nil:
		p.errorf(idNode, path, "give either name or id, not both")
	case nameNode != nil:
		c.name, _ = p.text(nameNode, join(path, fieldName))
	case idNode != nil:
		c.id, _ = p.text(idNode, join(path, fieldID))
	case clean:
		p.errorf(n, path, "missing name (or id) of the category")
	}
	c.minimum = p.optional(f[fieldMinimum], join(path, fieldMinimum))
	c.totalMinimum = p.optional(f[fieldTotalMinimum], join(path, fieldTotalMinimum))
	c.leadTime = p.optional(f[fieldLeadTime], join(path, fieldLeadTime))
	if clean && f[fieldMinimum] == nil && f[fieldTotalMinimum] == nil && f[fieldLeadTime] == nil {
		p.errorf(n, path, "sets nothing: give minimum, total_minimum or lead_time_days")
	}
	switch {
	case c.name != "":
		if first := s.byCatName[c.name]; first != nil {
			p.errorf(nameNode, join(path, fieldName), "duplicate category %q (first at line %d)", c.name, first.line)
			return
		}
		s.byCatName[c.name] = c
	case c.id != "":
		if first := s.byCatID[c.id]; first != nil {
			p.errorf(idNode, join(path, fieldID), "duplicate category id %q (first at line %d)", c.id, first.line)
			return
		}
		s.byCatID[c.id] = c
	default:
		return
	}
	s.categories = append(s.categories, c)
}

// item walks one entry of the items list and adds it to s.
func (p *parser) item(n *yaml.Node, path string, index int, s *Set) {
	if !p.isMapping(n, path) {
		return
	}
	f, clean := p.fields(n, path, itemFields)
	it := &item{line: n.Line, index: index}
	codeNode := f[fieldCode]
	if codeNode == nil {
		if clean {
			p.errorf(n, path, "missing code of the item")
		}
	} else {
		it.code, _ = p.text(codeNode, join(path, fieldCode))
	}
	it.minimum = p.optional(f[fieldMinimum], join(path, fieldMinimum))
	it.totalMinimum = p.optional(f[fieldTotalMinimum], join(path, fieldTotalMinimum))
	it.leadTime = p.optional(f[fieldLeadTime], join(path, fieldLeadTime))
	whPath := join(path, fieldWarehouses)
	whLines := make(map[string]int)
	for i, wn := range p.list(f[fieldWarehouses], whPath) {
		p.warehouse(wn, fmt.Sprintf("%s[%d]", whPath, i), it, whLines)
	}
	if clean && f[fieldMinimum] == nil && f[fieldTotalMinimum] == nil && f[fieldLeadTime] == nil && !hasContent(f[fieldWarehouses]) {
		p.errorf(n, path, "sets nothing: give minimum, total_minimum, lead_time_days or warehouses")
	}
	if it.code == "" {
		return
	}
	if first := s.byItem[it.code]; first != nil {
		p.errorf(codeNode, join(path, fieldCode), "duplicate item code %q (first at line %d)", it.code, first.line)
		return
	}
	s.byItem[it.code] = it
	s.items = append(s.items, it)
}

// hasContent reports whether a field holds anything beyond an empty value
// or an empty list, so that an item whose warehouses are all invalid is not
// also reported as setting nothing.
func hasContent(n *yaml.Node) bool {
	switch {
	case n == nil, n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return false
	case n.Kind == yaml.SequenceNode:
		return len(n.Content) > 0
	}
	return true
}

// warehouse walks one entry of an item's warehouses list and adds it to it;
// lines holds the line of each warehouse code seen so far in the item.
func (p *parser) warehouse(n *yaml.Node, path string, it *item, lines map[string]int) {
	if !p.isMapping(n, path) {
		return
	}
	f, clean := p.fields(n, path, warehouseFields)
	w := warehouse{line: n.Line}
	codeNode, minNode := f[fieldCode], f[fieldMinimum]
	codeOK, minOK := false, false
	if codeNode == nil {
		if clean {
			p.errorf(n, path, "missing code of the warehouse")
		}
	} else {
		w.code, codeOK = p.text(codeNode, join(path, fieldCode))
	}
	if minNode == nil {
		if clean {
			p.errorf(n, path, "missing minimum")
		}
	} else {
		w.minimum, minOK = p.number(minNode, join(path, fieldMinimum))
	}
	if !codeOK {
		return
	}
	if first, dup := lines[w.code]; dup {
		p.errorf(codeNode, join(path, fieldCode), "duplicate warehouse code %q in this item (first at line %d)", w.code, first)
		return
	}
	lines[w.code] = w.line
	if !minOK {
		return
	}
	if it.byWarehouse == nil {
		it.byWarehouse = make(map[string]float64)
	}
	it.byWarehouse[w.code] = w.minimum
	it.warehouses = append(it.warehouses, w)
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
// duplicate and non-text keys; clean is false after any of those, so that a
// misspelt field is not also reported as a missing one.
func (p *parser) fields(n *yaml.Node, path string, known []string) (f map[string]*yaml.Node, clean bool) {
	f = make(map[string]*yaml.Node, len(n.Content)/2)
	keys := make(map[string]int, len(n.Content)/2)
	clean = true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, path, "field names must be plain words, got %s", describe(k))
			clean = false
			continue
		}
		if first, dup := keys[k.Value]; dup {
			p.errorf(k, path, "field %q given twice (first at line %d)", k.Value, first)
			clean = false
			continue
		}
		keys[k.Value] = k.Line
		if !slices.Contains(known, k.Value) {
			msg := fmt.Sprintf("unknown field %q", k.Value)
			if guess := closest(k.Value, known); guess != "" {
				msg += fmt.Sprintf(", did you mean %q?", guess)
			}
			p.errorf(k, path, "%s", msg)
			clean = false
			continue
		}
		f[k.Value] = v
	}
	return f, clean
}

// list returns the entries of a list; an absent or empty value is an empty
// list, so commenting out every entry leaves a valid file.
func (p *parser) list(n *yaml.Node, path string) []*yaml.Node {
	switch {
	case n == nil, n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil
	case n.Kind == yaml.SequenceNode:
		return n.Content
	}
	p.errorf(n, path, "must be a list with one \"- \" entry each, got %s", describe(n))
	return nil
}

// text returns a code or name. The scalar is taken as written, so a code
// such as 00123 stays "00123" instead of becoming the number 123.
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

// optional decodes a quantity that may be absent.
func (p *parser) optional(n *yaml.Node, path string) optional {
	if n == nil {
		return optional{}
	}
	v, ok := p.number(n, path)
	return optional{value: v, set: ok}
}

// number decodes a quantity: a finite decimal number ≥ 0.
func (p *parser) number(n *yaml.Node, path string) (float64, bool) {
	const want = "must be a number ≥ 0"
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, path, "%s, got %s", want, describe(n))
		return 0, false
	}
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	plain := !quoted && n.Style&yaml.TaggedStyle == 0
	switch {
	case plain && decimal.MatchString(n.Value):
		v, err := strconv.ParseFloat(n.Value, 64)
		switch {
		case err != nil && (math.IsInf(v, 0) || math.IsNaN(v)):
			p.errorf(n, path, "must be a finite number ≥ 0, got %s", n.Value)
			return 0, false
		case v < 0:
			p.errorf(n, path, "%s, got %s", want, n.Value)
			return 0, false
		}
		if v == 0 {
			v = 0 // -0 is written as 0 when the set is encoded again.
		}
		return v, true
	case plain && n.Tag == "!!float":
		// The remaining plain floats are .inf, -.inf and .nan.
		p.errorf(n, path, "must be a finite number ≥ 0, got %s", n.Value)
	case plain && n.Tag == "!!int":
		p.errorf(n, path, "must be a decimal number ≥ 0, got %s", n.Value)
	case quoted && decimal.MatchString(n.Value):
		p.errorf(n, path, "%s, got the text %q (remove the quotes)", want, n.Value)
	default:
		p.errorf(n, path, "%s, got %s", want, describe(n))
	}
	return 0, false
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
// a typo, or "" when none is that close.
func closest(s string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(s), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
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
