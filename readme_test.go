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
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The documentation the tests below keep true.
const (
	readmePath        = "README.md"
	docsDir           = "docs"
	metricsDocPath    = "docs/metrics.md"
	operationDocPath  = "docs/operation.md"
	readmeMaxLines    = 300
	generatedBegin    = "<!-- BEGIN GENERATED: name type labels help -->"
	generatedEnd      = "<!-- END GENERATED -->"
	metricsDocUpdater = "go test . -run TestDocsMetricsReference -update"
)

// goldenFamily is one metric family of the golden exposition.
type goldenFamily struct {
	name, typ, help string
	labels          []string // in the order the samples first show them
}

// parseGolden reads the families of a text-format exposition: the # HELP
// and # TYPE lines, and the label names of the samples that follow them.
// Sample values are not read (the golden file replaces some by <timing>).
func parseGolden(text string) ([]goldenFamily, error) {
	var fams []goldenFamily
	family := func(name string) *goldenFamily {
		if len(fams) == 0 || fams[len(fams)-1].name != name {
			fams = append(fams, goldenFamily{name: name})
		}
		return &fams[len(fams)-1]
	}
	for n, line := range strings.Split(text, "\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "# HELP "):
			name, help, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			family(name).help = unescapeHelp(help)
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			family(name).typ = typ
		case strings.HasPrefix(line, "#"):
		default:
			if len(fams) == 0 {
				return nil, fmt.Errorf("line %d: a sample before any # TYPE", n+1)
			}
			f := &fams[len(fams)-1]
			end := strings.IndexAny(line, "{ ")
			if end < 0 {
				return nil, fmt.Errorf("line %d: no value: %q", n+1, line)
			}
			name := line[:end]
			suffix, ok := strings.CutPrefix(name, f.name)
			if !ok || suffix != "" && !slices.Contains([]string{"_bucket", "_sum", "_count", "_created"}, suffix) {
				return nil, fmt.Errorf("line %d: sample %s after # TYPE %s", n+1, name, f.name)
			}
			if line[end] != '{' {
				continue
			}
			names, err := labelNames(line[end+1:])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n+1, err)
			}
			for _, l := range names {
				if (l == "le" && f.typ == "histogram") || (l == "quantile" && f.typ == "summary") {
					continue
				}
				if !slices.Contains(f.labels, l) {
					f.labels = append(f.labels, l)
				}
			}
		}
	}
	for _, f := range fams {
		if f.typ == "" || f.help == "" {
			return nil, fmt.Errorf("%s: no # TYPE or no # HELP", f.name)
		}
	}
	return fams, nil
}

// labelNames returns the label names of a sample's label set, s being what
// follows its opening brace.
func labelNames(s string) ([]string, error) {
	var names []string
	for {
		if strings.HasPrefix(s, "}") {
			return names, nil
		}
		name, rest, ok := strings.Cut(s, `="`)
		if !ok {
			return nil, fmt.Errorf("unreadable labels %q", s)
		}
		names = append(names, name)
		i := 0
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' {
				i++
			}
		}
		if i >= len(rest) {
			return nil, fmt.Errorf("unterminated label value in %q", s)
		}
		s = strings.TrimPrefix(rest[i+1:], ",")
	}
}

