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
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// TestSlowAndIdleClientsLetGo runs the exporter with short timeouts and a
// bound of a few connections against clients that hold what they can: two
// that take both --web.max-requests slots and then read nothing of their
// answers, keep-alive connections left idle after a request, and
// connections that never send one; more connections in all than the bound.
// A scrape still gets its answer once the timeouts have passed, the server
// cuts the slow readers' answers and closes every one of those
// connections, and the API is polled throughout.
func TestSlowAndIdleClientsLetGo(t *testing.T) {
	company := kartustoktest.NewCompany(kartustoktest.Config{Locators: 3, Items: 1000})
	sim, err := kartustoktest.Start("127.0.0.1:0", company, kartustoktest.WithRateLimit(6000, time.Minute))
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeToken(t, tokenFile, company.AddToken(kartustoktest.TokenSpec{})+"\n", 0o600)
	addr := testkit.FreeAddr(t)

	var logs syncWriter
	cfg, done, code := parseFlags([]string{
		"--kartustok.url=" + sim.URL, "--kartustok.token-file=" + tokenFile, "--kartustok.rate-limit=6000",
		"--sync.health-interval=1s", "--sync.stock-interval=2s",
		"--web.listen-address=" + addr, "--web.max-requests=2",
	}, io.Discard, &logs)
	require.False(t, done, "exit %d: %s", code, logs.String())
	const bound = 8
	cfg.server = serverLimits{
		readHeaderTimeout: time.Second, readTimeout: 3 * time.Second,
		writeTimeout: 3 * time.Second, idleTimeout: time.Second,
		maxConns: bound,
	}
	logger, slogger := newLoggers(&logs, cfg.logLevel, cfg.logFormat)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, cfg, logger, slogger) }()
	base := "http://" + addr
	waitReadyURL(t, base, &logs)

	scraper := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	scrape := func() (int, string) {
		resp, err := scraper.Get(base + "/metrics")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, err.Error()
		}
		return resp.StatusCode, string(b)
	}
	// The first scrape encodes what later ones share; on a busy machine
	// it may take longer than the short write timeout.
	var full string
	require.Eventually(t, func() bool {
		code, full = scrape()
		return code == http.StatusOK
	}, time.Minute, 50*time.Millisecond, "no scrape answered: %d %.200s", code, full)
	t.Logf("the answer is %d bytes", len(full))

	// Slow readers: each gets a slot and an answer it does not read.
	type held struct {
		conn net.Conn
		br   *bufio.Reader
		resp *http.Response
	}
	var slow []held
	for _, enc := range []string{"", "Accept-Encoding: gzip\r\n"} {
		c, err := slowDialer.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: %s\r\n%s\r\n", addr, enc)
		require.NoError(t, err)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "a slow reader got no slot")
		slow = append(slow, held{c, br, resp})
	}
	// Keep-alive connections left idle after one request.
	var idle []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = fmt.Fprintf(c, "GET /-/healthy HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		idle = append(idle, c)
	}
	// Connections that never send a request, beyond the bound.
	var silent []net.Conn
	for range 12 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		silent = append(silent, c)
	}
	polled := sim.Count("", 0)
	code, _ = scrape()
	t.Logf("a scrape while the slow readers hold both slots: %d", code)

	// A scrape gets its answer once the slow readers lost their slots
	// and the silent connections theirs.
	var body string
	require.Eventually(t, func() bool {
		code, body = scrape()
		return code == http.StatusOK
	}, time.Minute, 50*time.Millisecond, "no scrape answered while slow and idle clients hold on; the last one: %d %.200s", code, body)
	assert.Contains(t, body, "kartustok_stock_on_hand{")

	// Both slow readers' answers were cut at the write timeout.
	require.Eventually(t, func() bool {
		cut := 0
		for l := range strings.SplitSeq(logs.String(), "\n") {
			if strings.Contains(l, "error writing the response:") && strings.Contains(l, "i/o timeout") {
				cut++
			}
		}
		return cut >= len(slow)
	}, time.Minute, 50*time.Millisecond, "the slow readers' answers were not cut:\n%s", logs.String())
	deadline := time.Now().Add(time.Minute)
	for i, h := range slow {
		require.NoError(t, h.conn.SetReadDeadline(deadline))
		n, err := io.Copy(io.Discard, h.resp.Body)
		assert.True(t, errors.Is(err, io.ErrUnexpectedEOF) || isReset(err), "slow reader %d: the answer was not cut: read %d bytes, then %v", i, n, err)
		require.NoError(t, drainClosed(h.conn, h.br, deadline), "slow reader %d: the server kept the connection open", i)
	}
	for i, c := range idle {
		require.NoError(t, drainClosed(c, nil, deadline), "idle keep-alive connection %d: the server kept it open", i)
	}
	for i, c := range silent {
		require.NoError(t, drainClosed(c, nil, deadline), "connection %d without a request: the server kept it open", i)
	}

	// The API was polled meanwhile, and still is.
	require.Eventually(t, func() bool { return sim.Count("", 0) > polled }, time.Minute, 50*time.Millisecond, "the API was not polled")

	cancel()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("did not stop after cancellation")
	}
}

