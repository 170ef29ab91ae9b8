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
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// promAPI is the little of Prometheus's HTTP API the test needs.
type promAPI struct {
	ctx  context.Context
	base string // http://host:port
}

func (p promAPI) get(path string, params url.Values, data any) error {
	u := p.base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(p.ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("GET %s: %s: %.200s", path, resp.Status, body)
	}
	if env.Status != "success" {
		return fmt.Errorf("GET %s: %s: %s", path, env.ErrorType, env.Error)
	}
	return json.Unmarshal(env.Data, data)
}

// sample is one series of an instant query.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// query runs an instant query and returns its series; a scalar or string
// result counts as one series.
func (p promAPI) query(q string) ([]sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	switch data.ResultType {
	case "vector":
		var out []sample
		return out, json.Unmarshal(data.Result, &out)
	case "matrix":
		var m []struct {
			Metric map[string]string `json:"metric"`
		}
		if err := json.Unmarshal(data.Result, &m); err != nil {
			return nil, err
		}
		out := make([]sample, len(m))
		for i := range m {
			out[i].Metric = m[i].Metric
		}
		return out, nil
	default:
		var v [2]any
		return []sample{{Value: v}}, json.Unmarshal(data.Result, &v)
	}
}

// queryRange runs a range query over the last 30 seconds at Prometheus's
// scrape interval and returns its series.
func (p promAPI) queryRange(q string) ([]sample, error) {
	end := time.Now()
	var data struct {
		Result []sample `json:"result"`
	}
	err := p.get("/api/v1/query_range", url.Values{
		"query": {q},
		"start": {strconv.FormatInt(end.Add(-30*time.Second).Unix(), 10)},
		"end":   {strconv.FormatInt(end.Unix(), 10)},
		"step":  {"1"},
	}, &data)
	return data.Result, err
}

// LabelValues implements labelSource with /api/v1/label/<name>/values.
func (p promAPI) LabelValues(label, match string) ([]string, error) {
	params := url.Values{}
	if match != "" {
		params.Set("match[]", match)
	}
	var out []string
	err := p.get("/api/v1/label/"+url.PathEscape(label)+"/values", params, &out)
	return out, err
}

type ruleGroup struct {
	Name           string    `json:"name"`
	File           string    `json:"file"`
	LastEvaluation time.Time `json:"lastEvaluation"`
	Rules          []struct {
		Name      string `json:"name"`
		Type      string `json:"type"`
		Health    string `json:"health"`
		LastError string `json:"lastError"`
		State     string `json:"state"`
	} `json:"rules"`
}

func (p promAPI) rules() ([]ruleGroup, error) {
	var data struct {
		Groups []ruleGroup `json:"groups"`
	}
	return data.Groups, p.get("/api/v1/rules", nil, &data)
}

// webhookAlert is one alert of an Alertmanager webhook notification.
type webhookAlert struct {
	Receiver    string            // the path the notification came to
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// webhook collects the alerts Alertmanager delivers.
type webhook struct {
	mu     sync.Mutex
	alerts []webhookAlert
	bad    []string
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var msg struct {
		Version string         `json:"version"`
		Status  string         `json:"status"`
		Alerts  []webhookAlert `json:"alerts"`
	}
	err := json.NewDecoder(r.Body).Decode(&msg)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil || msg.Version != "4" {
		w.bad = append(w.bad, fmt.Sprintf("%s %s: version %q, %v", r.Method, r.URL.Path, msg.Version, err))
		http.Error(rw, "bad notification", http.StatusBadRequest)
		return
	}
	for _, a := range msg.Alerts {
		a.Receiver = r.URL.Path
		w.alerts = append(w.alerts, a)
	}
}

// received returns the firing alerts delivered so far named alertname.
func (w *webhook) received(alertname string) []webhookAlert {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []webhookAlert
	for _, a := range w.alerts {
		if a.Labels["alertname"] == alertname && a.Status == "firing" {
			out = append(out, a)
		}
	}
	return out
}

func (w *webhook) problems() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.bad...)
}