// unescapeHelp undoes the text format's escaping of a HELP text.
func unescapeHelp(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\n`, " ").Replace(s)
}

// markdownCell escapes text for a cell of a markdown table.
var markdownCell = strings.NewReplacer(`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`,
	"[", `\[`, "]", `\]`, "&", "&amp;", "<", "&lt;").Replace

// metricsTable renders the generated part of docs/metrics.md.
func metricsTable(fams []goldenFamily) string {
	var b strings.Builder
	b.WriteString("| metric | type | labels | HELP |\n|---|---|---|---|\n")
	for _, f := range fams {
		labels := "—"
		if len(f.labels) > 0 {
			labels = "`" + strings.Join(f.labels, "`, `") + "`"
		}
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s |\n", f.name, f.name, f.typ, labels, markdownCell(f.help))
	}
	return b.String()
}

// readFamilies returns every kartustok_ family the exporter can serve: those
// of the golden exposition (one company, from the flags), then those served
// only with --config.file, gathered from the fleet's own collectors.
func readFamilies(t *testing.T) []goldenFamily {
	t.Helper()
	fams := readGolden(t)
	fl := newFleet(t.Context(), log.NewNopLogger(), false)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(fl.collectors(&config{configFile: "companies.yml", totalShards: 1})...)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var text bytes.Buffer
	for _, mf := range mfs {
		_, err := expfmt.MetricFamilyToText(&text, mf)
		require.NoError(t, err)
	}
	all, err := parseGolden(text.String())
	require.NoError(t, err)
	known := map[string]bool{}
	for _, f := range fams {
		known[f.name] = true
	}
	for _, f := range all {
		if !known[f.name] {
			fams = append(fams, f)
		}
	}
	return fams
}

func readGolden(t *testing.T) []goldenFamily {
	t.Helper()
	golden, err := os.ReadFile(goldenPath)
	require.NoError(t, err)
	fams, err := parseGolden(string(golden))
	require.NoError(t, err, goldenPath)
	require.NotEmpty(t, fams)
	for _, f := range fams {
		require.True(t, strings.HasPrefix(f.name, "kartustok_"), "%s: not a kartustok_ family (the golden page is served with --web.disable-exporter-metrics)", f.name)
	}
	return fams
}

// TestDocsMetricsReference keeps docs/metrics.md true to the golden
// exposition: its generated table must be what the golden file gives
// (-update rewrites it, keeping the hand-written text around it), every
// family needs a hand-written section, and the hand-written split into
// cached and live families must cover every family once.
func TestDocsMetricsReference(t *testing.T) {
	fams := readFamilies(t)
	raw, err := os.ReadFile(metricsDocPath)
	require.NoError(t, err)
	doc := string(raw)

	begin := strings.Index(doc, generatedBegin)
	end := strings.Index(doc, generatedEnd)
	require.True(t, begin >= 0 && end > begin, "%s lacks the markers %q and %q", metricsDocPath, generatedBegin, generatedEnd)
	start := begin + len(generatedBegin) + 1
	want := metricsTable(fams)
	if *update {
		doc = doc[:start] + want + doc[end:]
		require.NoError(t, os.WriteFile(metricsDocPath, []byte(doc), 0o644))
		end = start + len(want)
	}
	assert.Equal(t, want, doc[start:end], "the generated table of %s differs from %s; run `%s`", metricsDocPath, goldenPath, metricsDocUpdater)

	names := make([]string, 0, len(fams))
	for _, f := range fams {
		names = append(names, f.name)
	}
	var sections []string
	for _, m := range regexp.MustCompile("(?m)^### `(kartustok_\\w+)`$").FindAllStringSubmatch(doc, -1) {
		sections = append(sections, m[1])
	}
	for _, n := range names {
		assert.Contains(t, sections, n, "%s has no hand-written section \"### `%s`\"", metricsDocPath, n)
	}
	for _, s := range sections {
		assert.Contains(t, names, s, "%s explains %s, which %s does not have", metricsDocPath, s, goldenPath)
	}

	cached, live := listedAfter(doc, "**Cached**"), listedAfter(doc, "**Live**")
	for _, n := range names {
		assert.NotEqual(t, slices.Contains(cached, n), slices.Contains(live, n),
			"%s must list %s as either **Cached** or **Live**", metricsDocPath, n)
	}
	for _, n := range append(slices.Clone(cached), live...) {
		assert.Contains(t, names, n, "%s lists %s as cached or live, which %s does not have", metricsDocPath, n, goldenPath)
	}
	// Where the HELP texts mark the cached families with a common closing
	// sentence, the hand-written list must agree with them. kartustok_up is
	// cached; whatever its HELP ends with marks the others, if at least
	// three share it.
	if byGolden := sharingLastSentence(fams, "kartustok_up"); len(byGolden) >= 3 {
		slices.Sort(byGolden)
		sorted := slices.Sorted(slices.Values(cached))
		assert.Equal(t, byGolden, sorted, "the families whose HELP ends as kartustok_up's are not those %s lists as **Cached**", metricsDocPath)
	} else {
		t.Logf("the HELP texts do not mark the cached families; %s's list is not checked against them", metricsDocPath)
	}
}

// listedAfter returns the kartustok_ names in code spans of the paragraph
// of doc that starts with marker.
func listedAfter(doc, marker string) []string {
	i := strings.Index(doc, "\n"+marker)
	if i < 0 {
		return nil
	}
	paragraph, _, _ := strings.Cut(doc[i+1:], "\n\n")
	var names []string
	for _, m := range regexp.MustCompile("`(kartustok_\\w+)`").FindAllStringSubmatch(paragraph, -1) {
		names = append(names, m[1])
	}
	return names
}

// sharingLastSentence returns the families whose HELP ends with the last
// sentence of the HELP of the family named like.
func sharingLastSentence(fams []goldenFamily, like string) []string {
	last := ""
	for _, f := range fams {
		if f.name == like {
			help := strings.TrimSuffix(f.help, ".")
			last = f.help[strings.LastIndex(help, ". ")+1:]
		}
	}
	var names []string
	for _, f := range fams {
		if last != "" && strings.HasSuffix(f.help, last) {
			names = append(names, f.name)
		}
	}
	return names
}

// tableRow finds the markdown table row of doc whose first cell is name in
// a code span, linked or not, and returns its cells after the first.
func tableRow(doc, name string) ([]string, bool) {
	re := regexp.MustCompile("(?m)^\\| \\[?`" + regexp.QuoteMeta(name) + "`(?:\\]\\([^)]*\\))? \\|(.*)$")
	m := re.FindStringSubmatch(doc)
	if m == nil {
		return nil, false
	}
	var cells []string
	for c := range strings.SplitSeq(strings.TrimSuffix(strings.TrimSpace(m[1]), "|"), " | ") {
		cells = append(cells, strings.TrimSpace(c))
	}
	return cells, true
}

// helpFlag is one flag as --help prints it.
var helpFlag = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--(\[no-\])?([a-z][a-z0-9.-]+)(?:=(\S+))?`)

