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

// Listening. exporter-toolkit's web.ListenAndServe does not serve here, for
// three reasons: it binds and serves in one call, so a port in use would
// show only after the exporter had started polling the API and said it
// listens; it serves every listener from one http.Server, whose handler
// web.Serve replaces for basic auth once per listener, concurrently; and it
// has no place for the bound on open connections. So listen binds what the
// toolkit's flags ask for (TCP addresses, vsock://:port, or the sockets
// systemd passes) before anything else starts, and serveHTTP serves each
// listener with the toolkit's web.Serve (TLS and basic auth from
// --web.config.file) on a server of its own.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/mdlayher/vsock"
	"github.com/prometheus/exporter-toolkit/web"
)

// listen binds every listener the web flags ask for, or takes the ones
// systemd passed. It runs before the exporter polls the API or says it is
// listening, so that a port in use stops start-up before either.
func listen(ctx context.Context, flags *web.FlagConfig, logger log.Logger) ([]net.Listener, error) {
	if flags.WebSystemdSocket != nil && *flags.WebSystemdSocket {
		passed, err := activation.Listeners()
		if err != nil {
			return nil, fmt.Errorf("--web.systemd-socket: %w", err)
		}
		// A descriptor that is not a stream socket has no listener.
		listeners := slices.DeleteFunc(passed, func(l net.Listener) bool { return l == nil })
		if len(listeners) == 0 {
			return nil, errors.New("--web.systemd-socket: systemd passed no listening socket; start the exporter from a .socket unit, or drop the flag")
		}
		level.Info(logger).Log("msg", "Using the sockets passed by systemd socket activation", "listeners", len(listeners))
		return listeners, nil
	}
	var listeners []net.Listener
	for _, addr := range *flags.WebListenAddresses {
		l, err := listenOn(ctx, addr)
		if err != nil {
			closeAll(listeners)
			return nil, err
		}
		listeners = append(listeners, l)
	}
	if len(listeners) == 0 {
		return nil, web.ErrNoListeners
	}
	return listeners, nil
}

// listenOn binds one --web.listen-address.
func listenOn(ctx context.Context, addr string) (net.Listener, error) {
	var l net.Listener
	var err error
	if strings.HasPrefix(addr, "vsock://") {
		var port uint32
		if port, err = vsockPort(addr); err != nil {
			return nil, err
		}
		l, err = vsock.Listen(port, nil)
	} else {
		var lc net.ListenConfig
		l, err = lc.Listen(ctx, "tcp", addr)
	}
	if err != nil {
		hint := ""
		if errors.Is(err, syscall.EADDRINUSE) {
			hint = "; another process, perhaps another kartustok_exporter, uses the port: stop it or choose another --web.listen-address"
		}
		return nil, fmt.Errorf("cannot listen on --web.listen-address=%s: %w%s", addr, err, hint)
	}
	return l, nil
}

func closeAll(listeners []net.Listener) {
	for _, l := range listeners {
		_ = l.Close()
	}
}

// serveHTTP serves handler on the bound listeners until ctx is done or one
// of them fails. exporter-toolkit serves each, with the TLS and basic auth
// of --web.config.file, and logs "Listening on" for it. Each listener has
// a server of its own: web.Serve wraps its server's handler for basic auth,
// which on a shared server it would do once per listener, concurrently.
// The servers share limits' bound on open connections and each has its
// timeouts, so that slow or idle clients let go of what they hold.
func serveHTTP(ctx context.Context, listeners []net.Listener, handler http.Handler, flags *web.FlagConfig, limits serverLimits, logger log.Logger, slogger *slog.Logger) error {
	kv := []any{"msg", "Limiting the web server's connections and timeouts"}
	if limits.maxConns == 0 {
		nofile := openFilesLimit()
		limits.maxConns = connectionBound(nofile)
		if nofile != 0 {
			kv = append(kv, "open_files_limit", nofile)
		}
	}
	level.Info(logger).Log(append(kv, "max_connections", limits.maxConns,
		"read_header_timeout", limits.readHeaderTimeout, "read_timeout", limits.readTimeout,
		"write_timeout", limits.writeTimeout, "idle_timeout", limits.idleTimeout)...)
	listeners = limitListeners(listeners, limits.maxConns)

	servers := make([]*http.Server, len(listeners))
	served := make(chan error, len(listeners))
	for i, l := range listeners {
		srv := &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: limits.readHeaderTimeout,
			ReadTimeout:       limits.readTimeout,
			WriteTimeout:      limits.writeTimeout,
			IdleTimeout:       limits.idleTimeout,
		}
		servers[i] = srv
		go func() { served <- web.Serve(l, srv, flags, slogger) }()
	}
	var err error
	pending := len(servers)
	select {
	case err = <-served:
		// A listener failed; the others stop with it.
		pending--
	case <-ctx.Done():
		level.Info(logger).Log("msg", "Shutting down")
	}
	shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	for _, srv := range servers {
		if serr := srv.Shutdown(shutdownCtx); serr != nil {
			level.Warn(logger).Log("msg", "Web server did not shut down cleanly", "err", serr)
		}
	}
	for ; pending > 0; pending-- {
		if serr := <-served; err == nil && !errors.Is(serr, http.ErrServerClosed) {
			err = serr
		}
	}
	return err
}
