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
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-jsonnet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The repository this module lives in.
var (
	repository = filepath.Join("..", "..")
	manifest   = "files.jsonnet"
	mixinDir   = filepath.Join(repository, "mixin")
)

// evaluate evaluates a Jsonnet snippet that imports the files of mixin/.
func evaluate(t *testing.T, snippet string) string {
	t.Helper()
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{mixinDir}})
	out, err := vm.EvaluateAnonymousSnippet("test.jsonnet", snippet)
	require.NoError(t, err)
	return out
}

// TestRepositoryIsTheRender is the check of `make test`: the rules file,
// the dashboards and the chart's copies in the repository are exactly what
// the mixin renders, so the promtool tests, the dashboard checks, the
// end-to-end test and the chart use the mixin.
func TestRepositoryIsTheRender(t *testing.T) {
	files, err := Render(manifest, "{}")
	require.NoError(t, err)
	for _, want := range []string{
		"alerts/kartustok.rules.yml",
		"dashboards/kartustok-exporter.json",
		"dashboards/kartustok-stock.json",
		"deploy/helm/kartustok-exporter/files/kartustok.rules.yml",
		"deploy/helm/kartustok-exporter/files/dashboards/kartustok-exporter.json",
		"deploy/helm/kartustok-exporter/files/dashboards/kartustok-stock.json",
	} {
		assert.Contains(t, files, want)
	}
	problems, err := Check(repository, files)
	require.NoError(t, err)
	if len(problems) > 0 {
		t.Errorf("the repository's files are not the mixin's render: edit mixin/ rather than the files, and run `make mixin` at the repository's root:\n\t%s",
			strings.Join(problems, "\n\t"))
	}
}

// rulesOf decodes a rendered rules file.
func rulesOf(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var f struct {
		Groups []struct {
			Name  string           `yaml:"name"`
			Rules []map[string]any `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(b, &f))
	var out []map[string]any
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	require.NotEmpty(t, out)
	return out
}

func ruleNamed(t *testing.T, rules []map[string]any, name, severity string) map[string]any {
	t.Helper()
	for _, r := range rules {
		labels, _ := r["labels"].(map[string]any)
		if r["alert"] == name && (severity == "" || labels["severity"] == severity) {
			return r
		}
	}
	t.Fatalf("no alert %s %s", name, severity)
	return nil
}

// TestConfigChangesEveryFile renders the mixin with a selector and
// thresholds of its own, and finds them where they belong and the
// defaults nowhere: no selector or threshold is written into the mixin
// anywhere but _config. That every series selector carries the selector is
// proved with Prometheus' parser in tools/prometheus (dashcheck's
// TestMixinSelector).
func TestConfigChangesEveryFile(t *testing.T) {
	files, err := Render(manifest, `{
		kartustokSelector: 'job="inventory", cluster="x"',
		exporterDownFor: '10m',
		tokenExpiryWarningDays: 21,
		tokenExpiryCriticalDays: 2,
		apiErrorsRatio: 0.25,
		syncStaleCycles: 4,
		stockMaxStalenessSeconds: 3600,
		dashboardRefresh: '5m',
		stockDashboardFrom: 'now-7d',
	}`)
	require.NoError(t, err)
	for name, content := range files {
		assert.NotContains(t, string(content), `job="kartustok"`, name)
		assert.NotContains(t, string(content), `job=\"kartustok\"`, name)
	}

	rules := rulesOf(t, files["alerts/kartustok.rules.yml"])
	down := ruleNamed(t, rules, "KartuStokExporterDown", "")
	assert.Equal(t, `up{job="inventory", cluster="x"} == 0`, down["expr"])
	assert.Equal(t, "10m", down["for"])
	assert.Contains(t, down["annotations"].(map[string]any)["description"], " for 10 minutes, ")

	warning := ruleNamed(t, rules, "KartuStokTokenExpiringSoon", "warning")
	assert.Contains(t, warning["expr"], "< 21 * 86400")
	assert.Contains(t, warning["annotations"].(map[string]any)["summary"], "less than 21 days")
	critical := ruleNamed(t, rules, "KartuStokTokenExpiringSoon", "critical")
	assert.Contains(t, critical["expr"], "< 2 * 86400")
	assert.Contains(t, ruleNamed(t, rules, "KartuStokAPIErrors", "")["expr"], "> 0.25")
	stale := ruleNamed(t, rules, "KartuStokSyncStale", "")
	assert.Contains(t, stale["expr"], "clamp_min(4 * kartustok_sync_cycle_seconds")
	assert.Contains(t, stale["annotations"].(map[string]any)["description"], "more than four refresh cycles")
	for _, r := range rules {
		if r["record"] == "item:kartustok_stock_on_hand:sum" {
			assert.Contains(t, r["expr"], "< 3600)")
		}
	}

	var stock, exporter struct {
		Refresh string `json:"refresh"`
		Time    struct {
			From string `json:"from"`
		} `json:"time"`
	}
	require.NoError(t, json.Unmarshal(files["dashboards/kartustok-stock.json"], &stock))
	require.NoError(t, json.Unmarshal(files["dashboards/kartustok-exporter.json"], &exporter))
	assert.Equal(t, "5m", stock.Refresh)
	assert.Equal(t, "now-7d", stock.Time.From)
	assert.Equal(t, "now-6h", exporter.Time.From)
	dash := string(files["dashboards/kartustok-exporter.json"])
	assert.Contains(t, dash, `"value": 172800`, "the token panel turns red at the critical days")
	assert.Contains(t, dash, `"value": 1814400`, "the token panel turns orange at the warning days")
	assert.Contains(t, dash, "fires above 25%", "the error ratio panel names the alert's threshold")
}

// importPattern matches the imports of a Jsonnet file.
var importPattern = regexp.MustCompile(`\bimport(?:str|bin)?\s+'([^']*)'`)

// TestMixinImportsOnlyItself keeps the mixin self-contained: every file it
// imports is in mixin/, so it renders with nothing fetched, and a user can
// vendor the directory alone.
func TestMixinImportsOnlyItself(t *testing.T) {
	abs, err := filepath.Abs(mixinDir)
	require.NoError(t, err)
	imports := 0
	err = filepath.WalkDir(mixinDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var code strings.Builder
		for line := range strings.SplitSeq(string(b), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "//") {
				code.WriteString(line + "\n")
			}
		}
		assert.NotContains(t, code.String(), `import "`, "%s: imports are written with single quotes, which this test reads", p)
		for _, m := range importPattern.FindAllStringSubmatch(code.String(), -1) {
			imports++
			target, err := filepath.Abs(filepath.Join(filepath.Dir(p), m[1]))
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(target, abs+string(filepath.Separator)), "%s imports %s, outside mixin/", p, m[1])
			assert.FileExists(t, target, "%s imports %s", p, m[1])
		}
		return nil
	})
	require.NoError(t, err)
	assert.Positive(t, imports)
}

