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
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xhit/go-str2duration/v2"
	"go.yaml.in/yaml/v3"

	"github.com/kartustok/kartustok_exporter/internal/settle"
	"github.com/kartustok/kartustok_exporter/internal/yamlfile"
	"github.com/kartustok/kartustok_exporter/kartustok"
)

// File is a parsed companies file.
type File struct {
	// Companies holds at least one company, in file order, with unique
	// names.
	Companies []Company
}

// Company is one company of the file. The optional overrides are nil when
// the file leaves them out, so that the caller fills them from the flag of
// the same name.
type Company struct {
	// Name is the value of the company label, valid as NameRule says and
	// unique in the file.
	Name string
	// URL is the base URL of the company's API as
	// kartustok.NormaliseBaseURL returns it, ending in /public/v1.
	URL string
	// TokenFile is the file holding the company's API token. Load makes a
	// relative path relative to the companies file's directory; Parse
	// keeps it as written. The file is not read here.
	TokenFile string
	// MinimumsFile is the company's minimums file, "" when it has none;
	// paths as for TokenFile. The file is not read here.
	MinimumsFile string
	// TokenExpiresAt is the token's expiry, read as
	// --kartustok.token-expires-at is; zero when not set.
	TokenExpiresAt time.Time

	// RateLimit overrides --kartustok.rate-limit; at least 1.
	RateLimit *int
	// RateLimitWindow overrides --kartustok.rate-limit-window; at least 1s.
	RateLimitWindow *time.Duration
	// Budget overrides --kartustok.budget; in (0, 1].
	Budget *float64
	// HealthInterval overrides --sync.health-interval; at least 1s.
	HealthInterval *time.Duration
	// CatalogInterval overrides --sync.catalog-interval; at least 1s.
	CatalogInterval *time.Duration
	// StockInterval overrides --sync.stock-interval; at least 1s.
	StockInterval *time.Duration
	// FullStockInterval overrides --sync.full-stock-interval; not negative.
	FullStockInterval *time.Duration
	// FlowInterval overrides --sync.flow-interval; 0 (off) or at least 1m.
	FlowInterval *time.Duration
	// MaxStaleness overrides --sync.max-staleness; at least 1s.
	MaxStaleness *time.Duration

	// Line is the line where the company's entry starts, and Index its
	// position in the file from 0, so that a problem found later, such
	// as a combination of values the flags complete, can be reported as
	// an Error at "companies[Index]" like those of Parse.
	Line, Index int
}

// NameRule is the rule a company name must match, as messages quote it.
const NameRule = "[a-z0-9_-]{1,63}"

var validName = regexp.MustCompile(`^` + NameRule + `$`)

// ValidName reports whether name is a valid company name.
func ValidName(name string) bool { return validName.MatchString(name) }

// Field names, shared by the decoder and the messages.
const (
	fieldCompanies         = "companies"
	fieldName              = "name"
	fieldURL               = "url"
	fieldTokenFile         = "token_file"
	fieldTokenExpiresAt    = "token_expires_at"
	fieldMinimumsFile      = "minimums_file"
	fieldRateLimit         = "rate_limit"
	fieldRateLimitWindow   = "rate_limit_window"
	fieldBudget            = "budget"
	fieldHealthInterval    = "health_interval"
	fieldCatalogInterval   = "catalog_interval"
	fieldStockInterval     = "stock_interval"
	fieldFullStockInterval = "full_stock_interval"
	fieldFlowInterval      = "flow_interval"
	fieldMaxStaleness      = "max_staleness"
)

var (
	topFields     = []string{fieldCompanies}
	companyFields = []string{
		fieldName, fieldURL, fieldTokenFile, fieldTokenExpiresAt, fieldMinimumsFile,
		fieldRateLimit, fieldRateLimitWindow, fieldBudget,
		fieldHealthInterval, fieldCatalogInterval, fieldStockInterval,
		fieldFullStockInterval, fieldFlowInterval, fieldMaxStaleness,
	}
)

// unknownHints explain unknown keys that are a likely misunderstanding
// rather than a typo.
var unknownHints = map[string]string{
	"token":     ": the token is never written in this file; give token_file, the file that holds it",
	"api_token": ": the token is never written in this file; give token_file, the file that holds it",
}

// Messages for a file that names no company at all.
const (
	msgNoDocument   = "the file holds no YAML document (it is empty or only comments); it must list at least one company under companies"
	msgNullDocument = `the file's YAML document is null (a bare "---", "null" or "~"); it must list at least one company under companies`
)

// Load reads and parses the companies file at path, and makes the relative
// token_file and minimums_file paths relative to the file's directory. It
// reads neither of those files. A file being rewritten in place is read
// once it has settled (package internal/settle), so that a reload never
// takes a half-written file, which may well be valid with fewer companies.
// Errors name the path as given, so operators see the file they configured.
func Load(path string) (*File, error) {
	data, err := settle.Read(path)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	f, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	for i := range f.Companies {
		c := &f.Companies[i]
		c.TokenFile = resolve(dir, c.TokenFile)
		c.MinimumsFile = resolve(dir, c.MinimumsFile)
	}
	return f, nil
}

