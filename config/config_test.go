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

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/settle"
)

// TestLoadInvalid gives the exact messages for every invalid file, so a
// change in wording or position is a deliberate one.
func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		file string
		want []string // each line without the file name
	}{
		{"invalid-empty.yml", []string{": " + msgNoDocument}},
		{"invalid-comments-only.yml", []string{": " + msgNoDocument}},
		{"invalid-null-document.yml", []string{": " + msgNullDocument}},
		{"invalid-two-documents.yml", []string{`:5: a second YAML document starts here; the file must hold exactly one`}},
		{"invalid-syntax.yml", []string{`:4: invalid YAML: did not find expected '-' indicator`}},
		{"invalid-root-list.yml", []string{`:1: the file must be a mapping with the key companies, got a list`}},

		// At least one company.
		{"invalid-no-companies.yml", []string{`:1: companies: must list at least one company`}},
		{"invalid-companies-null.yml", []string{`:2: companies: must list at least one company`}},
		{"invalid-empty-mapping.yml", []string{`:1: missing companies: the list of the companies to export`}},
		{"invalid-companies-mapping.yml", []string{`:2: companies: must be a list with one "- " entry each, got a mapping`}},
		{"invalid-entry-not-mapping.yml", []string{`:2: companies[0]: must be a mapping of fields, got "sinarjaya"`}},

		// Unknown and duplicate keys, at every level.
		{"invalid-unknown-top-field.yml", []string{`:1: unknown field "defaults"`}},
		{"invalid-misspelt-companies.yml", []string{`:1: unknown field "company", did you mean "companies"?`}},
		{"invalid-unknown-field.yml", []string{
			`:4: companies[0]: unknown field "toke_file", did you mean "token_file"?`,
			`:5: companies[0]: unknown field "timeout"`,
		}},
		{"invalid-token-field.yml", []string{
			`:2: companies[0]: missing token_file: the file that holds the company's API token`,
			`:4: companies[0]: unknown field "token": the token is never written in this file; give token_file, the file that holds it`,
		}},
		{"invalid-merge-key.yml", []string{
			`:1: unknown field "x-defaults"`,
			`:4: companies[0]: unknown field "<<"`,
		}},
		{"invalid-alias.yml", []string{`:9: companies[1].max_staleness: must be a duration with a unit, such as 60s, 15m, 1h or 1d, got the alias *long (aliases are not supported)`}},
		{"invalid-duplicate-key.yml", []string{`:5: companies[0]: field "name" given twice (first at line 2)`}},
		{"invalid-duplicate-companies-key.yml", []string{`:5: field "companies" given twice (first at line 1)`}},

		// Names.
		{"invalid-duplicate-name.yml", []string{
			`:8: companies[2].name: duplicate company "sinarjaya" (first at line 2)`,
			`:11: companies[2].budget: must be a number in (0, 1], got 2`,
		}},
		{"invalid-missing-fields.yml", []string{
			`:2: companies[0]: missing url: the base URL of the company's API, https://<subdomain>.kartustok.com/public/v1`,
			`:2: companies[0]: missing token_file: the file that holds the company's API token`,
			`:3: companies[1]: missing name: the value of the company label`,
		}},
		{"invalid-name.yml", []string{
			`:7: companies[1].name: "Sinar Jaya" must match [a-z0-9_-]{1,63}`,
			`:10: companies[2].name: "` + strings.Repeat("a", 64) + `" must match [a-z0-9_-]{1,63}`,
			`:13: companies[3].name: must not be empty`,
			`:16: companies[4].name: must be text, got a list`,
		}},

		// URLs and paths.
		{"invalid-url.yml", []string{
			`:3: companies[0].url: base URL "ftp://sinarjaya.kartustok.com/public/v1" must start with https:// (or http://), e.g. https://<subdomain>.kartustok.com/public/v1`,
			`:6: companies[1].url: base URL "https://sinarjaya.kartustok.com/public/v1/items" must be the API's root; use https://sinarjaya.kartustok.com/public/v1`,
			`:9: companies[2].url: base URL must not hold credentials; the token comes from a file or the environment`,
			`:12: companies[3].url: base URL "https:///public/v1" has no host; use https://<subdomain>.kartustok.com/public/v1`,
			`:15: companies[4].url: must not be empty`,
		}},
		{"invalid-paths.yml", []string{
			`:4: companies[0].token_file: must not be empty`,
			`:5: companies[0].minimums_file: must not be empty`,
		}},
		{"invalid-token-expires-at.yml", []string{
			`:5: companies[0].token_expires_at: "next year" is neither RFC 3339 (2027-01-31T23:59:59+07:00) nor a date (2027-01-31)`,
			`:9: companies[1].token_expires_at: "2027-01-31 23:59:59" is neither RFC 3339 (2027-01-31T23:59:59+07:00) nor a date (2027-01-31)`,
		}},

		// Overrides of the flags, in the flags' ranges.
		{"invalid-rate-limit.yml", []string{
			`:5: companies[0].rate_limit: must be a whole number ≥ 1, got 0`,
			`:9: companies[1].rate_limit: must be a whole number ≥ 1, got -5`,
			`:13: companies[2].rate_limit: must be a whole number ≥ 1, got 1.5`,
			`:17: companies[3].rate_limit: must be a whole number ≥ 1, got the text "120" (remove the quotes)`,
			`:21: companies[4].rate_limit: must be a whole number ≥ 1, got 0x78`,
			`:25: companies[5].rate_limit: must be a whole number ≥ 1, got 99999999999999999999, which is too large`,
		}},
		{"invalid-budget.yml", []string{
			`:5: companies[0].budget: must be a number in (0, 1], got 0`,
			`:9: companies[1].budget: must be a number in (0, 1], got 1.01`,
			`:13: companies[2].budget: must be a number in (0, 1], got "80%"`,
			`:17: companies[3].budget: must be a number in (0, 1], got .nan`,
			`:21: companies[4].budget: must be a number in (0, 1], got the text "0.5" (remove the quotes)`,
			`:25: companies[5].budget: must be a number in (0, 1], got an empty value`,
		}},
		{"invalid-durations.yml", []string{
			`:5: companies[0].rate_limit_window: must be a duration with a unit, such as 60s, 15m, 1h or 1d, got "60"`,
			`:6: companies[0].health_interval: must be at least 1s, got 0`,
			`:7: companies[0].catalog_interval: must be at least 1s, got 500ms`,
			`:8: companies[0].stock_interval: must not be negative, got -1m`,
			`:9: companies[0].full_stock_interval: must not be negative, got -15m`,
			`:10: companies[0].flow_interval: must be 0 (off) or at least 1m, got 30s`,
			`:11: companies[0].max_staleness: must be a duration with a unit, such as 60s, 15m, 1h or 1d, got a list`,
			`:15: companies[1].rate_limit_window: must be a duration with a unit, such as 60s, 15m, 1h or 1d, got "1 minute"`,
			`:16: companies[1].health_interval: must be a duration with a unit, such as 60s, 15m, 1h or 1d, got "1y"`,
			`:17: companies[1].max_staleness: must be a duration with a unit, such as 60s, 15m, 1h or 1d, got an empty value`,
		}},

		// Every problem of a file is listed, in line order, each once.
		{"invalid-several.yml", []string{
			`:5: companies[0]: unknown field "budgte", did you mean "budget"?`,
			`:6: companies[1].name: duplicate company "sinarjaya" (first at line 2)`,
			`:7: companies[1].url: base URL "sinarjaya.kartustok.com" must start with https:// (or http://), e.g. https://<subdomain>.kartustok.com/public/v1`,
			`:9: companies[1].rate_limit: must be a whole number ≥ 1, got "ten"`,
		}},
	}
	seen := make(map[string]bool)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			seen[path] = true
			f, err := Load(path)
			require.Error(t, err)
			require.Nil(t, f)
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = path + w
			}
			require.Equal(t, strings.Join(want, "\n"), err.Error())
			var list Errors
			require.ErrorAs(t, err, &list)
			require.Len(t, list, len(tt.want), "one Error per line")
		})
	}
	// A new invalid file without an expected message would test nothing.
	files, err := filepath.Glob(filepath.Join("testdata", "invalid-*.yml"))
	require.NoError(t, err)
	for _, f := range files {
		require.True(t, seen[f], "%s has no case in this table", f)
	}
}

