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

package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The test runs the shipped example configurations, changed only where a
// test must differ from production: its own loopback ports, second-scale
// intervals, and a webhook in place of the real receivers. Anything else in
// them (relabelling, routes, inhibitions, templates) is exercised as shipped.

type yamlMap = map[string]any

func readYAML(path string) (yamlMap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m yamlMap
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m == nil {
		return nil, fmt.Errorf("%s: empty document", path)
	}
	return m, nil
}

func subMap(m yamlMap, key string) yamlMap {
	if v, ok := m[key].(yamlMap); ok {
		return v
	}
	v := yamlMap{}
	m[key] = v
	return v
}

func maps(v any) []yamlMap {
	list, _ := v.([]any)
	var out []yamlMap
	for _, e := range list {
		if m, ok := e.(yamlMap); ok {
			out = append(out, m)
		}
	}
	return out
}

// Keys of a scrape or Alertmanager config that point somewhere the test
// does not run: service discovery, TLS and credentials.
var remoteOnlyKeys = []string{
	"file_sd_configs", "dns_sd_configs", "http_sd_configs", "kubernetes_sd_configs", "consul_sd_configs",
	"tls_config", "basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file",
}

func pointAt(cfg yamlMap, targets ...string) {
	for _, k := range remoteOnlyKeys {
		delete(cfg, k)
	}
	cfg["scheme"] = "http"
	var labels any
	if sc := maps(cfg["static_configs"]); len(sc) > 0 {
		labels = sc[0]["labels"]
	}
	var list []any
	for _, t := range targets {
		list = append(list, t)
	}
	static := yamlMap{"targets": list}
	if labels != nil {
		static["labels"] = labels
	}
	cfg["static_configs"] = []any{static}
}

// prometheusConfig rewrites examples/prometheus.yml: every scrape job that
// mentions kartustok scrapes the test's exporters every second (other jobs
// are dropped), the rules are the test's copy, and alerts go to the test's
// Alertmanager.
func prometheusConfig(example string, exporterAddrs []string, alertmanagerAddr, rulesFile string) ([]byte, error) {
	m, err := readYAML(example)
	if err != nil {
		return nil, err
	}
	global := subMap(m, "global")
	global["scrape_interval"] = "1s"
	global["scrape_timeout"] = "1s"
	global["evaluation_interval"] = "1s"

	var jobs []any
	for _, sc := range maps(m["scrape_configs"]) {
		name, _ := sc["job_name"].(string)
		if !strings.Contains(strings.ToLower(name), "kartustok") {
			continue
		}
		sc["scrape_interval"] = "1s"
		sc["scrape_timeout"] = "1s"
		pointAt(sc, exporterAddrs...)
		jobs = append(jobs, sc)
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("%s: no scrape job whose job_name mentions kartustok", example)
	}
	m["scrape_configs"] = jobs
	m["rule_files"] = []any{rulesFile}

	ams := maps(subMap(m, "alerting")["alertmanagers"])
	if len(ams) == 0 {
		return nil, fmt.Errorf("%s: no alerting.alertmanagers: alerts would never leave Prometheus", example)
	}
	for _, am := range ams {
		pointAt(am, alertmanagerAddr)
	}
	return yaml.Marshal(m)
}

// alertmanagerConfig rewrites examples/alertmanager.yml: every receiver that
// notifies anyone sends to the test's webhook instead (at /<receiver name>,
// so the test sees which route an alert took), and grouping waits a second.
func alertmanagerConfig(example, webhookURL string) ([]byte, error) {
	m, err := readYAML(example)
	if err != nil {
		return nil, err
	}
	route, ok := m["route"].(yamlMap)
	if !ok {
		return nil, fmt.Errorf("%s: no route", example)
	}
	shortenRoute(route)
	receivers := maps(m["receivers"])
	if len(receivers) == 0 {
		return nil, fmt.Errorf("%s: no receivers", example)
	}
	for _, r := range receivers {
		name, _ := r["name"].(string)
		notifies := false
		for k := range r {
			if strings.HasSuffix(k, "_configs") {
				delete(r, k)
				notifies = true
			}
		}
		if notifies {
			r["webhook_configs"] = []any{yamlMap{
				"url":           webhookURL + "/" + url.PathEscape(name),
				"send_resolved": false,
			}}
		}
	}
	// Templates are found relative to the example, not to the test's copy.
	if tmpls, ok := m["templates"].([]any); ok {
		for i, p := range tmpls {
			if s, ok := p.(string); ok && !filepath.IsAbs(s) {
				tmpls[i] = filepath.Join(filepath.Dir(example), s)
			}
		}
	}
	return yaml.Marshal(m)
}

// shortenRoute makes the root route wait a second before and between
// notifications; child routes are shortened only where they set their own
// timing, so the rest is inherited from the root as in production.
func shortenRoute(r yamlMap) {
	r["group_wait"] = "1s"
	r["group_interval"] = "1s"
	r["repeat_interval"] = "1h"
	for _, c := range maps(r["routes"]) {
		shortenChildRoute(c)
	}
}

