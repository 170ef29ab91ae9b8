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

package kartustoktest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Fault is an injected misbehaviour. Zero fields do nothing.
//
// Latency, Status, HTML502 and RateLimited act before authentication, as a
// proxy or an overloaded server in front of the application would; the
// other fields change a successful (200) answer. Times counts the requests
// the fault was taken for, whatever their outcome.
type Fault struct {
	Latency       time.Duration
	Status        int    // answer with this status (e.g. 500, 503) and a JSON error body
	HTML502       bool   // answer 502 with an HTML page, as a proxy would
	Truncate      bool   // cut the success body in the middle
	InvalidJSON   bool   // answer 200 with a body that is not JSON
	WrongTypes    bool   // send objects where strings/numbers are expected
	OversizeBytes int64  // pad the success body to at least this size
	EndlessPages  bool   // claim last_page is far away and never send a short page
	RateLimited   bool   // answer 429 with Retry-After, as a throttle storm would
	Times         int    // apply to this many matching requests, 0 = until cleared
	ContentType   string // override the Content-Type of the answer

	// RetryAfter is the Retry-After of a RateLimited answer, rounded up to
	// whole seconds; default 60 s.
	RetryAfter time.Duration
}

type faultState struct {
	f    Fault
	left int // requests left when f.Times > 0
}

// SetFault injects f on requests to endpoint (a path template such as
// "/stock/summary", or "*" for all). A fault for the endpoint itself wins
// over "*".
func (s *Server) SetFault(endpoint string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[endpoint] = &faultState{f: f, left: f.Times}
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// takeFault returns the fault to apply to one request to endpoint, and
// counts it against Times.
func (s *Server) takeFault(endpoint string) *faultState {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{endpoint, "*"} {
		fs := s.faults[key]
		if fs == nil {
			continue
		}
		if fs.f.Times > 0 {
			fs.left--
			if fs.left <= 0 {
				delete(s.faults, key)
			}
		}
		return fs
	}
	return nil
}

const html502 = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

// applyEarlyFault applies the parts of a fault that answer before the
// application does; nil lets the request through.
func (s *Server) applyEarlyFault(ctx context.Context, fs *faultState, now time.Time) *response {
	f := fs.f
	if f.Latency > 0 && !waitLatency(ctx, f.Latency) {
		return &response{status: StatusClientGone, aborted: true}
	}
	var resp *response
	switch {
	case f.HTML502:
		resp = &response{status: http.StatusBadGateway, body: []byte(html502), ctype: "text/html"}
	case f.Status != 0:
		msg := http.StatusText(f.Status)
		if f.Status == http.StatusInternalServerError {
			msg = "Server Error" // Laravel's wording
		}
		resp = apiError(f.Status, msg)
	case f.RateLimited:
		retry := f.RetryAfter
		if retry <= 0 {
			retry = time.Minute
		}
		secs := int((retry + time.Second - 1) / time.Second)
		resp = laravelError(http.StatusTooManyRequests, "Too Many Attempts.")
		limit := s.limit
		if limit <= 0 {
			limit = 120 // the documented limit, when the simulated throttle is off
		}
		resp.header = rateLimit{limit: limit, retryAfter: secs, reset: now.Unix() + int64(secs)}.headers()
	default:
		return nil
	}
	if f.ContentType != "" {
		resp.ctype = f.ContentType
	}
	return resp
}

// applyBody applies the parts of a fault that spoil a successful answer.
func (fs *faultState) applyBody(resp *response) {
	f := fs.f
	if resp.status != http.StatusOK {
		return
	}
	if f.WrongTypes {
		var v map[string]any
		if json.Unmarshal(resp.body, &v) == nil {
			v["data"] = wrongTypes(v["data"])
			resp.body, _ = json.Marshal(v)
		}
	}
	if f.InvalidJSON {
		resp.body = []byte(`{"status":"success","data":[{"id":'x', "name": "unterminated}`)
	}
	if n := f.OversizeBytes - int64(len(resp.body)); n > 0 && bytes.HasPrefix(resp.body, []byte("{")) {
		pad := `{"padding":"` + strings.Repeat("x", int(n)) + `",`
		resp.body = append([]byte(pad), resp.body[1:]...)
	}
	if f.Truncate {
		resp.cutBody = true
	}
	if f.ContentType != "" {
		resp.ctype = f.ContentType
	}
}

// wrongTypes replaces every string and number under v with an object, so
// fields a client expects as IDs, names or quantities have the wrong type.
func wrongTypes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = wrongTypes(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = wrongTypes(e)
		}
		return x
	case string, float64:
		return map[string]any{"value": x}
	}
	return v
}