// TestLoadGood reads every key, and resolves relative paths against the
// file's directory.
func TestLoadGood(t *testing.T) {
	path := filepath.Join("testdata", "good.yml")
	f, err := Load(path)
	require.NoError(t, err)

	require.Len(t, f.Companies, 3)
	expires := []time.Time{
		time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC),
		{},
		time.Date(2027, 1, 31, 16, 59, 59, 0, time.UTC),
	}
	for i := range f.Companies {
		require.True(t, expires[i].Equal(f.Companies[i].TokenExpiresAt), "companies[%d]: %s", i, f.Companies[i].TokenExpiresAt)
		f.Companies[i].TokenExpiresAt = time.Time{}
	}
	want := &File{Companies: []Company{
		{
			Name:              "sinarjaya",
			URL:               "https://sinarjaya.kartustok.com/public/v1",
			TokenFile:         "/etc/kartustok_exporter/sinarjaya.token",
			MinimumsFile:      filepath.Join("testdata", "sinarjaya-minimums.yml"),
			RateLimit:         new(120),
			RateLimitWindow:   new(60 * time.Second),
			Budget:            new(0.5),
			HealthInterval:    new(30 * time.Second),
			CatalogInterval:   new(15 * time.Minute),
			StockInterval:     new(time.Minute),
			FullStockInterval: new(15 * time.Minute),
			FlowInterval:      new(time.Hour),
			MaxStaleness:      new(30 * time.Minute),
			Line:              3,
			Index:             0,
		},
		{
			Name:      "majumundur",
			URL:       "https://majumundur.kartustok.com/public/v1",
			TokenFile: filepath.Join("testdata", "tokens", "majumundur.token"),
			Line:      17,
			Index:     1,
		},
		{
			Name:              "toko_baru-2",
			URL:               "http://kartustok.internal:8080/proxy/public/v1",
			TokenFile:         filepath.Join("testdata", "toko.token"),
			StockInterval:     new(90 * time.Minute),
			FullStockInterval: new(time.Duration(0)),
			FlowInterval:      new(time.Duration(0)),
			MaxStaleness:      new(24 * time.Hour),
			Line:              20,
			Index:             2,
		},
	}}
	require.Equal(t, want, f)
}

