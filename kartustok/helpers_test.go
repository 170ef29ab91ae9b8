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

package kartustok

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// testToken is the token the unit tests send; every test that sees an
// error checks that it does not appear in it.
const testToken = "ks_test_S3cr3t-T0ken-value"

// recorder is an Observer that keeps everything it is told.
type recorder struct {
	mu       sync.Mutex
	reqs     []RequestInfo
	waits    []time.Duration
	listings []ListReport
}

func (r *recorder) ObserveListing(l ListReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listings = append(r.listings, l)
}

func (r *recorder) Listings() []ListReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ListReport(nil), r.listings...)
}

func (r *recorder) ObserveRequest(i RequestInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, i)
}

func (r *recorder) ObserveBudgetWait(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits = append(r.waits, d)
}

func (r *recorder) Requests() []RequestInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RequestInfo(nil), r.reqs...)
}

func (r *recorder) TotalWait() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var t time.Duration
	for _, w := range r.waits {
		t += w
	}
	return t
}

// handlerTransport serves requests from a handler in the calling
// goroutine, with no network, so that tests inside a synctest bubble see
// every goroutine durably blocked and the fake clock advances.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req.RemoteAddr = "127.0.0.1:40000" // as a loopback server would see it
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// newTestClient starts h on loopback and returns a client for it.
func newTestClient(t *testing.T, h http.Handler, opts ...Option) (*Client, *recorder) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rec := &recorder{}
	c, err := New(srv.URL, StaticToken(testToken), append([]Option{WithObserver(rec), WithCautiousStart(false)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// newBubbleClient returns a client that calls h in-process, for synctest.
func newBubbleClient(t *testing.T, h http.Handler, opts ...Option) (*Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	opts = append([]Option{WithObserver(rec), WithTransport(handlerTransport{h}), WithCautiousStart(false)}, opts...)
	c, err := New("https://sinarjaya.kartustok.com", StaticToken(testToken), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// assertNoToken fails when the token appears in an error.
func assertNoToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testToken) {
		t.Errorf("error contains the token: %v", err)
	}
}

// newLoopbackServer starts h on loopback for the test's duration.
func newLoopbackServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// synctestRun runs f in a synctest bubble with a fake clock.
func synctestRun(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, f)
}

// roundTripFunc is a RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Recorder and InProcess serve the contract tests of package
// kartustok_test as well.
type Recorder = recorder

// InProcess returns a transport that serves requests from h in-process.
func InProcess(h http.Handler) http.RoundTripper { return handlerTransport{h} }

// decodeStrict decodes a list page and fails on the first skipped row, for
// tests of what a row may hold.
func decodeStrict[T keyed](body []byte) ([]T, *PageMeta, error) {
	p, err := decodeList[T](body, 1)
	if err != nil {
		return nil, nil, err
	}
	if len(p.invalid) > 0 {
		return nil, nil, errors.New(p.invalid[0].String())
	}
	return p.rows, p.meta, nil
}
