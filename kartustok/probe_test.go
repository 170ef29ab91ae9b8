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

package kartustok_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// probeToken is the token the probes of a hand-made server send.
const probeToken = "ks_probe_S3cr3tT0kenValue"

// probeClient returns a client that serves its requests from h, in
// process, and counts them; call it inside a synctest bubble.
func probeClient(t *testing.T, h http.HandlerFunc, opts ...kartustok.Option) (*kartustok.Client, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	})
	opts = append([]kartustok.Option{kartustok.WithTransport(kartustok.InProcess(counted)), kartustok.WithCautiousStart(false)}, opts...)
	c, err := kartustok.New("https://sinarjaya.kartustok.com", kartustok.StaticToken(probeToken), opts...)
	require.NoError(t, err)
	return c, &n
}

// answer is a handler that answers status with body as JSON.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// TestProbeAnswersAsACallIsSent: one request, sent and reported as a
// call's, whose answer comes back as it came.
func TestProbeAnswersAsACallIsSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, srv, obs, tok := bubble(t, nil, kartustoktest.TokenSpec{})
		q := url.Values{"page": {"1"}, "per_page": {"100"}}
		a := c.Probe(t.Context(), kartustok.EndpointItems, q)
		require.NoError(t, a.Err)
		assert.Equal(t, http.StatusOK, a.Status)
		assert.True(t, kartustok.IsJSON(a.Header.Get("Content-Type")))
		var rows []json.RawMessage
		require.NoError(t, json.Unmarshal(a.Data, &rows))
		assert.Len(t, rows, 100)
		require.NotNil(t, a.Meta)
		require.NotNil(t, a.Meta.Total)
		assert.Equal(t, 120, *a.Meta.Total)
		assert.Contains(t, string(a.Body), `"data"`)
		assert.Equal(t, kartustok.RateLimitReading{Limit: 120, Remaining: 119}, a.RateLimit)

		logged := srv.Requests()
		require.Len(t, logged, 1)
		assert.Equal(t, "page=1&per_page=100", logged[0].Query)
		assert.Equal(t, tok, logged[0].Token)
		assert.Equal(t, "application/json", logged[0].Accept)
		reqs := obs.Requests()
		require.Len(t, reqs, 1, "a probe is reported as any request")
		assert.Equal(t, kartustok.RequestInfo{Endpoint: kartustok.EndpointItems, Status: 200, Attempt: 1, Bytes: int64(len(a.Body))},
			kartustok.RequestInfo{Endpoint: reqs[0].Endpoint, Status: reqs[0].Status, Attempt: reqs[0].Attempt, Bytes: reqs[0].Bytes})
		assert.Equal(t, kartustok.RateLimitStatus{Known: true, Limit: 120, Remaining: 119, At: c.RateLimit().At}, c.RateLimit(),
			"the client's budget learnt the server's count")
	})
}

// TestProbeNeverRetries: a call retries a 5xx; a probe reports it.
func TestProbeNeverRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, srv, _, _ := bubble(t, nil, kartustoktest.TokenSpec{}, kartustok.WithMaxRetries(2))
		srv.SetFault(kartustok.EndpointHealth, kartustoktest.Fault{Status: http.StatusServiceUnavailable})
		a := c.Probe(t.Context(), kartustok.EndpointHealth, nil)
		assert.Equal(t, kartustok.KindServerError, kartustok.KindOf(a.Err))
		assert.Equal(t, http.StatusServiceUnavailable, a.Status)
		assert.NotEmpty(t, a.Body)
		assert.Nil(t, a.Data)
		assert.Equal(t, 1, srv.Count("", 0))
	})
}

// TestProbeRedirects: a redirect within the host is followed, as a call
// follows it; one to another host or scheme, or one too many, is the
// answer, with its Location.
func TestProbeRedirects(t *testing.T) {
	for _, tc := range []struct {
		name     string
		location string
		status   int
		sent     int32
	}{
		{"another host", "https://elsewhere.example/public/v1/health", http.StatusFound, 1},
		{"another scheme", "http://sinarjaya.kartustok.com/public/v1/health", http.StatusFound, 1},
		{"the same host, for ever", "/public/v1/health", http.StatusFound, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, sent := probeClient(t, func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, tc.location, http.StatusFound)
				})
				a := c.Probe(t.Context(), kartustok.EndpointHealth, nil)
				assert.Equal(t, tc.status, a.Status)
				assert.Equal(t, tc.location, a.Header.Get("Location"))
				assert.Equal(t, kartustok.KindNetwork, kartustok.KindOf(a.Err))
				assert.Equal(t, tc.sent, sent.Load())
			})
		})
	}
	t.Run("the same host, once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, sent := probeClient(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/public/v1/health" {
					http.Redirect(w, r, "/public/v1/moved", http.StatusMovedPermanently)
					return
				}
				answer(http.StatusOK, `{"status":"success","data":{"status":"ok"}}`)(w, r)
			})
			a := c.Probe(t.Context(), kartustok.EndpointHealth, nil)
			require.NoError(t, a.Err)
			assert.Equal(t, http.StatusOK, a.Status)
			assert.JSONEq(t, `{"status":"ok"}`, string(a.Data))
			assert.Equal(t, int32(2), sent.Load())
		})
	})
}