// TestParseKeepsPaths: Parse has no directory to resolve against, and Load
// leaves absolute paths alone.
func TestParseKeepsPaths(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "good.yml"))
	require.NoError(t, err)
	f, err := Parse("good.yml", data)
	require.NoError(t, err)
	require.Equal(t, "/etc/kartustok_exporter/sinarjaya.token", f.Companies[0].TokenFile)
	require.Equal(t, "sinarjaya-minimums.yml", f.Companies[0].MinimumsFile)
	require.Equal(t, "tokens/majumundur.token", f.Companies[1].TokenFile)
	require.Empty(t, f.Companies[1].MinimumsFile)

	dir := t.TempDir()
	path := filepath.Join(dir, "companies.yml")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	f, err = Load(path)
	require.NoError(t, err)
	require.Equal(t, "/etc/kartustok_exporter/sinarjaya.token", f.Companies[0].TokenFile)
	require.Equal(t, filepath.Join(dir, "sinarjaya-minimums.yml"), f.Companies[0].MinimumsFile)
	require.Equal(t, filepath.Join(dir, "tokens", "majumundur.token"), f.Companies[1].TokenFile)
	require.Empty(t, f.Companies[1].MinimumsFile, "no minimums file stays none")
}

// TestLoadDoesNotReadReferencedFiles: the token and minimums files are the
// caller's to check, as a start does; good.yml names files that do not
// exist.
func TestLoadDoesNotReadReferencedFiles(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "good.yml"))
	require.NoError(t, err)
	for _, c := range f.Companies {
		_, err := os.Stat(c.TokenFile)
		require.ErrorIs(t, err, fs.ErrNotExist, c.TokenFile)
	}
}

