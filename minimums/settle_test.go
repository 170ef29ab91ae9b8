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

package minimums

// These tests run in synctest bubbles on real files: the writers and the
// loads sleep on the bubble's clock, so every interleaving they set up is
// reproduced exactly, whatever the machine's load. The kernel stamps a
// write with the real clock, so the writers stamp each write with the
// bubble's, as the kernel does outside a bubble. A load's reads and a
// writer's writes are kept off the same instant (offGrid), so that no read
// can fall between a write and its stamp.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
	"github.com/kartustok/kartustok_exporter/refresh"
)

const (
	// writerPause is how long the writers pause between writes:
	// comfortably inside the settle time, as a program's writes are.
	writerPause = settleTime / 4
	// offGrid shifts a load's start off the instants at which the writers
	// write: those are multiples of writerPause, the load's reads are
	// its start plus multiples of settlePoll.
	offGrid = time.Microsecond
)

// itemChunks is a minimums file of chunks×perChunk items, in chunks that
// each end at an item's boundary: every prefix of whole chunks is a valid
// file with fewer items, which is what a load that reads the file
// half-written would take.
func itemChunks(chunks, perChunk int) []string {
	out := make([]string, chunks)
	for c := range out {
		var b strings.Builder
		if c == 0 {
			b.WriteString("items:\n")
		}
		for i := range perChunk {
			n := c*perChunk + i
			fmt.Fprintf(&b, "  - code: NEW-%03d\n    minimum: %d\n", n, n+1)
		}
		out[c] = b.String()
	}
	return out
}

// stamp sets the file's modification time to the bubble's clock.
func stamp(path string) error {
	now := time.Now()
	return os.Chtimes(path, now, now)
}

// writeAged writes a file last modified age ago.
func writeAged(t *testing.T, path, content string, age time.Duration) {
	t.Helper()
	testkit.WriteFile(t, path, content)
	then := time.Now().Add(-age)
	require.NoError(t, os.Chtimes(path, then, then))
}

// rewriteInPlace rewrites the file at path in place, as an editor or a
// shell redirect does: it truncates the file, then writes the chunks one
// after the other, pausing writerPause before each.
func rewriteInPlace(path string, chunks []string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := stamp(path); err != nil {
		return err
	}
	for _, c := range chunks {
		time.Sleep(writerPause)
		if _, err := f.WriteString(c); err != nil {
			return err
		}
		if err := stamp(path); err != nil {
			return err
		}
	}
	return f.Close()
}

// newSettledReloader loads goodMinimums, written a minute ago, from a file
// the test may rewrite.
func newSettledReloader(t *testing.T) (r *Reloader, path string, logs *bytes.Buffer) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "minimums.yml")
	writeAged(t, path, goodMinimums, time.Minute)
	logs = &bytes.Buffer{}
	r, err := NewReloader(path, log.NewLogfmtLogger(logs))
	require.NoError(t, err)
	return r, path, logs
}

// summary is what the minimums in force set.
func summary(r *Reloader) Summary {
	return r.current.Load().set.Summary()
}

// TestReloadWaitsForAnInPlaceRewrite: a reload that lands anywhere in an
// in-place rewrite whose writer pauses less than the settle time loads the
// whole new file, never the part written so far; so does a start-up.
func TestReloadWaitsForAnInPlaceRewrite(t *testing.T) {
	const chunks, perChunk = 4, 12
	parts := itemChunks(chunks, perChunk)
	for i := 0; i <= chunks; i++ {
		for _, startUp := range []bool{false, true} {
			name := fmt.Sprintf("reload after %d of %d chunks", i, chunks)
			if startUp {
				name = fmt.Sprintf("start-up after %d of %d chunks", i, chunks)
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					r, path, logs := newSettledReloader(t)
					old := summary(r)
					var wrote sync.WaitGroup
					wrote.Go(func() { assert.NoError(t, rewriteInPlace(path, parts)) })

					time.Sleep(time.Duration(i)*writerPause + writerPause/2 + offGrid)
					var err error
					if startUp {
						r, err = NewReloader(path, log.NewLogfmtLogger(logs))
					} else {
						err = r.Reload("test")
					}
					wrote.Wait()

					// Whatever the interleaving: the whole new file, or a
					// failure that keeps the old one; never a part.
					if err != nil {
						require.False(t, startUp, "start-up failed: %v", err)
						require.Equal(t, old, summary(r), "a failed reload changed the minimums in force")
						require.Equal(t, 0.0, testutil.ToFloat64(r.successful))
					} else {
						require.Equal(t, chunks*perChunk, summary(r).Items, "items loaded; the file was read half-written:\n%s", logs)
						require.Equal(t, 1.0, testutil.ToFloat64(r.successful))
					}
					// Here the writer finishes well inside the settle
					// timeout, so the load succeeds.
					require.NoError(t, err, "logs:\n%s", logs)
				})
			})
		}
	}
}

// keepRewriting rewrites the file at path in place, over and over, each time
// with one more item, until the returned function is called; that function
// returns once the writing has stopped.
func keepRewriting(t *testing.T, path string) (stop func()) {
	done := make(chan struct{})
	var wrote sync.WaitGroup
	wrote.Go(func() {
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			default:
			}
			if !assert.NoError(t, rewriteInPlace(path, itemChunks(1, n))) {
				return
			}
		}
	})
	return func() {
		close(done)
		wrote.Wait()
	}
}