// slowDialer connects with a tiny receive buffer and segment size, so that
// a client that stops reading stops the server's writes after some tens of
// kilobytes, well within the answers of the company above, plain or gzip;
// with the usual loopback segments of 64 KiB the kernel would take over a
// megabyte of the answer into its buffers first.
var slowDialer = net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
	var err error
	cerr := c.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024)
		if err == nil {
			err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 536)
		}
	})
	return cmp.Or(cerr, err)
}}

// drainClosed reads c, through br when given, to its end: nil when the
// server closed it (EOF or reset), else the error, a timeout when the
// server kept it open past deadline.
func drainClosed(c net.Conn, br *bufio.Reader, deadline time.Time) error {
	if err := c.SetReadDeadline(deadline); err != nil {
		return err
	}
	var r io.Reader = c
	if br != nil {
		r = br
	}
	_, err := io.Copy(io.Discard, r)
	if err == nil || isReset(err) {
		return nil
	}
	return err
}

// isReset reports whether err is a connection reset by the peer.
func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// TestBinaryPollsThroughAConnectionFlood runs the binary with a limit of
// 128 open files and opens more keep-alive connections to it than that,
// each left idle after a request. The exporter serves no more of them than
// its bound derived from the limit, and goes on reading its token file and
// polling the API.
func TestBinaryPollsThroughAConnectionFlood(t *testing.T) {
	bin := buildBinary(t)
	company := kartustoktest.NewCompany(kartustoktest.Config{Locators: 1, Items: 20})
	sim, err := kartustoktest.Start("127.0.0.1:0", company)
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeToken(t, tokenFile, company.AddToken(kartustoktest.TokenSpec{})+"\n", 0o600)

	// The shell lowers the hard limit too, which Go would otherwise raise
	// the soft limit to.
	const nofile = 128
	cmd := exec.Command("sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, nofile), bin,
		"--kartustok.url="+sim.URL, "--kartustok.token-file="+tokenFile,
		"--web.listen-address=127.0.0.1:0", "--sync.health-interval=1s")
	p := startCmd(t, cmd, []string{"KARTUSTOK_TOKEN="})
	base := p.baseURL()
	waitReady(t, p, base)
	assert.Contains(t, p.output(), fmt.Sprintf("open_files_limit=%d max_connections=%d ", nofile, connectionBound(nofile)))

	addr := strings.TrimPrefix(base, "http://")
	for range nofile + 32 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = fmt.Fprintf(c, "GET /-/healthy HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		require.NoError(t, err)
	}
	polled := sim.Count("", 0)
	require.Eventually(t, func() bool { return sim.Count("", 0) >= polled+3 }, time.Minute, 50*time.Millisecond,
		"the API is no longer polled while idle connections flood the exporter:\n%s", p.output())
	assert.NotContains(t, p.output(), "too many open files")
}