// company is a valid entry that a case of TestParseValues completes.
const company = "companies:\n  - name: sinarjaya\n    url: https://sinarjaya.kartustok.com\n    token_file: t\n"

// TestParseValues covers the syntax each kind of value accepts.
func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		extra string // appended to company
		check func(t *testing.T, c Company)
	}{
		{"a day", "    max_staleness: 1d\n", func(t *testing.T, c Company) { require.Equal(t, 24*time.Hour, *c.MaxStaleness) }},
		{"a week", "    catalog_interval: 1w\n", func(t *testing.T, c Company) { require.Equal(t, 7*24*time.Hour, *c.CatalogInterval) }},
		{"several units", "    stock_interval: 1h30m\n", func(t *testing.T, c Company) { require.Equal(t, 90*time.Minute, *c.StockInterval) }},
		{"a fraction", "    flow_interval: 1.5h\n", func(t *testing.T, c Company) { require.Equal(t, 90*time.Minute, *c.FlowInterval) }},
		{"a quoted duration", "    rate_limit_window: \"60s\"\n", func(t *testing.T, c Company) { require.Equal(t, time.Minute, *c.RateLimitWindow) }},
		{"exactly 1s", "    health_interval: 1s\n", func(t *testing.T, c Company) { require.Equal(t, time.Second, *c.HealthInterval) }},
		{"flow off", "    flow_interval: 0\n", func(t *testing.T, c Company) { require.Equal(t, time.Duration(0), *c.FlowInterval) }},
		{"flow at 1m", "    flow_interval: 1m\n", func(t *testing.T, c Company) { require.Equal(t, time.Minute, *c.FlowInterval) }},
		{"full stock 0", "    full_stock_interval: 0s\n", func(t *testing.T, c Company) { require.Equal(t, time.Duration(0), *c.FullStockInterval) }},
		{"rate limit 1", "    rate_limit: 1\n", func(t *testing.T, c Company) { require.Equal(t, 1, *c.RateLimit) }},
		{"rate limit with a leading zero", "    rate_limit: 0120\n", func(t *testing.T, c Company) { require.Equal(t, 120, *c.RateLimit) }},
		{"budget 1", "    budget: 1\n", func(t *testing.T, c Company) { require.Equal(t, 1.0, *c.Budget) }},
		{"budget as an exponent", "    budget: 5e-1\n", func(t *testing.T, c Company) { require.Equal(t, 0.5, *c.Budget) }},
		{"budget without a leading zero", "    budget: .25\n", func(t *testing.T, c Company) { require.Equal(t, 0.25, *c.Budget) }},
		{"a date", "    token_expires_at: 2027-01-31\n", func(t *testing.T, c Company) {
			require.Equal(t, time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), c.TokenExpiresAt)
		}},
		{"RFC 3339 in UTC", "    token_expires_at: 2027-01-31T23:59:59Z\n", func(t *testing.T, c Company) {
			require.Equal(t, time.Date(2027, 1, 31, 23, 59, 59, 0, time.UTC), c.TokenExpiresAt)
		}},
		{"nothing set", "", func(t *testing.T, c Company) {
			require.Equal(t, Company{Name: "sinarjaya", URL: "https://sinarjaya.kartustok.com/public/v1", TokenFile: "t", Line: 2}, c)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("companies.yml", []byte(company+tt.extra))
			require.NoError(t, err)
			require.Len(t, f.Companies, 1)
			tt.check(t, f.Companies[0])
		})
	}
}