func shortenChildRoute(r yamlMap) {
	for k, v := range map[string]string{"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"} {
		if _, ok := r[k]; ok {
			r[k] = v
		}
	}
	for _, c := range maps(r["routes"]) {
		shortenChildRoute(c)
	}
}

// shortenRules copies the shipped rules with every `for` (and
// keep_firing_for) cut to forDur, and group intervals removed so the
// one-second global evaluation interval applies.
func shortenRules(shipped, forDur string) ([]byte, error) {
	m, err := readYAML(shipped)
	if err != nil {
		return nil, err
	}
	groups := maps(m["groups"])
	if len(groups) == 0 {
		return nil, fmt.Errorf("%s: no rule groups", shipped)
	}
	for _, g := range groups {
		delete(g, "interval")
		for _, r := range maps(g["rules"]) {
			if _, ok := r["for"]; ok {
				r["for"] = forDur
			}
			if _, ok := r["keep_firing_for"]; ok {
				r["keep_firing_for"] = forDur
			}
		}
	}
	return yaml.Marshal(m)
}

// The rewrites run without the tools, so `go test ./...` keeps the example
// configurations and the rules copy in step with what the test expects.

func TestPrometheusConfigFromExample(t *testing.T) {
	b, err := prometheusConfig(filepath.Join("..", "examples", "prometheus.yml"), []string{"127.0.0.1:1", "127.0.0.1:4"}, "127.0.0.1:2", "/tmp/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Global        map[string]string `yaml:"global"`
		RuleFiles     []string          `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
		Alerting struct {
			Alertmanagers []struct {
				StaticConfigs []struct {
					Targets []string `yaml:"targets"`
				} `yaml:"static_configs"`
			} `yaml:"alertmanagers"`
		} `yaml:"alerting"`
	}
	if err := yaml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Global["scrape_interval"] != "1s" || got.Global["evaluation_interval"] != "1s" {
		t.Errorf("global = %v, want 1s intervals", got.Global)
	}
	if len(got.RuleFiles) != 1 || got.RuleFiles[0] != "/tmp/rules.yml" {
		t.Errorf("rule_files = %v", got.RuleFiles)
	}
	if len(got.ScrapeConfigs) == 0 {
		t.Fatal("no scrape configs")
	}
	for _, sc := range got.ScrapeConfigs {
		if len(sc.StaticConfigs) != 1 || fmt.Sprint(sc.StaticConfigs[0].Targets) != "[127.0.0.1:1 127.0.0.1:4]" {
			t.Errorf("job %s: static_configs = %+v", sc.JobName, sc.StaticConfigs)
		}
	}
	if len(got.Alerting.Alertmanagers) == 0 {
		t.Fatal("no alertmanagers")
	}
	for _, am := range got.Alerting.Alertmanagers {
		if len(am.StaticConfigs) != 1 || fmt.Sprint(am.StaticConfigs[0].Targets) != "[127.0.0.1:2]" {
			t.Errorf("alertmanager static_configs = %+v", am.StaticConfigs)
		}
	}
}

func TestAlertmanagerConfigFromExample(t *testing.T) {
	b, err := alertmanagerConfig(filepath.Join("..", "examples", "alertmanager.yml"), "http://127.0.0.1:3")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Route struct {
			GroupWait     string `yaml:"group_wait"`
			GroupInterval string `yaml:"group_interval"`
		} `yaml:"route"`
		Receivers []map[string]any `yaml:"receivers"`
	}
	if err := yaml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Route.GroupWait != "1s" || got.Route.GroupInterval != "1s" {
		t.Errorf("route waits %s/%s, want 1s/1s", got.Route.GroupWait, got.Route.GroupInterval)
	}
	for _, r := range got.Receivers {
		name := r["name"].(string)
		for k, v := range r {
			if strings.HasSuffix(k, "_configs") && k != "webhook_configs" {
				t.Errorf("receiver %s still has %s", name, k)
			}
			if k == "webhook_configs" {
				if url := maps(v)[0]["url"]; url != "http://127.0.0.1:3/"+name {
					t.Errorf("receiver %s sends to %v", name, url)
				}
			}
		}
	}
}

func TestShortenRules(t *testing.T) {
	b, err := shortenRules(filepath.Join("..", "alerts", "kartustok.rules.yml"), "3s")
	if err != nil {
		t.Fatal(err)
	}
	m := yamlMap{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for _, g := range maps(m["groups"]) {
		for _, r := range maps(g["rules"]) {
			if _, ok := r["alert"]; !ok {
				continue
			}
			alerts++
			if r["for"] != "3s" {
				t.Errorf("%v: for = %v, want 3s", r["alert"], r["for"])
			}
			if r["expr"] == "" || r["annotations"] == nil {
				t.Errorf("%v lost its expr or annotations", r["alert"])
			}
		}
	}
	if alerts == 0 {
		t.Error("no alerts in the rules copy")
	}
}
