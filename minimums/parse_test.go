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

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLoadInvalid gives the exact message for every invalid file, so a
// change in wording or position is a deliberate one.
func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"invalid-unknown-field.yml", `:4: categories[0]: unknown field "minimun", did you mean "minimum"?`},
		{"invalid-unknown-top-field.yml", `:2: unknown field "item", did you mean "items"?`},
		{"invalid-warehouse-unknown-field.yml", `:5: items[0].warehouses[0]: unknown field "total_minimum"`},
		{"invalid-merge-key.yml", `:5: items[1]: unknown field "<<"`},
		{"invalid-duplicate-field.yml", `:4: items[0]: field "minimum" given twice (first at line 3)`},

		{"invalid-not-a-number.yml", `:7: items[0].warehouses[1].minimum: must be a number ≥ 0, got "abc"`},
		{"invalid-negative.yml", `:3: items[0].minimum: must be a number ≥ 0, got -5`},
		{"invalid-infinite.yml", `:3: categories[0].total_minimum: must be a finite number ≥ 0, got .inf`},
		{"invalid-nan.yml", `:3: items[0].minimum: must be a finite number ≥ 0, got .nan`},
		{"invalid-overflow.yml", `:3: items[0].total_minimum: must be a finite number ≥ 0, got 1e400`},
		{"invalid-quoted-number.yml", `:3: items[0].minimum: must be a number ≥ 0, got the text "10" (remove the quotes)`},
		{"invalid-hex-number.yml", `:3: items[0].minimum: must be a decimal number ≥ 0, got 0x1F`},
		{"invalid-empty-minimum.yml", `:3: items[0].minimum: must be a number ≥ 0, got an empty value`},
		{"invalid-minimum-list.yml", `:3: items[0].minimum: must be a number ≥ 0, got a list`},
		{"invalid-alias.yml", `:6: items[0].minimum: must be a number ≥ 0, got the alias *raw (aliases are not supported)`},

		{"invalid-empty-code.yml", `:2: items[0].code: must not be empty`},
		{"invalid-blank-name.yml", `:2: categories[0].name: must not be empty`},
		{"invalid-null-id.yml", `:2: categories[0].id: must not be empty`},
		{"invalid-code-list.yml", `:2: items[0].code: must be text, got a list`},
		{"invalid-name-and-id.yml", `:3: categories[0]: give either name or id, not both`},
		{"invalid-category-without-name.yml", `:2: categories[0]: missing name (or id) of the category`},
		{"invalid-item-without-code.yml", `:2: items[0]: missing code of the item`},
		{"invalid-warehouse-without-code.yml", `:4: items[0].warehouses[0]: missing code of the warehouse`},
		{"invalid-warehouse-without-minimum.yml", `:4: items[0].warehouses[0]: missing minimum`},
		{"invalid-item-sets-nothing.yml", `:2: items[0]: sets nothing: give minimum, total_minimum, lead_time_days or warehouses`},
		{"invalid-category-sets-nothing.yml", `:2: categories[0]: sets nothing: give minimum, total_minimum or lead_time_days`},

		{"invalid-duplicate-item.yml", `:6: items[2].code: duplicate item code "KS-00001" (first at line 2)`},
		{"invalid-duplicate-warehouse.yml", `:8: items[0].warehouses[2].code: duplicate warehouse code "GDG-01" in this item (first at line 4)`},
		{"invalid-duplicate-category-name.yml", `:4: categories[1].name: duplicate category "Bahan Baku" (first at line 2)`},
		{"invalid-duplicate-category-id.yml", `:6: categories[2].id: duplicate category id "Qm3x8a" (first at line 2)`},

		{"invalid-root-list.yml", `:1: the file must be a mapping with the keys categories and items, got a list`},
		{"invalid-root-scalar.yml", `:1: the file must be a mapping with the keys categories and items, got "minimum stock 10"`},
		{"invalid-items-mapping.yml", `:2: items: must be a list with one "- " entry each, got a mapping`},
		{"invalid-entry-not-mapping.yml", `:2: items[0]: must be a mapping of fields, got "KS-00001"`},
		{"invalid-two-documents.yml", `:4: a second YAML document starts here; the file must hold exactly one`},
		{"invalid-syntax.yml", `:4: invalid YAML: did not find expected '-' indicator`},
		{"invalid-empty.yml", `: ` + wantNoDocument},
		{"invalid-comments-only.yml", `: ` + wantNoDocument},
		{"invalid-null-document.yml", `: ` + wantNullDocument},

		// Every problem of a file is listed, in line order, each once.
		{"invalid-several.yml", strings.Join([]string{
			`:3: categories[0].minimum: must be a number ≥ 0, got -1`,
			`testdata/invalid-several.yml:7: items[1].code: duplicate item code "KS-00001" (first at line 5)`,
			`testdata/invalid-several.yml:8: items[1].minimum: must be a number ≥ 0, got "ten"`,
			`testdata/invalid-several.yml:9: items[1]: unknown field "warehouse", did you mean "warehouses"?`,
		}, "\n")},
	}
	seen := make(map[string]bool)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			seen[path] = true
			s, err := Load(path)
			require.Error(t, err)
			require.Nil(t, s)
			require.Equal(t, path+tt.want, err.Error())
		})
	}
	// A new invalid file without an expected message would test nothing.
	files, err := filepath.Glob(filepath.Join("testdata", "invalid-*.yml"))
	require.NoError(t, err)
	for _, f := range files {
		require.True(t, seen[f], "%s has no case in this table", f)
	}
}