// TestParseForms: the same file in the other forms YAML allows parses the
// same, and a name is taken as written.
func TestParseForms(t *testing.T) {
	want, err := Parse("a.yml", []byte(company))
	require.NoError(t, err)
	for name, in := range map[string]string{
		"CRLF":              strings.ReplaceAll(company, "\n", "\r\n"),
		"byte order mark":   "\ufeff" + company,
		"document markers":  "---\n" + company + "...\n",
		"comments":          "# companies\n" + strings.Replace(company, "t\n", "t # token\n", 1),
		"flow style":        "companies: [{name: sinarjaya, url: 'https://sinarjaya.kartustok.com', token_file: t}]\n",
		"quoted everything": "\"companies\":\n  - \"name\": \"sinarjaya\"\n    'url': 'https://sinarjaya.kartustok.com'\n    token_file: \"t\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			f, err := Parse("a.yml", []byte(in))
			require.NoError(t, err)
			require.Len(t, f.Companies, 1)
			got := f.Companies[0]
			got.Line = want.Companies[0].Line
			require.Equal(t, want.Companies[0], got)
		})
	}

	f, err := Parse("a.yml", []byte(strings.Replace(company, "sinarjaya\n", "0123\n", 1)))
	require.NoError(t, err)
	require.Equal(t, "0123", f.Companies[0].Name, "a name of digits stays as written")
}

// TestDurationsLikeFlags: a duration in the file reads as the flag of the
// same name reads it, so that a value can move between the two.
func TestDurationsLikeFlags(t *testing.T) {
	for _, s := range []string{
		"0", "0s", "60s", "15m", "1h", "1d", "1w", "1h30m", "1.5h", "2d12h", "300ms", "1us", "1µs", "+5m", "-1m",
		"", "60", "1y", "1 m", "1M", "1H", "h", ".s", "1.", "1e3s", "9999999999999h", "1m-1s",
	} {
		app := kingpin.New("test", "")
		var flag time.Duration
		app.Flag("d", "").DurationVar(&flag)
		_, flagErr := app.Parse([]string{"--d=" + s})
		d, err := parseDuration(s)
		if flagErr != nil {
			require.Error(t, err, "%q: the flag refuses it: %v", s, flagErr)
			continue
		}
		require.NoError(t, err, "%q: the flag takes it", s)
		require.Equal(t, flag, d, "%q", s)
	}
}

// TestTooManyProblems: a file with many problems reports the first ones
// and how many more there are.
func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("companies:\n")
	for i := range 13 {
		fmt.Fprintf(&b, "  - name: c%d\n    url: https://c%d.kartustok.com\n    token_file: t\n    budget: 2\n", i, i)
	}
	_, err := Parse("companies.yml", []byte(b.String()))
	var list Errors
	require.ErrorAs(t, err, &list)
	require.Len(t, list, maxErrors+1)
	require.Equal(t, "companies.yml:5: companies[0].budget: must be a number in (0, 1], got 2", list[0].Error())
	require.Equal(t, "companies.yml: 3 more problems not shown", list[maxErrors].Error())
}

// TestErrorFields lets callers take a problem apart, for instance to log
// the line and the path as separate fields.
func TestErrorFields(t *testing.T) {
	_, err := Parse("companies.yml", []byte(company+"    rate_limit: 0\n"))
	var list Errors
	require.ErrorAs(t, err, &list)
	require.Equal(t, Errors{{File: "companies.yml", Line: 5, Path: "companies[0].rate_limit", Msg: "must be a whole number ≥ 1, got 0"}}, list)
	var first *Error
	require.ErrorAs(t, err, &first)
	require.Equal(t, 5, first.Line)
	require.ErrorIs(t, err, list[0], "errors.Is finds a listed problem")
}

