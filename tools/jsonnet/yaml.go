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
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// rulesHeader opens every rules file the mixin renders.
const rulesHeader = `# The alerting and recording rules of kartustok_exporter, rendered from its
# monitoring mixin (mixin/) by ` + "`make mixin`" + `: change the mixin, not this file.
# docs/alerts.md describes the rules, the labels they match and aggregate
# on, and the inhibitions they expect of Alertmanager
# (examples/alertmanager.yml).
`

// foldWidth is the column at which the text of an annotation is folded.
const foldWidth = 100

// keyOrder is the order in which the keys of a rules file are written, as
// Prometheus' documentation writes them; other keys follow, sorted.
var keyOrder = []string{
	"groups", "name", "record", "alert", "expr", "interval", "query_offset", "limit",
	"for", "keep_firing_for", "labels", "annotations", "rules",
	"severity", "summary", "description",
}

// rulesFile formats a value, the rule groups of a Prometheus rules file, as
// YAML that reads like one written by hand: keys in the usual order, a
// multi-line expression as a literal block, a long annotation folded into
// lines. Every scalar, and then the whole file, is read back to prove the
// YAML holds the value exactly.
func rulesFile(raw json.RawMessage) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("a rules file is an object of groups")
	}
	w := &yamlWriter{}
	w.b.WriteString(rulesHeader)
	if err := w.mapping(m, 0, false, ""); err != nil {
		return nil, err
	}
	out := w.b.Bytes()

	// The YAML read back, as JSON, is the value as JSON.
	var back any
	if err := yaml.Unmarshal(out, &back); err != nil {
		return nil, fmt.Errorf("the YAML written does not parse: %w", err)
	}
	var want any
	if err := json.Unmarshal(raw, &want); err != nil {
		return nil, err
	}
	bj, err := json.Marshal(back)
	if err != nil {
		return nil, err
	}
	var got any
	if err := json.Unmarshal(bj, &got); err != nil {
		return nil, err
	}
	if !reflect.DeepEqual(want, got) {
		return nil, errors.New("the YAML written does not read back as the value rendered")
	}
	return out, nil
}

type yamlWriter struct {
	b bytes.Buffer
}

func (w *yamlWriter) indent(col int) {
	w.b.WriteString(strings.Repeat(" ", col))
}

// mapping writes m with its keys at column col; with dash, the first key
// goes on the current line, after a list item's "- ". parent is the key m
// is the value of.
func (w *yamlWriter) mapping(m map[string]any, col int, dash bool, parent string) error {
	for i, k := range orderedKeys(m) {
		if i > 0 || !dash {
			w.indent(col)
		}
		key, err := plainScalar(k)
		if err != nil {
			return err
		}
		w.b.WriteString(key)
		w.b.WriteString(":")
		if err := w.value(m[k], col, k, parent == "annotations"); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// value writes v, the value of a key at column col, from just after the
// key's colon. fold says whether a long string may be folded.
func (w *yamlWriter) value(v any, col int, key string, fold bool) error {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			w.b.WriteString(" {}\n")
			return nil
		}
		w.b.WriteString("\n")
		return w.mapping(v, col+2, false, key)
	case []any:
		if len(v) == 0 {
			w.b.WriteString(" []\n")
			return nil
		}
		w.b.WriteString("\n")
		return w.sequence(v, col+2, key)
	default:
		w.b.WriteString(" ")
		return w.scalar(v, col+2, fold)
	}
}

// sequence writes items as a block sequence with its dashes at column col.
func (w *yamlWriter) sequence(items []any, col int, parent string) error {
	for i, it := range items {
		w.indent(col)
		w.b.WriteString("- ")
		var err error
		switch it := it.(type) {
		case map[string]any:
			if len(it) == 0 {
				w.b.WriteString("{}\n")
				continue
			}
			err = w.mapping(it, col+2, true, parent)
		case []any:
			err = errors.New("a list in a list")
		default:
			err = w.scalar(it, col+2, false)
		}
		if err != nil {
			return fmt.Errorf("item %d: %w", i+1, err)
		}
	}
	return nil
}