// TestDocsListEveryFlag keeps docs/operation.md's flag table true: every
// flag --help prints needs a row, and a flag whose default --help shows
// needs that default in its row.
func TestDocsListEveryFlag(t *testing.T) {
	raw, err := os.ReadFile(operationDocPath)
	require.NoError(t, err)
	doc := string(raw)

	var help bytes.Buffer
	_, done, _ := parseFlags([]string{"--help"}, &help, &help)
	require.True(t, done)
	flags := helpFlag.FindAllStringSubmatch(help.String(), -1)
	require.NotEmpty(t, flags)
	for _, f := range flags {
		boolean, name, value := f[1] != "", "--"+f[2], strings.Trim(f[3], `"`)
		switch name {
		case "--help", "--help-long", "--help-man", "--completion-script-bash", "--completion-script-zsh":
			continue // kingpin's own
		}
		cells, ok := tableRow(doc, name)
		if !assert.True(t, ok, "%s's flag table lacks %s", operationDocPath, name) {
			continue
		}
		if boolean || value == "" || regexp.MustCompile(`^[A-Z]+$`).MatchString(value) {
			continue // no default, or a placeholder such as FILE
		}
		assert.Contains(t, cells[0], "`"+value+"`", "%s: the default of %s is %s", operationDocPath, name, value)
	}
}

// TestREADMEListsEveryMetricFamily keeps the README's table of metric
// families true: a row per family of the golden /metrics, with its type,
// linking to the family's section of docs/metrics.md, and no other row.
func TestREADMEListsEveryMetricFamily(t *testing.T) {
	fams := readFamilies(t)
	raw, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	readme := string(raw)

	var names []string
	for _, f := range fams {
		names = append(names, f.name)
		link := "](" + metricsDocPath + "#" + f.name + ")"
		cells, ok := tableRow(readme, f.name)
		if !assert.True(t, ok, "README's metric table lacks %s", f.name) {
			continue
		}
		assert.Equal(t, f.typ, cells[0], "README: the type of %s", f.name)
		assert.Contains(t, readme, "[`"+f.name+"`"+link, "README: %s's row does not link to %s", f.name, metricsDocPath)
	}
	for _, m := range regexp.MustCompile("(?m)^\\| \\[?`(kartustok_\\w+)`").FindAllStringSubmatch(readme, -1) {
		assert.Contains(t, names, m[1], "README lists %s, which %s does not have", m[1], goldenPath)
	}
}

// TestREADMEIsShort keeps the README a newcomer's page: what it is, how to
// try, test and install it; the rest belongs in docs/.
func TestREADMEIsShort(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	lines := strings.Count(string(raw), "\n")
	assert.LessOrEqual(t, lines, readmeMaxLines, "README.md has %d lines; move details to %s/", lines, docsDir)
}

// TestDocsLinksResolve checks every relative link of the README and of
// docs/*.md: the file must exist, and a #fragment into a markdown file must
// name one of its headings (GitHub's slugs).
func TestDocsLinksResolve(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, docs)
	anchors := map[string][]string{}
	headingsOf := func(path string) []string {
		if a, ok := anchors[path]; ok {
			return a
		}
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		anchors[path] = headingSlugs(string(raw))
		return anchors[path]
	}
	scheme := regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
	for _, file := range append([]string{readmePath}, docs...) {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, target := range markdownLinks(string(raw)) {
			if scheme.MatchString(target) {
				continue
			}
			path, fragment, _ := strings.Cut(target, "#")
			resolved := file
			if path != "" {
				resolved = filepath.Join(filepath.Dir(file), path)
				if _, err := os.Stat(resolved); !assert.NoError(t, err, "%s links to %s", file, target) {
					continue
				}
			}
			if fragment == "" || !strings.HasSuffix(resolved, ".md") {
				continue
			}
			assert.Contains(t, headingsOf(resolved), fragment, "%s links to %s: %s has no such heading", file, target, resolved)
		}
	}
}

// markdownLinks returns the targets of the inline links of a markdown
// text, outside fenced code blocks and code spans.
func markdownLinks(text string) []string {
	codeSpan := regexp.MustCompile("`[^`]*`")
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	var targets []string
	for _, line := range proseLines(text) {
		for _, m := range link.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, "``"), -1) {
			targets = append(targets, m[1])
		}
	}
	return targets
}

// headingSlugs returns the anchors GitHub gives the headings of a markdown
// text: lower case, punctuation dropped except '-' and '_', spaces turned
// into '-', and -1, -2... added to repeats.
func headingSlugs(text string) []string {
	heading := regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	seen := map[string]int{}
	var slugs []string
	for _, line := range proseLines(text) {
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			slugs = append(slugs, fmt.Sprintf("%s-%d", slug, n))
		} else {
			slugs = append(slugs, slug)
		}
		seen[slug]++
	}
	return slugs
}

// proseLines returns the lines of a markdown text outside fenced code
// blocks.
func proseLines(text string) []string {
	var lines []string
	fenced := false
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			lines = append(lines, line)
		}
	}
	return lines
}
