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

package grafana

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// missingField is the SDK's message for a required field the input lacks.
const missingField = "required field is missing from input"

// schemaDefaults lists, per panel type, the fields of a panel (paths as the
// SDK reports them) that the SDK's strict decoding requires although
// Grafana does not: Grafana's schema gives each a default, or the panel
// plugin supplies its option defaults when the field is absent, as it is
// in every panel saved before the field existed. The value is what Grafana
// uses. A missing field is tolerated here and nowhere else; a misspelt or
// unknown one still fails.
var schemaDefaults = map[string]map[string]string{
	// The stat schema: percentChangeColorMode defaults to "standard".
	"stat": {"options.percentChangeColorMode": `"standard"`},
	// The table schema: frameIndex: number | *0; inspect: bool | *false.
	"table": {
		"options.frameIndex":                  "0",
		"fieldConfig.defaults.custom.inspect": "false",
	},
	// The state timeline's legend has no calculations to choose from; the
	// schema's calcs: [...string] defaults to the empty list.
	"state-timeline": {"options.legend.calcs": "[]"},
	// Bar gauges saved before the bar gauge had a legend have none; the
	// plugin supplies its legend option defaults, the legend hidden.
	"bargauge": {"options.legend": "the plugin's legend defaults (hidden)"},
}

// registerPlugins makes every panel and data source query type the SDK
// ships known to its decoder; without it no panel's options, custom field
// config or query is checked.
var registerPlugins = sync.OnceFunc(plugins.RegisterDefaultPlugins)

// buildErrors unpacks what an SDK decoder returned. The SDK's strict
// decoders return an empty cog.BuildErrors, not nil, when all is well.
func buildErrors(err error) []*cog.BuildError {
	if err == nil {
		return nil
	}
	if list, ok := errors.AsType[cog.BuildErrors](err); ok {
		return list
	}
	if one, ok := errors.AsType[*cog.BuildError](err); ok {
		return []*cog.BuildError{one}
	}
	return []*cog.BuildError{{Message: err.Error()}}
}

// rawPanel is the part of a panel the checks read to know where they are.
type rawPanel struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
	} `json:"datasource"`
	Targets     []json.RawMessage `json:"targets"`
	FieldConfig json.RawMessage   `json:"fieldConfig"`
	Panels      []rawPanel        `json:"panels"` // a row's panels
}

// problems collects what a check finds, once each, in order.
type problems struct {
	list []string
	seen map[string]bool
	// panels names each panel by its path (panels[3], or panels[3].panels[0]
	// inside a row).
	panels map[string]rawPanel
}

func (p *problems) add(path, message string) {
	where := ""
	if m := panelPath.FindStringSubmatch(path); m != nil {
		if panel, ok := p.panels[m[1]]; ok {
			where = fmt.Sprintf(" (%s panel %q)", panel.Type, panel.Title)
		}
	}
	s := path + ": " + message + where
	if path == "" {
		s = message
	}
	if !p.seen[s] {
		p.seen[s] = true
		p.list = append(p.list, s)
	}
}

// addAll adds the SDK's errors found under path.
func (p *problems) addAll(path string, errs []*cog.BuildError) {
	for _, e := range errs {
		p.add(join(path, e.Path), e.Message)
	}
}

func join(path, sub string) string {
	switch {
	case path == "":
		return sub
	case sub == "":
		return path
	}
	return path + "." + sub
}

// panelPath splits a path into the panel's and the rest.
var panelPath = regexp.MustCompile(`^(panels\[\d+\](?:\.panels\[\d+\])?)(?:\.(.*))?$`)

// tolerated tells whether an error of the SDK is a field schemaDefaults
// lists for the type of the panel it is in.
func (p *problems) tolerated(e *cog.BuildError) bool {
	if e.Message != missingField {
		return false
	}
	m := panelPath.FindStringSubmatch(e.Path)
	if m == nil {
		return false
	}
	panel, ok := p.panels[m[1]]
	if !ok {
		return false
	}
	_, ok = schemaDefaults[panel.Type][m[2]]
	return ok
}

// checkDashboard decodes a dashboard strictly into the SDK's types and
// returns every problem found, each naming where it is. An error means the
// input is not a JSON object at all.
func checkDashboard(raw []byte) ([]string, error) {
	registerPlugins()

	var object map[string]json.RawMessage
	if err := json.Unmarshal(raw, &object); err != nil {
		return nil, fmt.Errorf("reading the dashboard: %w", err)
	}
	p := &problems{seen: map[string]bool{}, panels: map[string]rawPanel{}}
	var top struct {
		Panels []rawPanel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		// The strict decoding reports where; the panels go unchecked here.
		p.add("panels", "cannot read the panels: "+err.Error())
		top.Panels = nil
	}
	var order []string // the panels' paths as they appear
	for i, panel := range top.Panels {
		path := "panels[" + strconv.Itoa(i) + "]"
		p.panels[path] = panel
		order = append(order, path)
		for j, inner := range panel.Panels {
			p.panels[path+".panels["+strconv.Itoa(j)+"]"] = inner
			order = append(order, path+".panels["+strconv.Itoa(j)+"]")
		}
	}

	// The dashboards are in the classic JSON model, the one Grafana
	// provisions from files; dashboardv2 is the model of another API.
	var d dashboard.Dashboard //nolint:staticcheck // see above
	for _, e := range buildErrors(d.UnmarshalJSONStrict(raw)) {
		if !p.tolerated(e) {
			p.add(e.Path, e.Message)
		}
	}

	for _, path := range order {
		checkPanel(p, path, p.panels[path])
	}
	return p.list, nil
}

