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

// Package examples holds example configurations for running
// kartustok_exporter with Prometheus, Alertmanager, Grafana and systemd. Its
// tests check that the examples agree with each other and with the shipped
// alerting rules; promtool and amtool check their syntax in depth.
package examples

import (
	"bufio"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// defaultPort is the exporter's default listen port, which every example
// and the Dockerfile use.
const defaultPort = "9472"

// stateDir is where the image and the chart keep the exporter's state
// (--storage.path), as systemd's StateDirectory= does.
const stateDir = "/var/lib/kartustok_exporter"

func decodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(v), path)
}

type staticConfigs []struct {
	Targets []string `yaml:"targets"`
}

type prometheusConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles []string `yaml:"rule_files"`
	Alerting  struct {
		Alertmanagers []struct {
			StaticConfigs staticConfigs `yaml:"static_configs"`
		} `yaml:"alertmanagers"`
	} `yaml:"alerting"`
	ScrapeConfigs []struct {
		JobName        string        `yaml:"job_name"`
		ScrapeInterval string        `yaml:"scrape_interval"`
		ScrapeTimeout  string        `yaml:"scrape_timeout"`
		StaticConfigs  staticConfigs `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func TestPrometheusConfig(t *testing.T) {
	var c prometheusConfig
	decodeYAML(t, "prometheus.yml", &c)

	// The exporter serves a cache; scraping it faster than every 30 s stores
	// the same values again.
	interval, err := time.ParseDuration(c.Global.ScrapeInterval)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, interval, 30*time.Second)
	_, err = time.ParseDuration(c.Global.EvaluationInterval)
	require.NoError(t, err)

	// Rule files resolve relative to the config file, to the shipped rules.
	require.NotEmpty(t, c.RuleFiles)
	for _, f := range c.RuleFiles {
		assert.FileExists(t, filepath.Join(".", f))
	}
	assert.Contains(t, c.RuleFiles, "../alerts/kartustok.rules.yml")

	require.Len(t, c.Alerting.Alertmanagers, 1)
	require.Len(t, c.Alerting.Alertmanagers[0].StaticConfigs, 1)
	assertHostPorts(t, c.Alerting.Alertmanagers[0].StaticConfigs[0].Targets)

	require.Len(t, c.ScrapeConfigs, 1)
	job := c.ScrapeConfigs[0]
	assert.Equal(t, "kartustok", job.JobName)
	require.Len(t, job.StaticConfigs, 1)
	targets := job.StaticConfigs[0].Targets
	assertHostPorts(t, targets)
	_, port, _ := net.SplitHostPort(targets[0])
	assert.Equal(t, defaultPort, port)
}

func assertHostPorts(t *testing.T, targets []string) {
	t.Helper()
	require.NotEmpty(t, targets)
	for _, target := range targets {
		_, _, err := net.SplitHostPort(target)
		assert.NoError(t, err, "a plain host:port keeps the config easy to rewrite")
	}
}

type matchers []string

type alertmanagerRoute struct {
	Receiver       string              `yaml:"receiver"`
	GroupBy        []string            `yaml:"group_by"`
	GroupWait      string              `yaml:"group_wait"`
	GroupInterval  string              `yaml:"group_interval"`
	RepeatInterval string              `yaml:"repeat_interval"`
	Matchers       matchers            `yaml:"matchers"`
	Routes         []alertmanagerRoute `yaml:"routes"`
}

type alertmanagerConfig struct {
	Route     alertmanagerRoute `yaml:"route"`
	Receivers []struct {
		Name           string `yaml:"name"`
		WebhookConfigs []struct {
			URL          string `yaml:"url"`
			SendResolved bool   `yaml:"send_resolved"`
		} `yaml:"webhook_configs"`
	} `yaml:"receivers"`
	InhibitRules []struct {
		SourceMatchers matchers `yaml:"source_matchers"`
		TargetMatchers matchers `yaml:"target_matchers"`
		Equal          []string `yaml:"equal"`
	} `yaml:"inhibit_rules"`
}

// rulesFile is the part of a Prometheus rules file these checks need.
type rulesFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// shippedAlerts returns each alert name of the shipped rules with the values
// each of its labels takes.
func shippedAlerts(t *testing.T) map[string]map[string][]string {
	t.Helper()
	var rf rulesFile
	decodeYAML(t, "../alerts/kartustok.rules.yml", &rf)
	out := map[string]map[string][]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if out[r.Alert] == nil {
				out[r.Alert] = map[string][]string{}
			}
			for k, v := range r.Labels {
				out[r.Alert][k] = append(out[r.Alert][k], v)
			}
		}
	}
	require.NotEmpty(t, out)
	return out
}

// matcherPattern is Alertmanager's label matcher syntax as the example
// writes it: name, operator, double-quoted value.
var matcherPattern = regexp.MustCompile(`^(\w+)(=~|!~|!=|=)"(.*)"$`)

// values returns the alternatives a matcher value names: the value itself,
// or the |-separated parts of a simple regex.
func values(op, value string) []string {
	if op == "=~" || op == "!~" {
		return strings.Split(value, "|")
	}
	return []string{value}
}

func TestAlertmanagerConfig(t *testing.T) {
	var c alertmanagerConfig
	decodeYAML(t, "alertmanager.yml", &c)
	alerts := shippedAlerts(t)

	receivers := map[string]bool{}
	for _, r := range c.Receivers {
		assert.False(t, receivers[r.Name], "receiver %s defined twice", r.Name)
		receivers[r.Name] = true
		require.NotEmpty(t, r.WebhookConfigs, r.Name)
		for _, w := range r.WebhookConfigs {
			assert.True(t, strings.HasPrefix(w.URL, "http://127.0.0.1:5001/"),
				"one host:port for every webhook keeps the config easy to rewrite: %s", w.URL)
			assert.True(t, w.SendResolved)
		}
	}
	for _, d := range []string{c.Route.GroupWait, c.Route.GroupInterval, c.Route.RepeatInterval} {
		_, err := time.ParseDuration(d)
		require.NoError(t, err)
	}
	assert.Contains(t, c.Route.GroupBy, "alertname")

	// Every severity the rules use is routed to a receiver of its own.
	var severities []string
	for _, labels := range alerts {
		for _, s := range labels["severity"] {
			if !slices.Contains(severities, s) {
				severities = append(severities, s)
			}
		}
	}
	require.ElementsMatch(t, []string{"warning", "critical"}, severities)
	assert.True(t, receivers[c.Route.Receiver], "default receiver %s", c.Route.Receiver)
	routed := map[string]string{}
	for _, r := range c.Route.Routes {
		assert.True(t, receivers[r.Receiver], "route receiver %s is defined", r.Receiver)
		for _, m := range r.Matchers {
			parts := matcherPattern.FindStringSubmatch(m)
			require.NotNil(t, parts, m)
			if parts[1] == "severity" && parts[2] == "=" {
				routed[parts[3]] = r.Receiver
			}
		}
	}
	for _, s := range severities {
		assert.NotEmpty(t, routed[s], "severity %s has a route", s)
	}
	assert.NotEqual(t, routed["warning"], routed["critical"])

	// Inhibitions name alerts and label values that the rules produce, so
	// a renamed alert cannot silently disable one.
	require.NotEmpty(t, c.InhibitRules)
	for _, ir := range c.InhibitRules {
		require.NotEmpty(t, ir.Equal)
		for _, m := range append(slices.Clone(ir.SourceMatchers), ir.TargetMatchers...) {
			parts := matcherPattern.FindStringSubmatch(m)
			require.NotNil(t, parts, m)
			name, op, value := parts[1], parts[2], parts[3]
			if name != "alertname" {
				continue
			}
			for _, alert := range values(op, value) {
				_, ok := alerts[alert]
				assert.True(t, ok, "inhibit rule matcher %s names %s, which no shipped rule defines", m, alert)
			}
		}
		for _, m := range ir.SourceMatchers {
			parts := matcherPattern.FindStringSubmatch(m)
			if parts[1] == "severity" {
				assert.Contains(t, severities, parts[3], m)
			}
		}
	}
}

// matcher is one Alertmanager label matcher of the example.
type matcher struct{ name, op, value string }

func parseMatchers(t *testing.T, ms matchers) []matcher {
	t.Helper()
	var out []matcher
	for _, m := range ms {
		parts := matcherPattern.FindStringSubmatch(m)
		require.NotNil(t, parts, m)
		out = append(out, matcher{parts[1], parts[2], parts[3]})
	}
	return out
}

// matches tells whether the alert with labels matches m, as Alertmanager
// decides: a missing label is the empty value, and a regex is anchored.
func (m matcher) matches(t *testing.T, labels map[string]string) bool {
	t.Helper()
	v := labels[m.name]
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	}
	re, err := regexp.Compile("^(?:" + m.value + ")$")
	require.NoError(t, err, m.value)
	return re.MatchString(v) == (m.op == "=~")
}

// inhibits tells whether source inhibits target under the rule: source
// matches the source matchers, target the target matchers, and both have the
// same value (or both none) for every label of equal.
func inhibits(t *testing.T, source, target []matcher, equal []string, src, tgt map[string]string) bool {
	t.Helper()
	for _, m := range source {
		if !m.matches(t, src) {
			return false
		}
	}
	for _, m := range target {
		if !m.matches(t, tgt) {
			return false
		}
	}
	for _, l := range equal {
		if src[l] != tgt[l] {
			return false
		}
	}
	return true
}

// alertFor returns labels that the matchers select: each = value, and the
// first alternative of each =~ regex.
func alertFor(ms []matcher) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		switch m.op {
		case "=":
			out[m.name] = m.value
		case "=~":
			out[m.name] = values(m.op, m.value)[0]
		}
	}
	return out
}

// TestAlertmanagerPerCompany checks that one exporter serving two companies,
// whose alerts differ only by the company label and may share item and
// warehouse IDs, gets one notification group per company, and that an
// alert inhibits the alerts of its own company only: a token refused for
// one company must not hide another's stock alerts.
func TestAlertmanagerPerCompany(t *testing.T) {
	var c alertmanagerConfig
	decodeYAML(t, "alertmanager.yml", &c)
	assert.Contains(t, c.Route.GroupBy, "company", "two companies' alerts would share a notification")

	require.NotEmpty(t, c.InhibitRules)
	for _, ir := range c.InhibitRules {
		source, target := parseMatchers(t, ir.SourceMatchers), parseMatchers(t, ir.TargetMatchers)
		name := strings.Join(ir.SourceMatchers, ",") + " -> " + strings.Join(ir.TargetMatchers, ",")

		// The same exporter, warehouse and item for both companies.
		src := alertFor(source)
		src["job"], src["instance"], src["company"] = "kartustok", "exporter-1:9472", "sinarjaya"
		for _, l := range ir.Equal {
			if _, ok := src[l]; !ok {
				src[l] = "shared-" + l
			}
		}
		tgt := alertFor(target)
		for _, l := range ir.Equal {
			if v, ok := tgt[l]; ok && v != src[l] {
				t.Fatalf("%s: the target matchers set %s=%q, the source's %q: the rule can never inhibit", name, l, v, src[l])
			}
			tgt[l] = src[l]
		}
		assert.True(t, inhibits(t, source, target, ir.Equal, src, tgt),
			"%s: does not inhibit %v from %v of the same company", name, tgt, src)

		other := maps.Clone(tgt)
		other["company"] = "majubersama"
		assert.False(t, inhibits(t, source, target, ir.Equal, src, other),
			"%s: inhibits %v of another company on the same exporter", name, other)
	}
}

// TestAlertsCarryInhibitionLabels checks the labels the inhibitions rely on:
// the token-expiry alert comes in a warning and a critical form, and the
// SyncStale alert tells which resource is stale.
func TestAlertsCarryInhibitionLabels(t *testing.T) {
	alerts := shippedAlerts(t)
	assert.ElementsMatch(t, []string{"warning", "critical"}, alerts["KartuStokTokenExpiringSoon"]["severity"])
	for _, name := range []string{"KartuStokLowStock", "KartuStokOutOfStock"} {
		assert.NotEmpty(t, alerts[name]["minimum"], "%s has a minimum label", name)
	}
	var rf rulesFile
	decodeYAML(t, "../alerts/kartustok.rules.yml", &rf)
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "KartuStokSyncStale" {
				assert.Contains(t, r.Expr, "kartustok_sync_last_success_timestamp_seconds",
					"the alert keeps the resource label of the freshness series")
			}
		}
	}
}

func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name      string         `yaml:"name"`
			Type      string         `yaml:"type"`
			UID       string         `yaml:"uid"`
			Access    string         `yaml:"access"`
			URL       string         `yaml:"url"`
			IsDefault bool           `yaml:"isDefault"`
			JSONData  map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	decodeYAML(t, "grafana/provisioning/datasources/prometheus.yml", &ds)
	assert.Equal(t, 1, ds.APIVersion)
	require.Len(t, ds.Datasources, 1)
	assert.Equal(t, "prometheus", ds.Datasources[0].Type)
	assert.True(t, ds.Datasources[0].IsDefault, "the dashboards' datasource variable starts at the default")

	// $__rate_interval is right only when Grafana knows the scrape interval.
	var prom prometheusConfig
	decodeYAML(t, "prometheus.yml", &prom)
	assert.Equal(t, prom.Global.ScrapeInterval, ds.Datasources[0].JSONData["timeInterval"])

	var dash struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name                  string `yaml:"name"`
			OrgID                 int    `yaml:"orgId"`
			Folder                string `yaml:"folder"`
			Type                  string `yaml:"type"`
			DisableDeletion       bool   `yaml:"disableDeletion"`
			AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
			UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
			Options               struct {
				Path                      string `yaml:"path"`
				FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	decodeYAML(t, "grafana/provisioning/dashboards/kartustok.yml", &dash)
	assert.Equal(t, 1, dash.APIVersion)
	require.Len(t, dash.Providers, 1)
	assert.Equal(t, "file", dash.Providers[0].Type)
	assert.True(t, filepath.IsAbs(dash.Providers[0].Options.Path))
}

// unitDirectives reads a systemd unit into directive -> values.
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	out := map[string][]string{}
	var line string
	s := bufio.NewScanner(f)
	for s.Scan() {
		text := strings.TrimSpace(s.Text())
		if line == "" && (text == "" || strings.HasPrefix(text, "#") || strings.HasPrefix(text, "[")) {
			continue
		}
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			line += cont + " "
			continue
		}
		line += text
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "unit line %q", line)
		out[k] = append(out[k], strings.Join(strings.Fields(v), " "))
		line = ""
	}
	require.NoError(t, s.Err())
	return out
}

func TestSystemdUnit(t *testing.T) {
	u := unitDirectives(t, "systemd/kartustok_exporter.service")
	require.Len(t, u["LoadCredential"], 1)
	name, _, ok := strings.Cut(u["LoadCredential"][0], ":")
	require.True(t, ok)
	require.Len(t, u["ExecStart"], 1)
	assert.Contains(t, u["ExecStart"][0], "--kartustok.token-file=${CREDENTIALS_DIRECTORY}/"+name)
	assert.NotContains(t, u["ExecStart"][0], "KARTUSTOK_TOKEN")
	// The state survives restarts in the directory systemd makes for it,
	// writable under ProtectSystem=strict and open to the service alone.
	assert.Contains(t, strings.Fields(u["ExecStart"][0]), "--storage.path=${STATE_DIRECTORY}")
	for k, v := range map[string]string{
		"DynamicUser": "yes", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
		"Restart": "on-failure", "StateDirectory": "kartustok_exporter", "StateDirectoryMode": "0700",
	} {
		assert.Equal(t, []string{v}, u[k], k)
	}

	env := unitDirectives(t, "systemd/kartustok_exporter.default")
	require.Len(t, env["KARTUSTOK_EXPORTER_ARGS"], 1)
	assert.Contains(t, env["KARTUSTOK_EXPORTER_ARGS"][0], ":"+defaultPort)
	assert.NotContains(t, env["KARTUSTOK_EXPORTER_ARGS"][0], "token-file", "the unit passes the token")
	assert.NotContains(t, env["KARTUSTOK_EXPORTER_ARGS"][0], "storage.path", "the unit passes the state directory")
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	var stages int
	instructions := map[string][]string{}
	for line := range strings.SplitSeq(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		instructions[fields[0]] = append(instructions[fields[0]], strings.Join(fields[1:], " "))
		if fields[0] == "FROM" {
			stages++
		}
	}
	assert.Equal(t, 2, stages, "a builder stage and a runtime stage")
	assert.Equal(t, []string{defaultPort}, instructions["EXPOSE"])
	require.Len(t, instructions["USER"], 1)
	assert.NotRegexp(t, `^(root|0)(:|$)`, instructions["USER"][0])
	assert.Equal(t, []string{`["/bin/kartustok_exporter"]`}, instructions["ENTRYPOINT"])
	for _, v := range []string{"Version", "Revision", "Branch", "BuildUser", "BuildDate"} {
		assert.Contains(t, string(data), "-X github.com/prometheus/common/version."+v+"=")
	}
	assert.Contains(t, string(data), "CGO_ENABLED=0")
	assert.Contains(t, string(data), "--kartustok.token-file=/etc/kartustok_exporter/token")

	// The state directory exists in the image, owned by the image's user,
	// so that a named volume mounted there starts writable by it.
	assert.True(t, slices.ContainsFunc(instructions["COPY"], func(args string) bool {
		fields := strings.Fields(args)
		return slices.Contains(fields, "--chown="+instructions["USER"][0]) &&
			strings.TrimSuffix(fields[len(fields)-1], "/") == stateDir
	}), "no COPY --chown=%s makes %s", instructions["USER"][0], stateDir)
	assert.Contains(t, string(data), "--storage.path="+stateDir, "the example does not pass --storage.path="+stateDir)
}