// TestMixinFields checks the mixin's interface as kube-prometheus and
// mixtool read it: prometheusAlerts and prometheusRules are rule files,
// whose group names are unique across both, grafanaDashboards maps file
// names to dashboards, and _config is hidden.
func TestMixinFields(t *testing.T) {
	out := evaluate(t, `
		local m = import 'mixin.libsonnet';
		{
			alerts: m.prometheusAlerts,
			rules: m.prometheusRules,
			dashboards: std.objectFields(m.grafanaDashboards),
			visible: std.objectFields(m),
			config: std.objectHasAll(m, '_config'),
		}`)
	var got struct {
		Alerts, Rules struct {
			Groups []struct {
				Name  string           `json:"name"`
				Rules []map[string]any `json:"rules"`
			} `json:"groups"`
		}
		Dashboards, Visible []string
		Config              bool
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Empty(t, got.Visible, "the mixin's fields are hidden, so that it can be added to another object")
	assert.True(t, got.Config)
	assert.Equal(t, []string{"kartustok-exporter.json", "kartustok-stock.json"}, got.Dashboards)
	names := map[string]bool{}
	for _, g := range append(got.Rules.Groups, got.Alerts.Groups...) {
		assert.False(t, names[g.Name], "group %s twice", g.Name)
		names[g.Name] = true
	}
	for _, g := range got.Alerts.Groups {
		for _, r := range g.Rules {
			assert.Contains(t, r, "alert", "prometheusAlerts holds alerts only")
		}
	}
	for _, g := range got.Rules.Groups {
		for _, r := range g.Rules {
			assert.Contains(t, r, "record", "prometheusRules holds recording rules only")
		}
	}
}

func TestHumanDuration(t *testing.T) {
	out := evaluate(t, `
		local u = import 'lib/utils.libsonnet';
		[u.humanDuration(d) for d in ['5m', '1m', '15m', '1h', '90s', '2d', '500ms', '1h30m', '', 'm', 'xm']]
		+ [u.countWords(n) for n in [3, 10, 12, 2.5]]
		+ [u.oneLine('a b\nc\n')]`)
	var got []string
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, []string{
		"5 minutes", "1 minute", "15 minutes", "1 hour", "90 seconds", "2 days", "500 milliseconds",
		"1h30m", "", "m", "xm",
		"three", "ten", "12", "2.5",
		"a b c",
	}, got)
}