// checkPanel checks what the SDK's strict decoding of a panel leaves
// unchecked.
func checkPanel(p *problems, path string, panel rawPanel) {
	if panel.Type == "row" {
		return // dashboard.RowPanel is decoded strictly, its panels too
	}
	cfg, known := cog.ConfigForPanelcfgVariant(panel.Type)
	if !known {
		// The SDK would decode the options of such a panel as anything.
		p.add(join(path, "type"), fmt.Sprintf("unknown panel type %q: Grafana's schema has no panel plugin of that name", panel.Type))
	}
	checkFieldConfig(p, path, panel, cfg, known)
	checkTargets(p, path, panel)
}

// checkFieldConfig decodes a panel's field config strictly (the SDK decodes
// it leniently, but for the custom options of a known panel type), and the
// properties of its overrides, which the SDK's types hold as anything.
func checkFieldConfig(p *problems, path string, panel rawPanel, cfg variants.PanelcfgConfig, known bool) {
	if len(panel.FieldConfig) == 0 || string(panel.FieldConfig) == "null" {
		return
	}
	path = join(path, "fieldConfig")
	var fcs dashboard.FieldConfigSource
	for _, e := range buildErrors(fcs.UnmarshalJSONStrict(panel.FieldConfig)) {
		// Type errors here are the SDK's own too, reported once.
		e := &cog.BuildError{Path: join(path, e.Path), Message: e.Message}
		if !p.tolerated(e) {
			p.add(e.Path, e.Message)
		}
	}

	var fc struct {
		Defaults struct {
			Custom json.RawMessage `json:"custom"`
		} `json:"defaults"`
		Overrides []struct {
			Properties []struct {
				ID    string          `json:"id"`
				Value json.RawMessage `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	}
	if err := json.Unmarshal(panel.FieldConfig, &fc); err != nil {
		return // the strict decoding above reported it
	}
	hasCustom := known && cfg.StrictFieldConfigUnmarshaler != nil
	if c := string(fc.Defaults.Custom); known && !hasCustom && c != "" && c != "null" && c != "{}" {
		p.add(join(path, "defaults.custom"), fmt.Sprintf("panel type %q has no custom field options", panel.Type))
	}
	for i, o := range fc.Overrides {
		for j, prop := range o.Properties {
			propPath := join(path, fmt.Sprintf("overrides[%d].properties[%d]", i, j))
			checkOverride(p, propPath, panel.Type, cfg, known, hasCustom, prop.ID, prop.Value)
		}
	}
}

// checkOverride checks one override property, {"id": ..., "value": ...}:
// custom.NAME must be a custom field option of the panel type and the rest
// a field config property, and the value must decode strictly as that
// option or property does.
func checkOverride(p *problems, path, panelType string, cfg variants.PanelcfgConfig, known, hasCustom bool, id string, value json.RawMessage) {
	name, custom := strings.CutPrefix(id, "custom.")
	var decode func([]byte) error
	switch {
	case !custom:
		decode = func(raw []byte) error { return new(dashboard.FieldConfig).UnmarshalJSONStrict(raw) }
	case !known:
		return // the unknown panel type is reported
	case !hasCustom:
		p.add(path, fmt.Sprintf("%q: panel type %q has no custom field options", id, panelType))
		return
	default:
		decode = func(raw []byte) error {
			_, err := cfg.StrictFieldConfigUnmarshaler(raw)
			return err
		}
	}
	if value == nil {
		value = json.RawMessage("null")
	}
	raw, err := json.Marshal(map[string]json.RawMessage{name: value})
	if err != nil {
		p.add(path, err.Error())
		return
	}
	for _, e := range buildErrors(decode(raw)) {
		// The property stands alone: errors about the other options, all
		// absent, are not about it.
		switch {
		case e.Message == fmt.Sprintf("unexpected field '%s'", name):
			p.add(path, fmt.Sprintf("%q: not a field config property Grafana knows", id))
		case e.Path == name || strings.HasPrefix(e.Path, name+"."):
			p.add(path, fmt.Sprintf("%q: %s: %s", id, e.Path, e.Message))
		}
	}
}

// checkTargets requires every query of a panel to be of a data source type
// the SDK has a query schema for, and decodes it strictly: the SDK decodes
// a query of any other type, or with no type, as anything.
func checkTargets(p *problems, path string, panel rawPanel) {
	panelType := ""
	if panel.Datasource != nil {
		panelType = panel.Datasource.Type
	}
	for i, target := range panel.Targets {
		targetPath := join(path, "targets["+strconv.Itoa(i)+"]")
		var t struct {
			Datasource *struct {
				Type string `json:"type"`
			} `json:"datasource"`
		}
		if err := json.Unmarshal(target, &t); err != nil {
			continue // the strict decoding reported it
		}
		dsType := panelType
		if t.Datasource != nil && t.Datasource.Type != "" {
			dsType = t.Datasource.Type
		}
		q, err := cog.StrictUnmarshalDataquery(target, dsType)
		if _, unknown := q.(variants.UnknownDataquery); unknown && err == nil {
			p.add(targetPath, fmt.Sprintf("no query schema for data source type %q", dsType))
			continue
		}
		// Errors the SDK found already are reported once.
		p.addAll(targetPath, buildErrors(err))
	}
}