// scalar writes v, whose continuation lines, if any, start at column col,
// and the newline that ends it.
func (w *yamlWriter) scalar(v any, col int, fold bool) error {
	var text string
	switch v := v.(type) {
	case nil:
		text = "null"
	case bool:
		text = strconv.FormatBool(v)
	case json.Number:
		text = v.String()
	case string:
		var err error
		text, err = stringScalar(v, col, fold)
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("unexpected %T", v)
	}
	w.b.WriteString(text)
	w.b.WriteString("\n")
	return nil
}

// stringScalar returns s as YAML: plain when it can be, a literal block if
// it has several lines, folded if fold allows and it does not fit in
// foldWidth, double-quoted otherwise. Continuation lines start at column
// col. Each form is used only when it reads back as s.
func stringScalar(s string, col int, fold bool) (string, error) {
	if strings.Contains(s, "\n") {
		if text, ok := literalBlock(s, col); ok {
			return text, nil
		}
		return quotedScalar(s)
	}
	if fold && col+len(s) > foldWidth {
		if text, ok := foldedBlock(s, col); ok {
			return text, nil
		}
	}
	if text, err := plainScalar(s); err == nil {
		return text, nil
	}
	return quotedScalar(s)
}

// plainScalar returns s unquoted if YAML reads it back as the same string.
func plainScalar(s string) (string, error) {
	out, err := yaml.Marshal(s)
	if err != nil {
		return "", err
	}
	if string(out) != s+"\n" {
		return quotedScalar(s)
	}
	return s, nil
}

// quotedScalar returns s double-quoted.
func quotedScalar(s string) (string, error) {
	out, err := yaml.Marshal(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle})
	if err != nil {
		return "", err
	}
	text := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(text, "\n") {
		return "", fmt.Errorf("%q does not fit on one line", s)
	}
	return text, nil
}

// literalBlock returns s, which has several lines, as a literal block whose
// lines start at column col.
func literalBlock(s string, col int) (string, bool) {
	header := "|"
	body := s
	switch {
	case strings.HasSuffix(s, "\n\n"):
		header = "|+"
	case strings.HasSuffix(s, "\n"):
		body = strings.TrimSuffix(s, "\n")
	default:
		header = "|-"
	}
	var b strings.Builder
	b.WriteString(header)
	for line := range strings.SplitSeq(strings.TrimSuffix(body, "\n"), "\n") {
		if strings.TrimRight(line, " \t") != line {
			return "", false // trailing white space, invisible and fragile
		}
		b.WriteString("\n")
		if line != "" {
			b.WriteString(strings.Repeat(" ", col))
			b.WriteString(line)
		}
	}
	return b.String(), readsBack(b.String(), s)
}

// foldedBlock returns s, one line, folded into lines that end before
// foldWidth where its words allow, starting at column col. A Prometheus
// template action, {{ ... }}, stays on one line.
func foldedBlock(s string, col int) (string, bool) {
	var words []string
	depth := 0
	for word := range strings.SplitSeq(s, " ") {
		// A fold is one space between two words: two spaces, or white space
		// at the start of a line, would read back otherwise.
		if word == "" || strings.ContainsAny(word, "\t\r") {
			return "", false
		}
		if depth > 0 {
			words[len(words)-1] += " " + word
		} else {
			words = append(words, word)
		}
		depth += strings.Count(word, "{{") - strings.Count(word, "}}")
	}
	if len(words) < 2 {
		return "", false // nothing to fold
	}
	var b strings.Builder
	b.WriteString(">-")
	line := 0
	for _, word := range words {
		if line > 0 && col+line+1+len(word) > foldWidth {
			line = 0
		}
		if line == 0 {
			b.WriteString("\n")
			b.WriteString(strings.Repeat(" ", col))
		} else {
			b.WriteString(" ")
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	return b.String(), readsBack(b.String(), s)
}

// readsBack tells whether text, the YAML of a value, reads back as s.
func readsBack(text, s string) bool {
	var m map[string]string
	// A block's indentation is that of its first line, so text, written
	// for the column of its key's value, reads as the value of a key at
	// column 0.
	if err := yaml.Unmarshal([]byte("k: "+text+"\n"), &m); err != nil {
		return false
	}
	v, ok := m["k"]
	return ok && v == s
}

// orderedKeys returns the keys of m in keyOrder, then the others sorted.
func orderedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ia, ib := slices.Index(keyOrder, a), slices.Index(keyOrder, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}