// TestLoadValid covers the example and the files that clear every minimum
// on purpose, with an explicit empty document, which must load as an empty
// set rather than fail.
func TestLoadValid(t *testing.T) {
	tests := []struct {
		file string
		want Summary
	}{
		{"example.yml", Summary{Categories: 2, Items: 3, Warehouses: 3}},
		{"valid-cleared.yml", Summary{}},
		{"valid-empty-lists.yml", Summary{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			s, err := Load(path)
			require.NoError(t, err)
			require.NotNil(t, s)
			require.Equal(t, tt.want, s.Summary())
			require.Equal(t, tt.want.Categories+tt.want.Items, s.Len())
			require.Equal(t, path, s.Name())
		})
	}
}

// The messages for a file that writes no minimums at all.
const (
	wantNoDocument   = `the file holds no YAML document (it is empty or only comments); to clear every minimum on purpose, write an explicit empty document such as "items: []"`
	wantNullDocument = `the file's YAML document is null (a bare "---", "null" or "~"), which writes no minimums; to clear every minimum on purpose, write an explicit empty document such as "items: []"`
)

// TestNoDocument: a file of zero YAML documents, or whose document is null,
// is a half-written file rather than a decision to clear the minimums, so it
// is refused with a message that says how to clear them on purpose; an
// explicit empty document is that decision and gives an empty set.
func TestNoDocument(t *testing.T) {
	tests := []struct {
		name, in, want string // want is "" for an empty set
	}{
		{"empty", "", wantNoDocument},
		{"newlines", "\n\n\n", wantNoDocument},
		{"spaces", "   \n  \n ", wantNoDocument},
		{"tabs", " \t\n\t\n", wantNoDocument}, // yaml.v3 alone calls this a syntax error
		{"CRLF blank lines", "\r\n  \r\n", wantNoDocument},
		{"byte order mark", "\ufeff\n", wantNoDocument},
		{"comments", "# Minimums for kartustok_exporter.\n", wantNoDocument},
		{"commented-out entries", "# items:\n#   - code: KS-1\n#     minimum: 10\n\n", wantNoDocument},
		{"indented comments and tabs", "  # a\n\t# b\n \t\n# c", wantNoDocument},
		{"comment without a line break", "# items: []", wantNoDocument},
		{"bare ---", "---\n", wantNullDocument},
		{"--- and a comment", "# minimums\n--- # none yet\n", wantNullDocument},
		{"--- and ...", "---\n...\n", wantNullDocument},
		{"null", "null\n", wantNullDocument},
		{"tilde", "~\n", wantNullDocument},
		{"tagged null", "--- !!null\n", wantNullDocument},

		{"items: []", "items: []\n", ""},
		{"categories: []", "categories: []\n", ""},
		{"both lists empty", "categories: []\nitems: []\n", ""},
		{"keys without values", "categories:\nitems:\n", ""},
		{"empty mapping", "{}\n", ""},
		{"explicit document", "---\nitems: []\n...\n", ""},
		{"comments around items: []", "# cleared on purpose\nitems: [] # KartuStok's own apply\n# - code: KS-1\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("minimums.yml", []byte(tt.in))
			if tt.want == "" {
				require.NoError(t, err)
				require.NotNil(t, s)
				require.Zero(t, s.Len())
				require.Zero(t, s.Summary())
				_, ok := s.Minimum("GDG-01", "KS-1", "", "")
				require.False(t, ok)
				return
			}
			require.Nil(t, s)
			require.EqualError(t, err, "minimums.yml: "+tt.want)
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, &Error{File: "minimums.yml", Msg: tt.want}, e, "a problem of the whole file, at no line")
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "minimums.yml"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorContains(t, err, "reading minimums file: ")
}

// TestErrorFields lets callers take a problem apart, for instance to log
// the line and the path as separate fields.
func TestErrorFields(t *testing.T) {
	_, err := Parse("minimums.yml", []byte("items:\n  - code: KS-1\n    minimum: x\n  - code: KS-1\n    minimum: 2\n"))
	var list Errors
	require.ErrorAs(t, err, &list)
	require.Len(t, list, 2)
	var first *Error
	require.ErrorAs(t, err, &first)
	require.Equal(t, &Error{File: "minimums.yml", Line: 3, Path: "items[0].minimum", Msg: `must be a number ≥ 0, got "x"`}, first)
	require.Equal(t, `minimums.yml: invalid YAML: x`, (&Error{File: "minimums.yml", Msg: "invalid YAML: x"}).Error())
}

// TestTooManyProblems bounds the report of a file that is wrong throughout.
func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("items:\n")
	for i := range maxErrors + 5 {
		fmt.Fprintf(&b, "  - code: KS-%d\n    minimum: -1\n", i)
	}
	_, err := Parse("minimums.yml", []byte(b.String()))
	var list Errors
	require.ErrorAs(t, err, &list)
	require.Len(t, list, maxErrors+1)
	require.Equal(t, `minimums.yml:3: items[0].minimum: must be a number ≥ 0, got -1`, list[0].Error())
	require.Equal(t, `minimums.yml: 5 more problems not shown`, list[maxErrors].Error())
}