// TestNoSecretInErrors: neither a token written by mistake in the file nor
// a password in a URL appears in the messages.
func TestNoSecretInErrors(t *testing.T) {
	for _, in := range []string{
		company + "    token: ks_live_secret\n",
		company + "    TOKEN: ks_live_secret\n",
		company + "    api_token: ks_live_secret\n",
		strings.Replace(company, "https://", "https://admin:ks_live_secret@", 1),
		strings.Replace(company, "https://", "https://ks_live_secret@", 1),
	} {
		_, err := Parse("companies.yml", []byte(in))
		require.Error(t, err, in)
		require.NotContains(t, err.Error(), "ks_live_secret")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "companies.yml"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorContains(t, err, "reading config file: ")
}

func TestValidName(t *testing.T) {
	for _, name := range []string{"a", "sinarjaya", "toko_baru-2", "0", "-", "_", strings.Repeat("z", 63)} {
		require.True(t, ValidName(name), "%q", name)
	}
	for _, name := range []string{"", "Sinarjaya", "sinar jaya", "sinar.jaya", "toko/1", "é", "a\n", strings.Repeat("z", 64)} {
		require.False(t, ValidName(name), "%q", name)
	}
}

func TestClosest(t *testing.T) {
	for s, want := range map[string]string{
		"nama":           fieldName,
		"URL":            fieldURL,
		"tokenfile":      fieldTokenFile,
		"budgets":        fieldBudget,
		"max_stale":      fieldMaxStaleness,
		"health":         fieldHealthInterval,
		"full_stock":     fieldFullStockInterval,
		"token":          "", // token_file or token_expires_at
		"stock":          fieldStockInterval,
		"timeout":        "",
		"interval":       "",
		"rate_limit_win": fieldRateLimitWindow,
	} {
		require.Equal(t, want, closest(s, companyFields), "%q", s)
	}
	require.Equal(t, fieldCompanies, closest("company", topFields))
}

// TestDocExample: the example file in the package documentation, which the
// documentation of the exporter quotes, is valid.
func TestDocExample(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	var b strings.Builder
	in := false
	for line := range strings.Lines(string(src)) {
		switch {
		case line == "//\tcompanies:\n":
			in = true
		case in && !strings.HasPrefix(line, "//\t"):
			in = false
		}
		if in {
			b.WriteString(strings.TrimPrefix(line, "//\t"))
		}
	}
	f, err := Parse("doc.go", []byte(b.String()))
	require.NoError(t, err, b.String())
	require.Len(t, f.Companies, 2)
	c := f.Companies[0]
	for _, set := range []bool{
		!c.TokenExpiresAt.IsZero(), c.MinimumsFile != "", c.RateLimit != nil, c.RateLimitWindow != nil, c.Budget != nil,
		c.HealthInterval != nil, c.CatalogInterval != nil, c.StockInterval != nil, c.FullStockInterval != nil,
		c.FlowInterval != nil, c.MaxStaleness != nil,
	} {
		require.True(t, set, "the example sets every key")
	}
}

// A companies file rewritten in place is read only once the writer has
// finished: a prefix cut after the first company is a valid file that
// would drop the second.
func TestLoadWaitsForAFileRewrittenInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "companies.yml")
	full := "companies:\n" +
		"  - name: a\n    url: https://a.kartustok.com/public/v1\n    token_file: a.token\n" +
		"  - name: b\n    url: https://b.kartustok.com/public/v1\n    token_file: b.token\n"
	half, _, _ := strings.Cut(full, "  - name: b")
	require.NoError(t, os.WriteFile(path, []byte(half), 0o600))
	loaded := make(chan *File, 1)
	go func() {
		f, err := Load(path)
		assert.NoError(t, err)
		loaded <- f
	}()
	// The writer finishes well within the settle time of its first write.
	time.Sleep(settle.Time / 3)
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = fh.WriteString(full[len(half):])
	require.NoError(t, err)
	require.NoError(t, fh.Close())
	f := <-loaded
	require.NotNil(t, f)
	assert.Len(t, f.Companies, 2, "the half-written file was taken")
}
