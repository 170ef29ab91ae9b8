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
	"fmt"
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

	// ClaimNoneRemaining makes every answer that passed the throttle say
	// X-RateLimit-Remaining: 0, as a server would whose count another
	// client has spent, while it still serves the request.
	ClaimNoneRemaining bool

	// The fields below make a paginated list (/items, /stock/summary,
	// /stock/detail) lie about its paging, as an offset paginator over
	// changing data or a broken server does. IgnorePage wins over Shift
	// and TotalDrift, which act on pages > 1 only; LastPage, NoTotal and
	// NoMeta override whatever the others computed.

	// IgnorePage answers page 1's rows whatever page is asked, with
	// meta.current_page 1, as Laravel reports it; total and last_page are
	// the true ones.
	IgnorePage bool
	// EchoPage, with IgnorePage, reports the page asked for as
	// meta.current_page, so that only the repeated rows tell.
	EchoPage bool
	// Shift makes every page > 1 answer as if Shift rows had been inserted
	// at the very start of the list since page 1 was read (a negative Shift:
	// removed from its start): the page holds the rows at offsets shifted
	// down by Shift, so the last Shift rows of the previous page come again
	// at its top (a negative Shift skips -Shift rows), and meta.total and
	// meta.last_page count the inserted rows. The inserted rows themselves
	// are never served: a page whose offsets would reach them (Shift larger
	// than the rows before the page) holds only the real rows, and is short.
	// Page 1 is unaffected. With Times 1 only one request is shifted, so a
	// client that then reads again from page 1 gets the true listing.
	Shift int
	// TotalDrift adds this to meta.total on every page > 1 (the result is
	// never below 0); the rows and last_page stay true.
	TotalDrift int
	// LastPage, when > 0, is reported as meta.last_page (1 understates a
	// long list, 1_000_000_000 makes it endless); rows and total stay true.
	LastPage int
	// NoTotal leaves total out of the meta block.
	NoTotal bool
	// NoMeta leaves the meta block out of the answer.
	NoMeta bool

	// RowField, when not empty, spoils one field of the rows of a list
	// answer: the field RowField of the row at index RowIndex of the whole
	// listing (0 is the first row of page 1; without the paging faults
	// above it is on page RowIndex/per_page+1 at position
	// RowIndex%per_page), wherever that row is served, becomes the raw JSON
	// text RowValue, or is deleted when RowValue is "". RowIndex -1 spoils
	// every row of every page. Pages without that row are unchanged. An
	// unpaginated list (/locators, /item-categories) is indexed by array
	// position; in an object answer (/health, /meta/company, /items/{id})
	// the data object itself is spoiled and RowIndex is ignored. The other
	// values of a spoiled row keep their exact bytes, but its keys may be
	// reordered. RowValue reaches the wire as written (1e400 stays 1e400),
	// except that, like the whole body, it passes PHP's escaping of "/" and
	// of non-ASCII characters. SetFault panics when RowValue is neither
	// empty nor valid JSON.
	RowField string
	RowValue string
	RowIndex int
	// RowRepeat, with RowField and RowValue, repeats a key instead of
	// replacing a value: the spoiled row keeps every key and value as
	// they were, in their order, and ends with RowField once more, holding
	// RowValue. A decoder that takes the last of a repeated key, as
	// encoding/json does, reads RowValue. RowField is sent as written, so
	// "ENDING_QTY" repeats "ending_qty" in another case, which
	// encoding/json also takes for the same key; a RowField the row does
	// not hold is simply added. Which rows are spoiled is as above.
	// SetFault panics when RowRepeat is set without a RowValue.
	RowRepeat bool
}

type faultState struct {
	f    Fault
	left int // requests left when f.Times > 0
}

// SetFault injects f on requests to endpoint (a path template such as
// "/stock/summary", or "*" for all). A fault for the endpoint itself wins
// over "*".
func (s *Server) SetFault(endpoint string, f Fault) {
	if f.RowValue != "" && !json.Valid([]byte(f.RowValue)) {
		panic(fmt.Sprintf("kartustoktest: Fault.RowValue %.40q is not JSON", f.RowValue))
	}
	if f.RowRepeat && f.RowValue == "" {
		panic("kartustoktest: Fault.RowRepeat needs a RowValue to repeat the key with")
	}
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

// rowSpoil is the RowField, RowValue, RowIndex and RowRepeat part of a
// fault.
type rowSpoil struct {
	field, value string
	index        int // -1: every row
	repeat       bool
}

// rowSpoil returns the row spoiling f asks for; nil when none (also for a
// nil f).
func (f *Fault) rowSpoil() *rowSpoil {
	if f == nil || f.RowField == "" {
		return nil
	}
	return &rowSpoil{field: f.RowField, value: f.RowValue, index: f.RowIndex, repeat: f.RowRepeat}
}

// hits reports whether the row at index i of the listing is spoiled.
func (sp *rowSpoil) hits(i int) bool {
	return sp != nil && (sp.index < 0 || sp.index == i)
}

// row renders the row at index i of a listing: v itself, or v spoiled.
func (sp *rowSpoil) row(i int, v any) any {
	if !sp.hits(i) {
		return v
	}
	return sp.object(mustMarshal(v))
}

// data spoils an unpaginated answer's data: the hit elements of an array,
// or the object itself.
func (sp *rowSpoil) data(v any) any {
	b := mustMarshal(v)
	var arr []json.RawMessage
	if json.Unmarshal(b, &arr) != nil {
		return sp.object(b)
	}
	for i, e := range arr {
		if sp.hits(i) {
			arr[i] = sp.object(e)
		}
	}
	return arr
}

// object sets or deletes the field of one JSON object, keeping the bytes
// of every other value, or repeats it (see Fault.RowRepeat); anything but
// an object is returned unchanged.
func (sp *rowSpoil) object(b json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil || m == nil {
		return b
	}
	if sp.repeat {
		b = bytes.TrimSpace(b)
		out := append([]byte(nil), b[:len(b)-1]...) // without its "}"
		if len(m) > 0 {
			out = append(out, ',')
		}
		out = append(out, mustMarshal(sp.field)...)
		out = append(out, ':')
		out = append(out, sp.value...)
		return append(out, '}')
	}
	if sp.value == "" {
		delete(m, sp.field)
	} else {
		m[sp.field] = json.RawMessage(sp.value)
	}
	return mustMarshal(m)
}

// mustMarshal encodes the simulator's own values, which always encode.
func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
