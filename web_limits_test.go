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
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConnectionBound(t *testing.T) {
	for nofile, want := range map[uint64]int{
		0:          maxConnections, // unknown
		1 << 20:    maxConnections,
		1088:       maxConnections,
		1024:       480,
		256:        96,
		100:        18,
		66:         1,
		64:         1,
		10:         1,
		^uint64(0): maxConnections, // RLIM_INFINITY
	} {
		assert.Equal(t, want, connectionBound(nofile), "open files limit %d", nofile)
	}
	// Whatever this process's limit, the bound leaves the exporter at
	// least fdHeadroom descriptors and as many as the connections take.
	if nofile := openFilesLimit(); nofile > 2*fdHeadroom {
		assert.LessOrEqual(t, uint64(2*connectionBound(nofile)+fdHeadroom), nofile)
	}
}

// TestLimitListenersShareOneBound: listeners limited together hand out at
// most their bound of connections; one beyond it waits, not dropped, until
// another closes; and closing a listener ends an Accept that waits for a
// slot.
func TestLimitListenersShareOneBound(t *testing.T) {
	raw := loopbackListeners(t, 2)
	limited := limitListeners(raw, 2)
	accepted := make(chan net.Conn, 8)
	acceptErr := make(chan error, 2)
	for _, l := range limited {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					acceptErr <- err
					return
				}
				accepted <- c
			}
		}()
	}
	dial := func(l net.Listener, greeting string) net.Conn {
		c, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = io.WriteString(c, greeting)
		require.NoError(t, err)
		return c
	}
	next := func() net.Conn {
		select {
		case c := <-accepted:
			return c
		case <-time.After(time.Minute):
			require.FailNow(t, "no connection accepted within a minute")
			return nil
		}
	}
	greeting := func(c net.Conn) string {
		b := make([]byte, 6)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute)))
		_, err := io.ReadFull(c, b)
		require.NoError(t, err)
		return string(b)
	}

	// notAccepted fails when a connection is accepted within a moment;
	// it cannot tell one accepted later.
	notAccepted := func(msg string) {
		select {
		case c := <-accepted:
			c.Close()
			require.FailNow(t, msg)
		case <-time.After(200 * time.Millisecond):
		}
	}

	dial(raw[0], "first\n")
	dial(raw[1], "secnd\n")
	first, second := next(), next()
	third := dial(raw[0], "third\n")
	notAccepted("a third connection was accepted while two were open")
	// The waiting client's connection is open: the server has not
	// accepted and dropped it.
	require.NoError(t, third.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	_, err := third.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the waiting connection was closed")

	got := []string{greeting(first), greeting(second)}
	require.NoError(t, first.Close())
	_ = first.Close() // gives back no second slot
	c := next()
	assert.Equal(t, "third\n", greeting(c), "the connection that waited is served, with what it sent")
	assert.ElementsMatch(t, []string{"first\n", "secnd\n"}, got)
	dial(raw[1], "forth\n")
	notAccepted("a fourth connection was accepted while two were open")

	// Closing the listeners ends their Accept, the one waiting for a
	// slot with the fourth connection too.
	closeAll(limited)
	for range limited {
		select {
		case err := <-acceptErr:
			require.ErrorIs(t, err, net.ErrClosed)
		case <-time.After(time.Minute):
			require.FailNow(t, "Accept did not end when its listener closed")
		}
	}
	second.Close()
	c.Close()
}

// TestServeHTTPLogsItsLimits: a start says once what bounds the web server,
// with the bound derived from the open files limit.
func TestServeHTTPLogsItsLimits(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	var logs syncWriter
	logger, slogger := newLoggers(&logs, "info", "logfmt")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	noWebConfig := ""
	flags := &web.FlagConfig{WebConfigFile: &noWebConfig}
	require.NoError(t, serveHTTP(ctx, []net.Listener{l}, nil, flags, defaultServerLimits(), logger, slogger))
	want := fmt.Sprintf(`max_connections=%d read_header_timeout=10s read_timeout=1m0s write_timeout=1m0s idle_timeout=2m0s`, connectionBound(openFilesLimit()))
	lines := strings.Split(logs.String(), "\n")
	var said []string
	for _, l := range lines {
		if strings.Contains(l, `msg="Limiting the web server's connections and timeouts"`) {
			said = append(said, l)
		}
	}
	require.Len(t, said, 1, logs.String())
	assert.Contains(t, said[0], want)
	if nofile := openFilesLimit(); nofile != 0 {
		assert.Contains(t, said[0], fmt.Sprintf("open_files_limit=%d ", nofile))
	}
}

// TestServeHTTPBoundsConnections: the servers of all listeners together
// keep at most their bound of connections, idle keep-alive ones included; a
// request on one more connection waits, unserved but not dropped, until
// one of them closes.
func TestServeHTTPBoundsConnections(t *testing.T) {
	raw := loopbackListeners(t, 2)
	entered := make(chan string, 4)
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- r.URL.Path
		<-release
		fmt.Fprintln(w, "ok")
	})
	limits := defaultServerLimits()
	limits.maxConns = 2
	noWebConfig := ""
	logger, slogger := newLoggers(io.Discard, "info", "logfmt")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- serveHTTP(ctx, raw, handler, &web.FlagConfig{WebConfigFile: &noWebConfig}, limits, logger, slogger)
	}()

	send := func(l net.Listener, path string) net.Conn {
		c, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path)
		require.NoError(t, err)
		return c
	}
	next := func() string {
		select {
		case p := <-entered:
			return p
		case <-time.After(time.Minute):
			require.FailNow(t, "no request served within a minute")
			return ""
		}
	}
	// notServed fails when a request is served within a moment; it
	// cannot tell one served later.
	notServed := func(msg string) {
		select {
		case p := <-entered:
			require.FailNow(t, msg, "served %s", p)
		case <-time.After(200 * time.Millisecond):
		}
	}
	answered := func(c net.Conn) {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute)))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}

	a, b := send(raw[0], "/a"), send(raw[1], "/b")
	assert.ElementsMatch(t, []string{"/a", "/b"}, []string{next(), next()})
	c := send(raw[0], "/c")
	notServed("a third connection was served while two were open")
	close(release)
	answered(a)
	answered(b)
	notServed("a third connection was served while two idle keep-alive connections were open")
	require.NoError(t, a.Close())
	assert.Equal(t, "/c", next(), "the connection that waited is served once one closed")
	answered(c)

	cancel()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		require.FailNow(t, "serveHTTP did not return after cancellation")
	}
}

// loopbackListeners listens on n loopback ports until the test ends.
func loopbackListeners(t *testing.T, n int) []net.Listener {
	t.Helper()
	var ls []net.Listener
	var lc net.ListenConfig
	for range n {
		l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ls = append(ls, l)
	}
	t.Cleanup(func() { closeAll(ls) })
	return ls
}
