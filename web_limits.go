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
	"net"
	"sync"
	"time"
)

// The web server's timeouts. Prometheus gives up on a scrape after its
// scrape_timeout, 10s by default and never longer than its scrape_interval,
// so a scraper that takes minutes over one answer is no longer waiting for
// it; while it reads, it holds one of the --web.max-requests slots.
const (
	// readHeaderTimeout frees a connection that does not send its request
	// headers: a scraper sends them at once.
	readHeaderTimeout = 10 * time.Second
	// writeTimeout bounds sending an answer, from the end of its request.
	// A large company's answer is about 2.3 MB gzip, which a minute
	// carries at under 40 KB/s; a client reading slower than that loses
	// its slot, and its connection, within a minute.
	writeTimeout = time.Minute
	// readTimeout bounds reading a whole request, from its start. The
	// exporter's requests have no body, so this only stops a client that
	// trickles one. It is not shorter than writeTimeout: net/http cancels
	// a request's context when the read deadline passes while the answer
	// is still being written.
	readTimeout = writeTimeout
	// idleTimeout closes a keep-alive connection that sends no new
	// request. Prometheus keeps its connection between scrapes; two
	// minutes outlasts its default scrape_interval of 1m, so a scraper at
	// that interval or faster keeps its connection, while one that went
	// away frees it.
	idleTimeout = 2 * time.Minute
)

// The bound on the web server's open connections, all listeners together.
// A connection beyond it waits, unserved, until another closes (see
// limitListener): scrapers then cannot take the file descriptors the
// exporter needs for its own work, reading the token file and calling the
// API.
const (
	// maxConnections is the bound when file descriptors are plentiful:
	// far more than scrapers need, as a Prometheus server keeps one
	// connection to its target.
	maxConnections = 512
	// fdHeadroom is what the bound leaves of the open files limit before
	// halving the rest: the exporter's standard streams, listeners, API
	// connections and token file reads, with room to spare.
	fdHeadroom = 64
)

// serverLimits bound what clients can hold of the web server. They are not
// flags; tests shorten them.
type serverLimits struct {
	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout time.Duration
	// maxConns bounds the open connections of all listeners together;
	// 0 derives it from the open files limit (connectionBound).
	maxConns int
}

// defaultServerLimits are the limits of a start.
func defaultServerLimits() serverLimits {
	return serverLimits{
		readHeaderTimeout: readHeaderTimeout,
		readTimeout:       readTimeout,
		writeTimeout:      writeTimeout,
		idleTimeout:       idleTimeout,
	}
}

// connectionBound is the bound on open web connections for a soft open
// files limit of nofile (0 when unknown): maxConnections, but at most half
// of what the limit leaves after fdHeadroom, and at least 1. On Unix, Go
// raises the soft limit as far as the hard limit allows when the process
// starts, so nofile is in effect the hard limit.
func connectionBound(nofile uint64) int {
	switch {
	case nofile == 0:
		return maxConnections
	case nofile <= fdHeadroom:
		return 1
	}
	return int(max(1, min(maxConnections, (nofile-fdHeadroom)/2)))
}

// limitListeners returns listeners that, together, keep at most n
// connections open.
func limitListeners(listeners []net.Listener, n int) []net.Listener {
	slots := make(chan struct{}, n)
	limited := make([]net.Listener, len(listeners))
	for i, l := range listeners {
		limited[i] = &limitListener{Listener: l, slots: slots, closed: make(chan struct{})}
	}
	return limited
}

// limitListener hands out a connection only once it holds one of the
// slots it shares with the other listeners; the connection gives the slot
// back when it closes. Each listener accepts at most one connection ahead,
// which waits in Accept for a slot; those beyond it stay in the kernel's
// listen backlog, neither accepted nor dropped, and take no descriptor.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	select {
	case l.slots <- struct{}{}:
		return &limitConn{Conn: c, slots: l.slots}, nil
	case <-l.closed:
		_ = c.Close()
		return nil, &net.OpError{Op: "accept", Net: l.Addr().Network(), Addr: l.Addr(), Err: net.ErrClosed}
	}
}

// Close closes the listener and ends an Accept that waits for a slot.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitConn is a connection holding a slot of its listener.
type limitConn struct {
	net.Conn
	slots       chan struct{}
	releaseOnce sync.Once
}

// Close closes the connection and gives its slot back, once.
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.releaseOnce.Do(func() { <-c.slots })
	return err
}

// CloseWrite passes on the half-close net/http uses to end a connection
// gracefully, where the connection has one (TCP, vsock).
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