// TestSyntaxErrorLines checks that a syntax error points at the line that
// holds the mistake, not at the start of the block around it as yaml.v3
// itself does.
func TestSyntaxErrorLines(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			"under-indented field", "items:\n  - code: A\n    minimum: 10\n   total_minimum: 40\n",
			`m.yml:4: invalid YAML: did not find expected '-' indicator`,
		},
		{
			"tab", "items:\n  - code: A\n    minimum: 10\n\ttotal_minimum: 40\n",
			`m.yml:4: invalid YAML: found a tab character that violates indentation`,
		},
		{
			"unclosed quote", "items:\n  - code: \"A\n    minimum: 10\n",
			`m.yml:2: invalid YAML: found unexpected end of stream`,
		},
		{
			"colon in value", "items:\n  - code: A\n    minimum: 10\n  - code: a: b\n",
			`m.yml:4: invalid YAML: mapping values are not allowed in this context`,
		},
		{
			"unclosed flow", "items:\n  - code: A\n    minimum: 10\n\n\n  - code: B\n    minimum: {\n",
			`m.yml:7: invalid YAML: did not find expected node content`,
		},
		{
			"in a second document", "items:\n  - code: A\n    minimum: 10\n---\nitems:\n  - code: B\n   minimum: 10\n  x: 1\n",
			`m.yml:7: invalid YAML: did not find expected '-' indicator`,
		},
		{
			"control character", "items:\n  - code: A\x00\n",
			`m.yml:2: invalid YAML: control characters are not allowed`,
		},
		{
			"CRLF", "items:\r\n  - code: A\r\n    minimum: 10\r\n   total_minimum: 40\r\n",
			`m.yml:4: invalid YAML: did not find expected '-' indicator`,
		},
		{
			"CR only", "items:\r  - code: A\r    minimum: 10\r   total_minimum: 40\r",
			`m.yml:4: invalid YAML: did not find expected '-' indicator`,
		},
		{
			"Unicode line separators", "items:\u2028  - code: A\u2029    minimum: 10\u0085   total_minimum: 40\n",
			`m.yml:4: invalid YAML: did not find expected '-' indicator`,
		},
		{
			"invalid UTF-8", "items:\n  - code: A\n    minimum: 1\n  - code: \xff\n",
			`m.yml:4: invalid YAML: invalid leading UTF-8 octet`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("m.yml", []byte(tt.in))
			require.EqualError(t, err, tt.want)
		})
	}
}

// TestNumbers pins the number syntax: decimal only, as people write it.
func TestNumbers(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"0", 0},
		{"-0", 0},
		{"-0.0", 0},
		{"12", 12},
		{"+12", 12},
		{"12.5", 12.5},
		{".5", 0.5},
		{"5.", 5},
		{"1e3", 1000},
		{"1.5E+2", 150},
		{"0123", 123}, // yaml.v3 alone would read octal 83
		{"99999999999999999999", 1e20},
		{"1e-400", 0}, // underflows to zero: finite, so accepted
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := Parse("m.yml", []byte("items:\n  - code: A\n    minimum: "+tt.in+"\n"))
			require.NoError(t, err)
			got, ok := s.Minimum("GDG-01", "A", "", "")
			require.True(t, ok)
			require.Equal(t, tt.want, got)
			require.False(t, got == 0 && fmt.Sprint(1/got) == "-Inf", "negative zero kept")
		})
	}
	for _, in := range []string{"0o17", "0b11", "1_000", "-.inf", "!!str 5", "'5'", "|\n      5", "true", "5 kg", "{}"} {
		t.Run("reject "+in, func(t *testing.T) {
			_, err := Parse("m.yml", []byte("items:\n  - code: A\n    minimum: "+in+"\n"))
			require.ErrorContains(t, err, "m.yml:3: items[0].minimum: must be a ")
		})
	}
}

