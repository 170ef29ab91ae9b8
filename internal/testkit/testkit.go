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

// Package testkit holds the helpers the tests of several packages share,
// so that each is written once.
package testkit

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/kartustok/kartustok_exporter/refresh"
)

// MustRead returns the content of a fixture file, for a package-level
// variable; a missing fixture panics, which fails the package's tests.
func MustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// WriteFile writes content to path with mode 0644, failing the test on
// error.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago. Whoever binds it next binds it soon after; a clash fails that bind
// loudly rather than testing the wrong process.
func FreeAddr(t testing.TB) string {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("releasing port %s: %v", addr, err)
	}
	return addr
}

// EngineConfig is the engine configuration the tests assume: the
// exporter's defaults, without cheap refreshes or flow.
func EngineConfig() refresh.Config {
	return refresh.Config{
		HealthInterval:  30 * time.Second,
		CatalogInterval: 15 * time.Minute,
		StockInterval:   time.Minute,
		MaxStaleness:    30 * time.Minute,
		Budget:          96,
		Window:          time.Minute,
	}
}