// TestReloadFailsOnAFileThatKeepsChanging: a file rewritten in place over
// and over never settles; the reload fails after settleTimeout with a
// message saying to write the file atomically, the previous minimums stay
// in force, and once the writing stops the next reload takes the file.
func TestReloadFailsOnAFileThatKeepsChanging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, path, logs := newSettledReloader(t)
		old := summary(r)
		stop := keepRewriting(t, path)

		time.Sleep(writerPause/2 + offGrid)
		start := time.Now()
		err := r.Reload("test")
		elapsed := time.Since(start)
		stop()

		want := fmt.Sprintf("reading minimums file: %s kept changing for 2s: it is being rewritten in place; "+
			"write it atomically instead: write a temporary file in the same directory, then rename it over %s", path, path)
		require.EqualError(t, err, want)
		assert.Equal(t, []string{want}, FileProblems(err))
		assert.GreaterOrEqual(t, elapsed, settleTimeout, "gave up before the settle timeout")
		assert.Less(t, elapsed, settleTimeout+settlePoll, "waited past the settle timeout")
		assert.Equal(t, 0.0, testutil.ToFloat64(r.successful), "after a reload that found no settled file")
		assert.Equal(t, old, summary(r), "the previous minimums stay in force")
		v, ok := r.Minimums().StockMinimum(&kartustok.Locator{Code: "GDG-01"}, &kartustok.Item{Code: "KS-1"}, 0, false)
		assert.True(t, ok)
		assert.Equal(t, 60.0, v, "the previous file's minimum")
		assert.Equal(t, 1, countLines(logs.String(), "write it atomically instead"), "logs:\n%s", logs)

		time.Sleep(settleTime)
		require.NoError(t, r.Reload("test"), "once the writer has stopped")
		assert.Equal(t, 1.0, testutil.ToFloat64(r.successful))
		assert.NotEqual(t, old, summary(r), "the last file written is in force")
	})
}

// putByRename makes path hold content, written age ago, replacing what it
// held atomically: by renaming a temporary file over it or, with configMap,
// as a Kubernetes ConfigMap volume does, where path links to
// ..data/minimums.yml and ..data to a directory of the version's files, and
// an update writes a new directory and renames a new ..data link over the
// old one.
func putByRename(t *testing.T, path, content string, age time.Duration, configMap bool, version string) {
	t.Helper()
	if !configMap {
		tmp := path + ".tmp"
		writeAged(t, tmp, content, age)
		require.NoError(t, os.Rename(tmp, path))
		return
	}
	dir := filepath.Dir(path)
	require.NoError(t, os.Mkdir(filepath.Join(dir, version), 0o755))
	writeAged(t, filepath.Join(dir, version, "minimums.yml"), content, age)
	require.NoError(t, os.Symlink(version, filepath.Join(dir, "..data_tmp")))
	require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		require.NoError(t, os.Symlink(filepath.Join("..data", "minimums.yml"), path))
	}
}

// TestReloadTakesARenamedFile: a file renamed into place, settled, loads on
// the first read, with no wait; one written just before the rename loads
// once the settle time has passed.
func TestReloadTakesARenamedFile(t *testing.T) {
	newFile := strings.Join(itemChunks(2, 5), "")
	for _, configMap := range []bool{false, true} {
		for _, age := range []time.Duration{time.Minute, 0} {
			name := fmt.Sprintf("renamed over, written %s before", age)
			if configMap {
				name = fmt.Sprintf("ConfigMap ..data swapped, written %s before", age)
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "minimums.yml")
					putByRename(t, path, goodMinimums, time.Minute, configMap, "..v1")
					r, err := NewReloader(path, log.NewNopLogger())
					require.NoError(t, err)

					putByRename(t, path, newFile, age, configMap, "..v2")
					start := time.Now()
					require.NoError(t, r.Reload("test"))
					elapsed := time.Since(start)

					assert.Equal(t, 10, summary(r).Items, "items of the new file")
					assert.Equal(t, 1.0, testutil.ToFloat64(r.successful))
					if age >= settleTime {
						assert.Zero(t, elapsed, "a settled file waited")
					} else {
						assert.GreaterOrEqual(t, elapsed, settleTime, "a file written just now was taken within the settle time")
						assert.Less(t, elapsed, settleTime+settlePoll, "waited past the settle time")
					}
				})
			})
		}
	}
}

// TestCheckCatalogDoesNotWaitForAReload: while a reload waits for the file
// to settle, the catalog loop's CheckCatalog is not held up.
func TestCheckCatalogDoesNotWaitForAReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, path, _ := newSettledReloader(t)
		stop := keepRewriting(t, path)
		reloaded := make(chan error, 1)
		go func() {
			time.Sleep(writerPause/2 + offGrid)
			reloaded <- r.Reload("test")
		}()

		time.Sleep(writerPause + settleTime) // the reload is waiting for the file
		if assert.True(t, r.mu.TryLock(), "a reload waiting for the file holds the lock CheckCatalog takes") {
			r.mu.Unlock()
			r.CheckCatalog(&refresh.Snapshot{})
		}
		err := <-reloaded
		stop()
		require.Error(t, err)
	})
}