// resolve makes a relative path relative to dir.
func resolve(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// Parse parses the contents of a companies file; name is used in error
// messages only. Relative paths are kept as written. On failure the error
// is an Errors listing every problem found.
func Parse(name string, data []byte) (*File, error) {
	p := &parser{&yamlfile.Parser{Name: name}}
	f := &File{}
	if root := p.Document(data, msgNoDocument, msgNullDocument); root != nil {
		p.top(root, f)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return f, nil
}

// top walks the root mapping.
func (p *parser) top(root *yaml.Node, f *File) {
	if root.Kind != yaml.MappingNode {
		p.Errorf(root, "", "the file must be a mapping with the key companies, got %s", yamlfile.Describe(root))
		return
	}
	fields, guessed := p.fields(root, "", topFields)
	list := fields[fieldCompanies]
	switch {
	case list == nil:
		if !guessed[fieldCompanies] {
			p.Errorf(root, "", "missing companies: the list of the companies to export")
		}
		return
	case yamlfile.IsNull(list) || list.Kind == yaml.SequenceNode && len(list.Content) == 0:
		p.Errorf(list, fieldCompanies, "must list at least one company")
		return
	case list.Kind != yaml.SequenceNode:
		p.Errorf(list, fieldCompanies, "must be a list with one \"- \" entry each, got %s", yamlfile.Describe(list))
		return
	}
	names := make(map[string]int, len(list.Content))
	for i, n := range list.Content {
		path := fmt.Sprintf("%s[%d]", fieldCompanies, i)
		// A valid name is checked for duplicates even when the rest of
		// its entry has problems, so that one run lists them all.
		c, ok := p.company(n, path, i)
		if c.Name == "" {
			continue
		}
		if first, dup := names[c.Name]; dup {
			p.Errorf(c.nameNode, yamlfile.Join(path, fieldName), "duplicate company %q (first at line %d)", c.Name, first)
			continue
		}
		names[c.Name] = c.nameNode.Line
		if ok {
			f.Companies = append(f.Companies, c.Company)
		}
	}
}

// parsedCompany is a company and the node of its name, for the message
// about a duplicate.
type parsedCompany struct {
	Company
	nameNode *yaml.Node
}

// company walks one entry of the companies list; ok is false when it has a
// problem. The name is set whenever it is valid.
func (p *parser) company(n *yaml.Node, path string, index int) (c parsedCompany, ok bool) {
	if !p.IsMapping(n, path) {
		return c, false
	}
	before := p.Count()
	f, guessed := p.fields(n, path, companyFields)
	c.Line, c.Index = n.Line, index
	for _, req := range []struct{ field, what string }{
		{fieldName, "the value of the company label"},
		{fieldURL, "the base URL of the company's API, https://<subdomain>.kartustok.com/public/v1"},
		{fieldTokenFile, "the file that holds the company's API token"},
	} {
		if f[req.field] == nil && !guessed[req.field] {
			p.Errorf(n, path, "missing %s: %s", req.field, req.what)
		}
	}
	if v := f[fieldName]; v != nil {
		c.nameNode = v
		if name, ok := p.Text(v, yamlfile.Join(path, fieldName)); ok {
			if ValidName(name) {
				c.Name = name
			} else {
				p.Errorf(v, yamlfile.Join(path, fieldName), "%q must match %s", name, NameRule)
			}
		}
	}
	if v := f[fieldURL]; v != nil {
		if raw, ok := p.Text(v, yamlfile.Join(path, fieldURL)); ok {
			u, err := kartustok.NormaliseBaseURL(raw)
			if err != nil {
				p.Errorf(v, yamlfile.Join(path, fieldURL), "%s", strings.TrimPrefix(err.Error(), "kartustok: "))
			}
			c.URL = u
		}
	}
	if v := f[fieldTokenFile]; v != nil {
		c.TokenFile, _ = p.Text(v, yamlfile.Join(path, fieldTokenFile))
	}
	if v := f[fieldMinimumsFile]; v != nil {
		c.MinimumsFile, _ = p.Text(v, yamlfile.Join(path, fieldMinimumsFile))
	}
	if v := f[fieldTokenExpiresAt]; v != nil {
		c.TokenExpiresAt = p.expiry(v, yamlfile.Join(path, fieldTokenExpiresAt))
	}
	if v := f[fieldRateLimit]; v != nil {
		c.RateLimit = p.rateLimit(v, yamlfile.Join(path, fieldRateLimit))
	}
	if v := f[fieldBudget]; v != nil {
		c.Budget = p.budget(v, yamlfile.Join(path, fieldBudget))
	}
	for _, d := range []struct {
		field string
		to    **time.Duration
		rule  durationRule
	}{
		{fieldRateLimitWindow, &c.RateLimitWindow, atLeastSecond},
		{fieldHealthInterval, &c.HealthInterval, atLeastSecond},
		{fieldCatalogInterval, &c.CatalogInterval, atLeastSecond},
		{fieldStockInterval, &c.StockInterval, atLeastSecond},
		{fieldFullStockInterval, &c.FullStockInterval, notNegative},
		{fieldFlowInterval, &c.FlowInterval, offOrMinute},
		{fieldMaxStaleness, &c.MaxStaleness, atLeastSecond},
	} {
		if v := f[d.field]; v != nil {
			*d.to = p.duration(v, yamlfile.Join(path, d.field), d.rule)
		}
	}
	return c, p.Count() == before
}

// expiry reads a token expiry as --kartustok.token-expires-at does: RFC
// 3339, or a bare date read as the start of that day in UTC, the earliest
// moment the token may stop working, so that an expiry alert is never late.
func (p *parser) expiry(n *yaml.Node, path string) time.Time {
	s, ok := p.Text(n, path)
	if !ok {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t
	}
	p.Errorf(n, path, "%q is neither RFC 3339 (2027-01-31T23:59:59+07:00) nor a date (2027-01-31)", s)
	return time.Time{}
}

// digits is the only integer syntax accepted: what a person writes. YAML's
// other forms (0x1F, 0o17, 1_000) are refused rather than read in a way the
// writer may not have meant.
var digits = regexp.MustCompile(`^[0-9]+$`)

// decimal is the only syntax accepted for a fraction.
var decimal = regexp.MustCompile(`^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$`)

// got describes a value that is not the number wanted: a plain number as
// written, anything else as describe does.
func got(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && !yamlfile.Quoted(n) && (n.Tag == "!!int" || n.Tag == "!!float") {
		return n.Value
	}
	return yamlfile.Describe(n)
}

// rateLimit reads a rate limit: a whole number ≥ 1.
func (p *parser) rateLimit(n *yaml.Node, path string) *int {
	const want = "must be a whole number ≥ 1"
	switch {
	case n.Kind == yaml.ScalarNode && yamlfile.Quoted(n) && digits.MatchString(n.Value):
		p.Errorf(n, path, "%s, got the text %q (remove the quotes)", want, n.Value)
	case n.Kind == yaml.ScalarNode && !yamlfile.Quoted(n) && digits.MatchString(n.Value):
		v, err := strconv.Atoi(n.Value)
		switch {
		case err != nil:
			p.Errorf(n, path, "%s, got %s, which is too large", want, n.Value)
		case v < 1:
			p.Errorf(n, path, "%s, got %s", want, n.Value)
		default:
			return &v
		}
	default:
		p.Errorf(n, path, "%s, got %s", want, got(n))
	}
	return nil
}

// budget reads a share of the rate limit: a number in (0, 1].
func (p *parser) budget(n *yaml.Node, path string) *float64 {
	const want = "must be a number in (0, 1]"
	switch {
	case n.Kind == yaml.ScalarNode && yamlfile.Quoted(n) && decimal.MatchString(n.Value):
		p.Errorf(n, path, "%s, got the text %q (remove the quotes)", want, n.Value)
	case n.Kind == yaml.ScalarNode && !yamlfile.Quoted(n) && decimal.MatchString(n.Value):
		v, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || !(v > 0 && v <= 1) {
			p.Errorf(n, path, "%s, got %s", want, n.Value)
			return nil
		}
		return &v
	default:
		p.Errorf(n, path, "%s, got %s", want, got(n))
	}
	return nil
}

// durationRule is the range of a duration, as the flag of the same name
// has it.
type durationRule int

const (
	atLeastSecond durationRule = iota // at least 1s
	notNegative                       // 0 or more
	offOrMinute                       // 0 (off) or at least 1m
)

// parseDuration reads a duration exactly as the flags do: kingpin's
// DurationVar parses with str2duration, which takes Go's syntax plus the
// units d and w.
var parseDuration = str2duration.ParseDuration

// duration reads a duration within rule.
func (p *parser) duration(n *yaml.Node, path string, rule durationRule) *time.Duration {
	const want = "must be a duration with a unit, such as 60s, 15m, 1h or 1d"
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.Errorf(n, path, "%s, got %s", want, yamlfile.Describe(n))
		return nil
	}
	d, err := parseDuration(n.Value)
	switch {
	case err != nil:
		p.Errorf(n, path, "%s, got %q", want, n.Value)
	case d < 0:
		p.Errorf(n, path, "must not be negative, got %s", n.Value)
	case rule == atLeastSecond && d < time.Second:
		p.Errorf(n, path, "must be at least 1s, got %s", n.Value)
	case rule == offOrMinute && d != 0 && d < time.Minute:
		p.Errorf(n, path, "must be 0 (off) or at least 1m, got %s", n.Value)
	default:
		return &d
	}
	return nil
}