// TestProbeBodies: what a probe keeps of each kind of answer, and how
// the client classifies it.
func TestProbeBodies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		endpoint string
		h        http.HandlerFunc
		kind     kartustok.ErrorKind
		is       error  // what the error must be, when set
		contains string // what the error says, when set
		body     string // what the body must hold, when set
		data     bool
		tooLarge bool
	}{
		{
			name: "an error body that echoes the token", endpoint: kartustok.EndpointHealth,
			h:    answer(http.StatusUnauthorized, `{"status":"error","message":"token `+probeToken+` is unknown"}`),
			kind: kartustok.KindUnauthorized, body: "token [redacted] is unknown",
		},
		{
			name: "HTML with a success status", endpoint: kartustok.EndpointHealth,
			h: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<title>Login</title>"))
			},
			kind: kartustok.KindInvalidResponse, body: "<title>Login</title>",
		},
		{
			name: "larger than the maximum", endpoint: kartustok.EndpointHealth,
			h:    answer(http.StatusOK, `{"status":"success","data":{"status":"`+strings.Repeat("x", 2048)+`"}}`),
			kind: kartustok.KindInvalidResponse, tooLarge: true,
		},
		{
			name: "an error status in a success", endpoint: kartustok.EndpointHealth,
			h:    answer(http.StatusOK, `{"status":"error","message":"maintenance"}`),
			kind: kartustok.KindInvalidResponse, is: kartustok.ErrNotSuccess, contains: `status "error" instead of "success": maintenance`,
		},
		{
			name: "no data", endpoint: kartustok.EndpointHealth,
			h:    answer(http.StatusOK, `{"status":"success","data":null}`),
			kind: kartustok.KindInvalidResponse, is: kartustok.ErrNoData,
		},
		{
			name: "broken JSON", endpoint: kartustok.EndpointHealth,
			h:    answer(http.StatusOK, `{"status":"success","data":{`),
			kind: kartustok.KindInvalidResponse, contains: "truncated JSON",
		},
		{
			name: "a key repeated in an object answer", endpoint: kartustok.EndpointCompany,
			h:    answer(http.StatusOK, `{"status":"success","data":{"id":"c1","timezone":"Asia/Jakarta","Timezone":"UTC"}}`),
			kind: kartustok.KindInvalidResponse, contains: `key "Timezone" repeated in data`,
		},
		{
			name: "a key repeated in the meta of a list", endpoint: kartustok.EndpointItems,
			h:    answer(http.StatusOK, `{"status":"success","data":[],"meta":{"total":0,"total":5}}`),
			kind: kartustok.KindInvalidResponse, contains: `key "total" repeated in meta`,
		},
		{
			name: "a key repeated in a row of a list, which only that row pays for", endpoint: kartustok.EndpointItems,
			h:    answer(http.StatusOK, `{"status":"success","data":[{"id":"a","id":"b"}],"meta":{"total":1}}`),
			data: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, sent := probeClient(t, tc.h, kartustok.WithMaxBodyBytes(1024))
				a := c.Probe(t.Context(), tc.endpoint, nil)
				assert.Equal(t, int32(1), sent.Load())
				assert.Equal(t, tc.kind, kartustok.KindOf(a.Err), "%v", a.Err)
				if tc.is != nil {
					require.ErrorIs(t, a.Err, tc.is)
				}
				if tc.contains != "" {
					require.ErrorContains(t, a.Err, tc.contains)
				}
				if tc.body != "" {
					assert.Contains(t, string(a.Body), tc.body)
				}
				assert.NotContains(t, string(a.Body), probeToken)
				assert.Equal(t, tc.data, a.Data != nil)
				assert.Equal(t, tc.tooLarge, a.TooLarge)
				if tc.tooLarge {
					assert.Nil(t, a.Body)
				}
			})
		})
	}
}

// TestProbeBodyIsACopy: the body a probe returns is the caller's; the
// client's buffer serves the next answer.
func TestProbeBodyIsACopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		c, _ := probeClient(t, func(w http.ResponseWriter, r *http.Request) {
			n++
			answer(http.StatusOK, `{"status":"success","data":{"status":"ok`+strings.Repeat("!", n)+`"}}`)(w, r)
		})
		first := c.Probe(t.Context(), kartustok.EndpointHealth, nil)
		c.Probe(t.Context(), kartustok.EndpointHealth, nil)
		assert.JSONEq(t, `{"status":"success","data":{"status":"ok!"}}`, string(first.Body))
		assert.JSONEq(t, `{"status":"ok!"}`, string(first.Data))
	})
}

