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
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
)

func loadExample(t testing.TB) *Set {
	t.Helper()
	s, err := Load("testdata/example.yml")
	require.NoError(t, err)
	return s
}

// TestMinimumPrecedence walks the precedence rule on the example file:
// item's warehouse entry > item's minimum > category's minimum > not set
// (KartuStok's own applies).
func TestMinimumPrecedence(t *testing.T) {
	s := loadExample(t)
	tests := []struct {
		name                                    string
		locator, item, categoryID, categoryName string
		want                                    float64
		wantOK                                  bool
	}{
		{"warehouse entry beats item minimum", "GDG-01", "KS-00001", "Qm3x8a", "Bahan Baku", 60, true},
		{"zero warehouse entry is an override", "GDG-02", "KS-00001", "Qm3x8a", "Bahan Baku", 0, true},
		{"item minimum in other warehouses", "GDG-03", "KS-00001", "Qm3x8a", "Bahan Baku", 10, true},
		{"item minimum without a locator code", "", "KS-00001", "", "", 10, true},
		{"warehouse entry without item minimum", "GDG-01", "KS-00002", "Qm3x8a", "Bahan Baku", 5, true},
		{"category minimum where the item sets none", "GDG-02", "KS-00002", "Qm3x8a", "Bahan Baku", 20, true},
		{"item listed, no category, no entry here", "GDG-02", "KS-00002", "", "", 0, false},
		{"unlisted item of a listed category", "GDG-01", "KS-00003", "Qm3x8a", "Bahan Baku", 20, true},
		{"category by id sets only a total", "GDG-01", "KS-00003", "Qm3x9b", "Barang Jadi", 0, false},
		{"category by id shadows the same category by name", "GDG-01", "KS-00003", "Qm3x9b", "Bahan Baku", 0, false},
		{"item with only a total minimum", "GDG-01", "00123", "", "", 0, false},
		{"codes are case-sensitive", "GDG-01", "ks-00001", "", "", 0, false},
		{"warehouse codes are case-sensitive", "gdg-01", "KS-00001", "", "", 10, true},
		{"unknown everything", "GDG-09", "KS-99999", "Zz", "Lain-lain", 0, false},
		{"empty arguments match nothing", "", "", "", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.Minimum(tt.locator, tt.item, tt.categoryID, tt.categoryName)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestTotalMinimumPrecedence: item's total_minimum > category's > not set.
func TestTotalMinimumPrecedence(t *testing.T) {
	s := loadExample(t)
	tests := []struct {
		name                           string
		item, categoryID, categoryName string
		want                           float64
		wantOK                         bool
	}{
		{"item total", "KS-00001", "Qm3x8a", "Bahan Baku", 40, true},
		{"item total beats category by id", "KS-00001", "Qm3x9b", "", 40, true},
		{"category total by name", "KS-00002", "Qm3x8a", "Bahan Baku", 50, true},
		{"category by id beats category by name", "KS-00002", "Qm3x9b", "Bahan Baku", 12.5, true},
		{"category by id for an unlisted item", "KS-00777", "Qm3x9b", "Barang Jadi", 12.5, true},
		{"quoted numeric code", "00123", "", "", 100, true},
		{"listed item without total or category", "KS-00002", "", "", 0, false},
		{"nothing matches", "KS-99999", "Zz", "Lain-lain", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.TotalMinimum(tt.item, tt.categoryID, tt.categoryName)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestListedCodes(t *testing.T) {
	s := loadExample(t)
	require.Equal(t, []string{"KS-00001", "KS-00002", "00123"}, s.ItemCodes())
	require.Equal(t, []string{"GDG-01", "GDG-02"}, s.WarehouseCodes("KS-00001"))
	require.Equal(t, []string{"GDG-01"}, s.WarehouseCodes("KS-00002"))
	require.Nil(t, s.WarehouseCodes("00123"))
	require.Nil(t, s.WarehouseCodes("KS-99999"))
	empty, err := Parse("empty.yml", []byte("items: []\n"))
	require.NoError(t, err)
	require.Empty(t, empty.ItemCodes())
}

// TestConcurrentLookups: a reload swaps the set while scrapes read it, so
// lookups must not write anything (run with -race).
func TestConcurrentLookups(t *testing.T) {
	s := loadExample(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				s.Minimum("GDG-01", "KS-00001", "Qm3x8a", "Bahan Baku")
				s.TotalMinimum("KS-00002", "Qm3x9b", "Bahan Baku")
				s.Summary()
				s.WarehouseCodes("KS-00001")
			}
		})
	}
	wg.Wait()
}

// TestNilSet: no file configured means every lookup falls through to
// KartuStok's values, with no nil checks at the call sites.
func TestNilSet(t *testing.T) {
	var s *Set
	_, ok := s.Minimum("GDG-01", "KS-00001", "Qm3x8a", "Bahan Baku")
	require.False(t, ok)
	_, ok = s.TotalMinimum("KS-00001", "Qm3x8a", "Bahan Baku")
	require.False(t, ok)
	require.Zero(t, s.Len())
	require.Zero(t, s.Summary())
	require.Empty(t, s.Name())
	require.Nil(t, s.ItemCodes())
	require.Nil(t, s.WarehouseCodes("KS-00001"))
	require.Empty(t, s.Check(Catalog{ItemCodes: []string{}}))
	doc, err := s.MarshalYAML()
	require.NoError(t, err)
	require.Equal(t, fileDoc{}, doc)
	// yaml.Marshal writes the nil set (no file) as null, which a file may
	// not hold: it writes no minimums, so it reads back as an error.
	out, err := yaml.Marshal(s)
	require.NoError(t, err)
	require.Equal(t, "null\n", string(out))
	_, err = Parse("null.yml", out)
	require.ErrorContains(t, err, "null.yml: the file's YAML document is null")
	// An empty set is written as an explicit empty document, which does
	// read back as an empty set.
	empty, err := Parse("empty.yml", []byte("items: []\n"))
	require.NoError(t, err)
	out, err = yaml.Marshal(empty)
	require.NoError(t, err)
	again, err := Parse("empty-again.yml", out)
	require.NoError(t, err)
	require.Zero(t, again.Len())
}

// TestMarshalRoundTrip: what MarshalYAML writes parses back to the same
// minimums, so the exporter can show operators the set in force.
func TestMarshalRoundTrip(t *testing.T) {
	s := loadExample(t)
	out, err := yaml.Marshal(s)
	require.NoError(t, err)
	require.Equal(t, `lead_time_days: 7
categories:
    - name: Bahan Baku
      minimum: 20
      total_minimum: 50
      lead_time_days: 14
    - id: Qm3x9b
      total_minimum: 12.5
items:
    - code: KS-00001
      minimum: 10
      total_minimum: 40
      lead_time_days: 3
      warehouses:
        - code: GDG-01
          minimum: 60
        - code: GDG-02
          minimum: 0
    - code: KS-00002
      warehouses:
        - code: GDG-01
          minimum: 5
    - code: "00123"
      total_minimum: 100
`, string(out))
	requireSameMinimums(t, s, "example.yml again", out)

	// The example also decodes with yaml.v3's own strict decoder into the
	// encoder's structs, to the same document.
	data, err := os.ReadFile("testdata/example.yml")
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var strict fileDoc
	require.NoError(t, dec.Decode(&strict))
	doc, err := s.MarshalYAML()
	require.NoError(t, err)
	require.Equal(t, doc, strict)
}

// TestCheck reports the entries that match nothing in the company's
// catalog, with a hint when only case or spacing differs.
func TestCheck(t *testing.T) {
	s, err := Parse("minimums.yml", []byte(`categories:
  - id: Qm3x9b
    minimum: 1
  - name: Barang Jadi
    minimum: 2
  - name: bahan  baku
    minimum: 3
  - id: Zz
    minimum: 4
items:
  - code: KS-00001
    minimum: 1
  - code: ks-00002
    minimum: 1
  - code: KS-00404
    warehouses:
      - code: GDG-01
        minimum: 1
      - code: GDG-1
        minimum: 1
`))
	require.NoError(t, err)
	catalog := Catalog{
		ItemCodes:      []string{"KS-00001", "KS-00002"},
		WarehouseCodes: []string{"GDG-01", "GDG-02"},
		Categories:     []Category{{ID: "Qm3x8a", Name: "Bahan Baku"}, {ID: "Qm3x9b", Name: "Barang Jadi"}},
	}
	var got []string
	for _, w := range s.Check(catalog) {
		got = append(got, w.Error())
	}
	require.Equal(t, []string{
		`minimums.yml:4: categories[1]: has no effect: category "Barang Jadi" is also given by id at line 2, which takes precedence`,
		`minimums.yml:6: categories[2].name: no category named "bahan  baku" in KartuStok (did you mean "Bahan Baku"?)`,
		`minimums.yml:8: categories[3].id: no category with id "Zz" in KartuStok`,
		`minimums.yml:13: items[1].code: no item with code "ks-00002" in KartuStok (did you mean "KS-00002"?)`,
		`minimums.yml:15: items[2].code: no item with code "KS-00404" in KartuStok`,
		`minimums.yml:19: items[2].warehouses[1].code: no warehouse with code "GDG-1" in KartuStok`,
	}, got)

	// Unknown parts of the catalog are not checked (nil), while a known
	// empty list makes every entry of that kind unmatched.
	require.Empty(t, s.Check(Catalog{}))
	warns := s.Check(Catalog{WarehouseCodes: []string{}})
	require.Len(t, warns, 2)
	require.Equal(t, "items[2].warehouses[0].code", warns[0].Path)
	require.Equal(t, 17, warns[0].Line)
}

// requireSameMinimums parses data and requires that it answers every lookup
// s can answer the same way, and has the same shape.
func requireSameMinimums(t testing.TB, s *Set, name string, data []byte) {
	t.Helper()
	again, err := Parse(name, data)
	require.NoError(t, err, "re-parsing %q", data)
	require.Equal(t, s.Summary(), again.Summary())
	answer := func(v float64, ok bool) optional { return optional{value: v, set: ok} }
	for _, it := range s.items {
		for _, w := range it.warehouses {
			v, ok := again.Minimum(w.code, it.code, "", "")
			require.True(t, ok)
			require.Equal(t, w.minimum, v)
		}
		require.Equal(t, it.minimum, answer(again.Minimum("\x00no such warehouse", it.code, "", "")))
		require.Equal(t, it.totalMinimum, answer(again.TotalMinimum(it.code, "", "")))
	}
	for _, c := range s.categories {
		require.Equal(t, c.minimum, answer(again.Minimum("", "\x00no such item", c.id, c.name)))
		require.Equal(t, c.totalMinimum, answer(again.TotalMinimum("\x00no such item", c.id, c.name)))
	}
}

// checkInvariants holds what every parsed set must satisfy, whatever input
// it came from: the indexes agree with the entries, and every value stored
// is one the file format allows.
func checkInvariants(t testing.TB, s *Set) {
	t.Helper()
	valid := func(o optional) bool {
		return !o.set || (o.value >= 0 && !math.IsInf(o.value, 0) && !math.IsNaN(o.value))
	}
	require.Len(t, s.byItem, len(s.items))
	require.Len(t, s.byCatID, countIf(s.categories, func(c *category) bool { return c.id != "" }))
	require.Len(t, s.byCatName, countIf(s.categories, func(c *category) bool { return c.name != "" }))
	for i, c := range s.categories {
		require.Equal(t, i, c.index)
		require.NotEqual(t, c.id == "", c.name == "", "exactly one of id and name")
		require.True(t, c.minimum.set || c.totalMinimum.set || c.leadTime.set, "category sets something")
		require.True(t, valid(c.minimum) && valid(c.totalMinimum) && valid(c.leadTime))
		if c.id != "" {
			require.Same(t, c, s.byCatID[c.id])
		} else {
			require.Same(t, c, s.byCatName[c.name])
		}
	}
	for i, it := range s.items {
		require.Equal(t, i, it.index)
		require.NotEmpty(t, strings.TrimSpace(it.code))
		require.Same(t, it, s.byItem[it.code])
		require.True(t, it.minimum.set || it.totalMinimum.set || len(it.warehouses) > 0, "item sets something")
		require.True(t, valid(it.minimum) && valid(it.totalMinimum))
		require.Len(t, it.byWarehouse, len(it.warehouses))
		for _, w := range it.warehouses {
			require.NotEmpty(t, strings.TrimSpace(w.code))
			require.True(t, valid(optional{value: w.minimum, set: true}))
			require.False(t, w.minimum == 0 && math.Signbit(w.minimum), "negative zero")
			require.Equal(t, w.minimum, it.byWarehouse[w.code])
		}
	}
}

func countIf[T any](list []T, f func(T) bool) int {
	n := 0
	for _, v := range list {
		if f(v) {
			n++
		}
	}
	return n
}

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, a failure
// must be a list of located problems, and a success must be a consistent
// set that survives encoding and parsing again unchanged.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"categories:\n  - name: A\n    minimum: 1\nitems:\n  - code: B\n    total_minimum: 2.5\n    warehouses:\n      - code: C\n        minimum: 0\n",
		"items:\n  - code: 00123\n    minimum: -0\n",
		"items:\n  - code: \"a: b\"\n    minimum: 1e3\n",
		"categories:\n  - id: X\n    total_minimum: .inf\n",
		"items: [{code: A, minimum: 1}, {code: A, minimum: 2}]\n",
		"a: &x [*x]\n",
		"---\n...\n",
		"items:\n  - code: A\n    minimum: 10\n---\n",
	} {
		f.Add([]byte(seed))
	}
	if data, err := readTestdata(); err == nil {
		for _, d := range data {
			f.Add(d)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yml", data)
		if err != nil {
			require.Nil(t, s)
			testkit.RequireFileErrors(t, err, "fuzz.yml", data)
			return
		}
		require.NotNil(t, s)
		checkInvariants(t, s)
		requireKnownFields(t, data)
		out, err := yaml.Marshal(s)
		require.NoError(t, err)
		requireSameMinimums(t, s, "fuzz-again.yml", out)
		again, err := Parse("fuzz-again.yml", out)
		require.NoError(t, err)
		out2, err := yaml.Marshal(again)
		require.NoError(t, err)
		require.Equal(t, string(out), string(out2), "encoding is stable")
	})
}

// requireKnownFields decodes an accepted file the way yaml.v3 decodes
// strictly, into the encoder's structs with KnownFields, so the parser is
// never laxer about field names than yaml.v3 itself. Other differences are
// deliberate (0123 is decimal here, octal there) and not compared.
func requireKnownFields(t testing.TB, data []byte) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc fileDoc
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		require.NotContains(t, err.Error(), "not found in type", "yaml.v3 refuses a field name the parser accepted")
		require.NotContains(t, err.Error(), "already defined", "yaml.v3 refuses a duplicate key the parser accepted")
	}
}