// TestCodesTakenAsWritten: a code that YAML would read as a number keeps its
// text, so 00123 matches the item coded "00123" in KartuStok.
func TestCodesTakenAsWritten(t *testing.T) {
	s, err := Parse("m.yml", []byte("items:\n  - code: 00123\n    minimum: 1\n  - code: 1e3\n    minimum: 2\n  - code: 'true'\n    minimum: 3\n"))
	require.NoError(t, err)
	for code, want := range map[string]float64{"00123": 1, "1e3": 2, "true": 3} {
		got, ok := s.Minimum("", code, "", "")
		require.True(t, ok, code)
		require.Equal(t, want, got, code)
	}
	_, ok := s.Minimum("", "123", "", "")
	require.False(t, ok)
}

// TestMissingFieldNotReportedAfterTypo: one mistake, one message.
func TestMissingFieldNotReportedAfterTypo(t *testing.T) {
	_, err := Parse("m.yml", []byte("items:\n  - cod: A\n    minimum: 1\n  - code: B\n    minumum: 2\n  - code: C\n    warehouses:\n      - kode: X\n        minimum: 1\n")) //nolint:misspell // the typo is the input under test
	require.EqualError(t, err, strings.Join([]string{
		`m.yml:2: items[0]: unknown field "cod", did you mean "code"?`,
		`m.yml:5: items[1]: unknown field "minumum", did you mean "minimum"?`, //nolint:misspell // the typo is the input under test
		`m.yml:8: items[2].warehouses[0]: unknown field "kode", did you mean "code"?`,
	}, "\n"))
}

func TestUnknownFieldWithoutSuggestion(t *testing.T) {
	_, err := Parse("m.yml", []byte("items:\n  - code: A\n    reorder_point: 1\n"))
	require.EqualError(t, err, `m.yml:3: items[0]: unknown field "reorder_point"`)
}

// TestEncodeMatchesParser keeps the encoder's YAML tags and the parser's
// field lists in step, so MarshalYAML cannot write a field Parse refuses.
func TestEncodeMatchesParser(t *testing.T) {
	tags := func(v any) []string {
		var out []string
		rt := reflect.TypeOf(v)
		for field := range rt.Fields() {
			out = append(out, strings.Split(field.Tag.Get("yaml"), ",")[0])
		}
		return out
	}
	require.ElementsMatch(t, topFields, tags(fileDoc{}))
	require.ElementsMatch(t, categoryFields, tags(categoryDoc{}))
	require.ElementsMatch(t, itemFields, tags(itemDoc{}))
	require.ElementsMatch(t, warehouseFields, tags(warehouseDoc{}))
}

func TestErrorsUnwrap(t *testing.T) {
	a, b := &Error{File: "f", Msg: "a"}, &Error{File: "f", Line: 2, Msg: "b"}
	err := error(Errors{a, b})
	require.ErrorIs(t, err, b)
	require.Equal(t, "f: a\nf:2: b", err.Error())
}

// TestOddShapes covers YAML shapes a hand-edited file rarely has but must
// still be refused with a located message.
func TestOddShapes(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			"list as a key", "items:\n  - ? [code]\n    : A\n    minimum: 1\n",
			`m.yml:2: items[0]: field names must be plain words, got a list`,
		},
		{
			"alias as a key", "items:\n  - &k code: A\n    *k : B\n",
			`m.yml:3: items[0]: field names must be plain words, got the alias *k (aliases are not supported)`,
		},
		{
			"warehouses as a mapping", "items:\n  - code: A\n    warehouses:\n      GDG-01: 5\n",
			`m.yml:4: items[0].warehouses: must be a list with one "- " entry each, got a mapping`,
		},
		{
			"warehouse entry as text", "items:\n  - code: A\n    warehouses:\n      - GDG-01\n",
			`m.yml:4: items[0].warehouses[0]: must be a mapping of fields, got "GDG-01"`,
		},
		{
			"category entry as a list", "categories:\n  - [Bahan Baku, 20]\n",
			`m.yml:2: categories[0]: must be a mapping of fields, got a list`,
		},
		{
			"empty warehouses", "items:\n  - code: A\n    warehouses:\n",
			`m.yml:2: items[0]: sets nothing: give minimum, total_minimum, lead_time_days or warehouses`,
		},
		{
			"categories as text", "categories: Bahan Baku\n",
			`m.yml:1: categories: must be a list with one "- " entry each, got "Bahan Baku"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("m.yml", []byte(tt.in))
			require.EqualError(t, err, tt.want)
		})
	}
}