// TestProbeRateLimit: the rate-limit headers as the client reads them,
// implausible values left out or cut.
func TestProbeRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
		want    kartustok.RateLimitReading
	}{
		{"none", nil, http.StatusOK, kartustok.RateLimitReading{Remaining: -1}},
		{
			"a 429",
			map[string]string{"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "0", "Retry-After": "42"},
			http.StatusTooManyRequests,
			kartustok.RateLimitReading{Limit: 120, Remaining: 0, RetryAfter: 42 * time.Second},
		},
		{
			"implausible",
			map[string]string{"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "99", "Retry-After": "86400"},
			http.StatusTooManyRequests,
			kartustok.RateLimitReading{
				Limit: 60, Remaining: -1, RetryAfter: kartustok.PauseWindows * kartustok.DefaultWindow,
				Implausible: []string{"X-RateLimit-Remaining", "Retry-After"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, _ := probeClient(t, func(w http.ResponseWriter, r *http.Request) {
					for k, v := range tc.headers {
						w.Header().Set(k, v)
					}
					answer(tc.status, `{"status":"success","data":{}}`)(w, r)
				})
				a := c.Probe(t.Context(), kartustok.EndpointHealth, nil)
				assert.Equal(t, tc.status, a.Status)
				assert.Equal(t, tc.want, a.RateLimit)
			})
		})
	}
}

// TestProbeSendsNothing: an endpoint with a parameter, or a token that
// cannot be read, sends no request.
func TestProbeSendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, sent := probeClient(t, answer(http.StatusOK, `{"status":"success","data":{}}`))
		a := c.Probe(t.Context(), kartustok.EndpointItem, nil)
		require.Error(t, a.Err)
		assert.Zero(t, a.Status)
		assert.Empty(t, kartustok.KindOf(a.Err))

		t.Setenv("KARTUSTOK_PROBE_TEST_TOKEN", "")
		c, err := kartustok.New("https://sinarjaya.kartustok.com", kartustok.TokenEnv("KARTUSTOK_PROBE_TEST_TOKEN"),
			kartustok.WithTransport(kartustok.InProcess(answer(http.StatusOK, `{}`))))
		require.NoError(t, err)
		a = c.Probe(t.Context(), kartustok.EndpointHealth, nil)
		require.ErrorIs(t, a.Err, kartustok.ErrNoToken)
		assert.Zero(t, a.Status)
		assert.Equal(t, int32(0), sent.Load())
	})
}

// TestDescribeBody: what an error body is, as the client reads it.
func TestDescribeBody(t *testing.T) {
	for _, tc := range []struct {
		contentType, body string
		kind              kartustok.BodyKind
		text              string
	}{
		{"application/json", `{"status":"error","message":"Token has been revoked"}`, kartustok.BodyMessage, "Token has been revoked"},
		{"application/json", `{"message":"Unauthenticated."}`, kartustok.BodyMessage, "Unauthenticated."},
		{"application/json", `{"status":"error"}`, kartustok.BodyJSON, ""},
		{"application/json", `[1,2]`, kartustok.BodyJSON, ""},
		{"application/json", " \n", kartustok.BodyEmpty, ""},
		{"text/html", "<html><title> 502 Bad Gateway </title></html>", kartustok.BodyHTML, " 502 Bad Gateway "},
		{"text/plain", "<p>no title</p>", kartustok.BodyHTML, ""},
		{"text/plain", "  upstream timed out \n", kartustok.BodyText, "upstream timed out"},
	} {
		kind, text := kartustok.DescribeBody(tc.contentType, []byte(tc.body))
		assert.Equal(t, tc.kind, kind, tc.body)
		assert.Equal(t, tc.text, text, tc.body)
	}
}

// TestProbeErrorsAreTheClients: a probe fails as a call to the same
// endpoint fails.
func TestProbeErrorsAreTheClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, srv, _, _ := bubble(t, nil, kartustoktest.TokenSpec{Scopes: []string{kartustoktest.ScopeMeta}})
		srv.SetFault(kartustok.EndpointHealth, kartustoktest.Fault{InvalidJSON: true})
		for _, endpoint := range []string{kartustok.EndpointHealth, kartustok.EndpointLocators} {
			a := c.Probe(t.Context(), endpoint, nil)
			var err error
			if endpoint == kartustok.EndpointHealth {
				_, err = c.Health(t.Context())
			} else {
				_, _, err = c.Locators(t.Context())
			}
			var pe, ce *kartustok.Error
			require.ErrorAs(t, a.Err, &pe)
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, ce.Kind, pe.Kind, endpoint)
			assert.Equal(t, ce.Status, pe.Status, endpoint)
			assert.Equal(t, ce.Forbidden, pe.Forbidden, endpoint)
			assert.Equal(t, ce.Error(), pe.Error(), endpoint)
		}
	})
}
