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
	"fmt"
	"math"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/kartustok/kartustok_exporter/internal/yamlfile"
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
	p := &parser{&yamlfile.Parser{Name: name}}
	root := p.Document(data, msgNoDocument, msgNullDocument)
	s := &Set{
		name:      name,
		byItem:    make(map[string]*item),
		byCatID:   make(map[string]*category),
		byCatName: make(map[string]*category),
	}
	if root != nil {
		p.top(root, s)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// parser walks a minimums file against its schema.
type parser struct{ *yamlfile.Parser }

// top walks the root mapping.
func (p *parser) top(root *yaml.Node, s *Set) {
	if root.Kind != yaml.MappingNode {
		p.Errorf(root, "", "the file must be a mapping with the keys categories and items, got %s", yamlfile.Describe(root))
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
	if !p.IsMapping(n, path) {
		return
	}
	f, clean := p.fields(n, path, categoryFields)
	c := &category{line: n.Line, index: index}
	nameNode, idNode := f[fieldName], f[fieldID]
	switch {
	case nameNode != nil && idNode != nil:
		p.Errorf(idNode, path, "give either name or id, not both")
	case nameNode != nil:
		c.name, _ = p.Text(nameNode, yamlfile.Join(path, fieldName))
	case idNode != nil:
		c.id, _ = p.Text(idNode, yamlfile.Join(path, fieldID))
	case clean:
		p.Errorf(n, path, "missing name (or id) of the category")
	}
	c.minimum = p.optional(f[fieldMinimum], yamlfile.Join(path, fieldMinimum))
	c.totalMinimum = p.optional(f[fieldTotalMinimum], yamlfile.Join(path, fieldTotalMinimum))
	c.leadTime = p.optional(f[fieldLeadTime], yamlfile.Join(path, fieldLeadTime))
	if clean && f[fieldMinimum] == nil && f[fieldTotalMinimum] == nil && f[fieldLeadTime] == nil {
		p.Errorf(n, path, "sets nothing: give minimum, total_minimum or lead_time_days")
	}
	switch {
	case c.name != "":
		if first := s.byCatName[c.name]; first != nil {
			p.Errorf(nameNode, yamlfile.Join(path, fieldName), "duplicate category %q (first at line %d)", c.name, first.line)
			return
		}
		s.byCatName[c.name] = c
	case c.id != "":
		if first := s.byCatID[c.id]; first != nil {
			p.Errorf(idNode, yamlfile.Join(path, fieldID), "duplicate category id %q (first at line %d)", c.id, first.line)
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
	if !p.IsMapping(n, path) {
		return
	}
	f, clean := p.fields(n, path, itemFields)
	it := &item{line: n.Line, index: index}
	codeNode := f[fieldCode]
	if codeNode == nil {
		if clean {
			p.Errorf(n, path, "missing code of the item")
		}
	} else {
		it.code, _ = p.Text(codeNode, yamlfile.Join(path, fieldCode))
	}
	it.minimum = p.optional(f[fieldMinimum], yamlfile.Join(path, fieldMinimum))
	it.totalMinimum = p.optional(f[fieldTotalMinimum], yamlfile.Join(path, fieldTotalMinimum))
	it.leadTime = p.optional(f[fieldLeadTime], yamlfile.Join(path, fieldLeadTime))
	whPath := yamlfile.Join(path, fieldWarehouses)
	whLines := make(map[string]int)
	for i, wn := range p.list(f[fieldWarehouses], whPath) {
		p.warehouse(wn, fmt.Sprintf("%s[%d]", whPath, i), it, whLines)
	}
	if clean && f[fieldMinimum] == nil && f[fieldTotalMinimum] == nil && f[fieldLeadTime] == nil && !hasContent(f[fieldWarehouses]) {
		p.Errorf(n, path, "sets nothing: give minimum, total_minimum, lead_time_days or warehouses")
	}
	if it.code == "" {
		return
	}
	if first := s.byItem[it.code]; first != nil {
		p.Errorf(codeNode, yamlfile.Join(path, fieldCode), "duplicate item code %q (first at line %d)", it.code, first.line)
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
	if !p.IsMapping(n, path) {
		return
	}
	f, clean := p.fields(n, path, warehouseFields)
	w := warehouse{line: n.Line}
	codeNode, minNode := f[fieldCode], f[fieldMinimum]
	codeOK, minOK := false, false
	if codeNode == nil {
		if clean {
			p.Errorf(n, path, "missing code of the warehouse")
		}
	} else {
		w.code, codeOK = p.Text(codeNode, yamlfile.Join(path, fieldCode))
	}
	if minNode == nil {
		if clean {
			p.Errorf(n, path, "missing minimum")
		}
	} else {
		w.minimum, minOK = p.number(minNode, yamlfile.Join(path, fieldMinimum))
	}
	if !codeOK {
		return
	}
	if first, dup := lines[w.code]; dup {
		p.Errorf(codeNode, yamlfile.Join(path, fieldCode), "duplicate warehouse code %q in this item (first at line %d)", w.code, first)
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

// fields returns the values of a mapping by key, recording unknown,
// duplicate and non-text keys; clean is false after any of those, so that a
// misspelt field is not also reported as a missing one.
func (p *parser) fields(n *yaml.Node, path string, known []string) (f map[string]*yaml.Node, clean bool) {
	f, _, clean = p.Fields(n, path, known, nil, func(s string) string { return yamlfile.Typo(s, known) })
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
	p.Errorf(n, path, "must be a list with one \"- \" entry each, got %s", yamlfile.Describe(n))
	return nil
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
		p.Errorf(n, path, "%s, got %s", want, yamlfile.Describe(n))
		return 0, false
	}
	quoted := yamlfile.Quoted(n)
	plain := !quoted && n.Style&yaml.TaggedStyle == 0
	switch {
	case plain && decimal.MatchString(n.Value):
		v, err := strconv.ParseFloat(n.Value, 64)
		switch {
		case err != nil && (math.IsInf(v, 0) || math.IsNaN(v)):
			p.Errorf(n, path, "must be a finite number ≥ 0, got %s", n.Value)
			return 0, false
		case v < 0:
			p.Errorf(n, path, "%s, got %s", want, n.Value)
			return 0, false
		}
		if v == 0 {
			v = 0 // -0 is written as 0 when the set is encoded again.
		}
		return v, true
	case plain && n.Tag == "!!float":
		// The remaining plain floats are .inf, -.inf and .nan.
		p.Errorf(n, path, "must be a finite number ≥ 0, got %s", n.Value)
	case plain && n.Tag == "!!int":
		p.Errorf(n, path, "must be a decimal number ≥ 0, got %s", n.Value)
	case quoted && decimal.MatchString(n.Value):
		p.Errorf(n, path, "%s, got the text %q (remove the quotes)", want, n.Value)
	default:
		p.Errorf(n, path, "%s, got %s", want, yamlfile.Describe(n))
	}
	return 0, false
}