// readTestdata returns every file in testdata, as fuzz seeds.
func readTestdata() ([][]byte, error) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yml"))
	if err != nil {
		return nil, err
	}
	var data [][]byte
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		data = append(data, d)
	}
	return data, nil
}

// BenchmarkMinimum measures the lookups the collector makes per series, for
// a company of 5000 items in 20 warehouses with a file that lists every item
// and a few warehouse exceptions each, plus category defaults.
func BenchmarkMinimum(b *testing.B) {
	const items, warehouses = 5000, 20
	s := benchmarkSet(b, items, warehouses)
	itemCodes := make([]string, items)
	for i := range itemCodes {
		itemCodes[i] = fmt.Sprintf("KS-%05d", i)
	}
	locators := make([]string, warehouses)
	for i := range locators {
		locators[i] = fmt.Sprintf("GDG-%02d", i)
	}
	b.Run("per-warehouse", func(b *testing.B) {
		found := 0
		for b.Loop() {
			for _, code := range itemCodes {
				for _, loc := range locators {
					if _, ok := s.Minimum(loc, code, "Qm3x8a", "Bahan Baku"); ok {
						found++
					}
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items*warehouses), "ns/lookup")
		require.NotZero(b, found)
	})
	b.Run("total", func(b *testing.B) {
		found := 0
		for b.Loop() {
			for _, code := range itemCodes {
				if _, ok := s.TotalMinimum(code, "Qm3x8a", "Bahan Baku"); ok {
					found++
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items), "ns/lookup")
		require.NotZero(b, found)
	})
}

// BenchmarkParse measures a reload of the file BenchmarkMinimum uses.
func BenchmarkParse(b *testing.B) {
	data := benchmarkFile(5000, 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("minimums.yml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkSet(b *testing.B, items, warehouses int) *Set {
	s, err := Parse("minimums.yml", benchmarkFile(items, warehouses))
	require.NoError(b, err)
	require.Equal(b, items, s.Summary().Items)
	return s
}

// benchmarkFile lists every other item with a minimum and every third with
// exceptions in a quarter of the warehouses, so lookups take every path.
func benchmarkFile(items, warehouses int) []byte {
	var b strings.Builder
	b.WriteString("categories:\n  - name: Bahan Baku\n    minimum: 20\n    total_minimum: 50\n  - id: Qm3x8a\n    total_minimum: 60\nitems:\n")
	for i := range items {
		fmt.Fprintf(&b, "  - code: KS-%05d\n", i)
		if i%2 == 0 {
			fmt.Fprintf(&b, "    minimum: %d\n    total_minimum: %d\n", i%50, i%90)
		}
		if i%3 == 0 || i%2 != 0 {
			b.WriteString("    warehouses:\n")
			for w := 0; w < warehouses; w += 4 {
				fmt.Fprintf(&b, "      - code: GDG-%02d\n        minimum: %d.5\n", w, w)
			}
		}
	}
	return []byte(b.String())
}

// TestLeadTime: the item's lead time wins over its category's, which wins
// over the file's; without any, none is set (the exporter uses 7 days).
func TestLeadTime(t *testing.T) {
	s := loadExample(t)
	for _, tc := range []struct {
		name                 string
		code, catID, catName string
		want                 float64
	}{
		{"item's own", "KS-00001", "Qm3x8a", "Bahan Baku", 3},
		{"category's", "KS-00002", "Qm3x8a", "Bahan Baku", 14},
		{"file's", "KS-00002", "other", "Lainnya", 7},
		{"unknown item, file's", "KS-99999", "", "", 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := s.LeadTime(tc.code, tc.catID, tc.catName)
			require.True(t, ok)
			assert.InDelta(t, tc.want, v, 0)
		})
	}
	bare, err := Parse("m.yml", []byte("items: []\n"))
	require.NoError(t, err)
	_, ok := bare.LeadTime("KS-00001", "", "")
	assert.False(t, ok, "a file without lead times sets none")
	var none *Set
	_, ok = none.LeadTime("KS-00001", "", "")
	assert.False(t, ok)

	_, err = Parse("m.yml", []byte("lead_time_days: -1\n"))
	require.EqualError(t, err, "m.yml:1: lead_time_days: must be a number ≥ 0, got -1")
	only, err := Parse("m.yml", []byte("categories:\n  - name: X\n    lead_time_days: 2\nitems:\n  - code: A\n    lead_time_days: 1\n"))
	require.NoError(t, err, "a lead time alone is a setting")
	v, _ := only.LeadTime("A", "", "X")
	assert.InDelta(t, 1.0, v, 0)
}