func TestRulesFileFormat(t *testing.T) {
	in := map[string]any{"groups": []any{map[string]any{
		"rules": []any{map[string]any{
			"annotations": map[string]any{
				"description": strings.Repeat("word ", 30) + `{{ with printf "x{a=%q}" $labels.a | query }}{{ . | first | value }}{{ end }} end.`,
				"summary":     "Short: with a colon.",
				"runbook_url": "https://example.com/runbook#x",
			},
			"labels": map[string]any{"severity": "warning", "minimum": "item"},
			"for":    "5m",
			"expr":   "a\n  or\nb\n",
			"alert":  "A",
		}, map[string]any{
			"record": "r",
			"expr":   `x{job="a"} > 0`,
		}, map[string]any{
			"record": "q",
			"expr":   "- leading dash",
		}},
		"name": "g",
	}}}
	raw, err := json.Marshal(in)
	require.NoError(t, err)
	out, err := rulesFile(raw)
	require.NoError(t, err)
	text := string(out)
	assert.True(t, strings.HasPrefix(text, "# "), "the file opens with its header")
	assert.Contains(t, text, `
groups:
  - name: g
    rules:
      - alert: A
        expr: |
          a
            or
          b
        for: 5m
        labels:
          severity: warning
          minimum: item
        annotations:
          summary: "Short: with a colon."
          description: >-
            word word`)
	assert.Contains(t, text, "\n            {{ with printf \"x{a=%q}\" $labels.a | query }}{{ . | first | value }}{{ end }} end.\n",
		"a template action stays on one line")
	assert.Contains(t, text, "\n          runbook_url: https://example.com/runbook#x\n")
	assert.Contains(t, text, "\n      - record: r\n        expr: x{job=\"a\"} > 0\n", "a selector stays as written, for the chart's job to replace")
	assert.Contains(t, text, "\n      - record: q\n        expr: \"- leading dash\"\n")
	for line := range strings.SplitSeq(text, "\n") {
		assert.LessOrEqual(t, len(line), foldWidth, "a folded line: %q", line)
		assert.Equal(t, strings.TrimRight(line, " "), line, "trailing space")
	}
	var back any
	require.NoError(t, yaml.Unmarshal(out, &back))
	bj, err := json.Marshal(back)
	require.NoError(t, err)
	assert.JSONEq(t, string(raw), string(bj))
}

func TestStringScalarForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fold bool
		want string
	}{
		{"plain", false, "plain"},
		{"true", false, `"true"`},
		{"5", false, `"5"`},
		{"", false, `""`},
		{"a: b", false, `"a: b"`},
		{"no newline\nat the end", false, "|-\n  no newline\n  at the end"},
		{"two\n\n", false, "|+\n  two\n"},
		{"trailing \nspace\n", false, `"trailing \nspace\n"`},
		{" leading\nspace\n", false, `" leading\nspace\n"`},
		{strings.Repeat("x", 120), true, strings.Repeat("x", 120)},
		{"two  spaces " + strings.Repeat("y ", 60), true, `"two  spaces ` + strings.Repeat("y ", 60) + `"`},
	} {
		got, err := stringScalar(tc.in, 2, tc.fold)
		require.NoError(t, err, "%q", tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
		assert.True(t, readsBack(got, tc.in), "%q as %q", tc.in, got)
	}
}

func TestWriteAndCheck(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"a/r.yml":  []byte("groups: []\n"),
		"d/x.json": []byte("{}\n"),
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "d", "old.json"), []byte("{}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "d", "notes.txt"), []byte("kept\n"), 0o644))

	problems, err := Check(dir, files)
	require.NoError(t, err)
	assert.Equal(t, []string{"a/r.yml: missing", "d/x.json: missing", "d/old.json: not rendered by the mixin any more"}, problems)

	require.NoError(t, Write(dir, files))
	problems, err = Check(dir, files)
	require.NoError(t, err)
	assert.Empty(t, problems)
	assert.NoFileExists(t, filepath.Join(dir, "d", "old.json"))
	assert.FileExists(t, filepath.Join(dir, "d", "notes.txt"))

	require.NoError(t, os.WriteFile(filepath.Join(dir, "a", "r.yml"), []byte("groups: [x]\n"), 0o644))
	problems, err = Check(dir, files)
	require.NoError(t, err)
	assert.Equal(t, []string{`a/r.yml: line 1 is "groups: [x]", the render has "groups: []"`}, problems)
}

func TestRenderRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(content string) string {
		p := filepath.Join(dir, "files.jsonnet")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	for _, tc := range []struct{ manifest, want string }{
		{`function(config={}) {'../x.json': {}}`, "not a clean relative path"},
		{`function(config={}) {'/x.json': {}}`, "not a clean relative path"},
		{`function(config={}) {'x.txt': {}}`, "neither .yml nor .json"},
		{`function(config={}) {'x.yml': []}`, "a rules file is an object of groups"},
		{`function(config={}) [1]`, "not an object of paths"},
		{`function(config={}) {'x.json': import 'https://example.com/lib.libsonnet'}`, "couldn't open import"},
	} {
		_, err := Render(write(tc.manifest), "{}")
		require.Error(t, err, tc.manifest)
		assert.Contains(t, err.Error(), tc.want, tc.manifest)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"-root", repository, "-out", dir}, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "mixin: wrote 6 files")
	stdout.Reset()
	require.Equal(t, 0, run([]string{"-root", repository, "-out", dir, "-check"}, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "6 files are the mixin's render")
	require.Equal(t, 1, run([]string{"-root", repository, "-out", dir, "-check", "-config", `{kartustokSelector: 'job="other"'}`}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "run `make mixin`")
	assert.Equal(t, 2, run([]string{"-root", repository, "-config", "{"}, &stdout, &stderr))
	assert.Equal(t, 2, run([]string{"extra"}, &stdout, &stderr))
}
