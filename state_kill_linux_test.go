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
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/refresh"
)

// dirEvent is one inotify event of a watched directory.
type dirEvent struct {
	mask uint32
	name string
}

// watchDir reports the files created, written and renamed into dir, as
// they happen, until the test ends or stop is called.
func watchDir(t *testing.T, dir string) (events <-chan dirEvent, stop func()) {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	require.NoError(t, err)
	_, err = syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE|syscall.IN_MODIFY|syscall.IN_MOVED_TO)
	require.NoError(t, err)
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: Close ends a Read
	ch := make(chan dirEvent, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
				off += syscall.SizeofInotifyEvent + int(ev.Len)
				select {
				case ch <- dirEvent{mask: ev.Mask, name: string(bytes.TrimRight(name, "\x00"))}:
				default: // nobody waits for so many
				}
			}
		}
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			f.Close()
			<-done
		}
	}
	t.Cleanup(stop)
	return ch, stop
}

// killPlan is when a round kills the exporter.
type killPlan int

const (
	killAtRandom     killPlan = iota // a random moment of its first seconds
	killOnTempCreate                 // as soon as a save creates its temporary file
	killOnWrite                      // at a save's first write
	killWithinSave                   // a random few milliseconds into a save
	killOnRename                     // as soon as a save renamed its file into place
	killInShutdown                   // during the save at a SIGTERM
	numKillPlans
)

func (k killPlan) String() string {
	return [...]string{"at random", "on temp create", "on write", "within save", "on rename", "in shutdown save"}[k]
}

// TestBinaryStateSurvivesSIGKILL kills the real exporter with SIGKILL again
// and again, at random moments and in the middle of saving its state, and
// starts it after each kill: the state file left is always one the next
// start loads (a warm start serving the company's stock at once), or there
// is none yet and the start is cold for that reason alone; a temporary file
// a kill leaves is never read and is removed by the next start, so they
// never pile up.
func TestBinaryStateSurvivesSIGKILL(t *testing.T) {
	bin := buildBinary(t)
	const (
		rounds  = 24
		company = "demo"
		id      = "demo:" + company
		timeout = 30 * time.Second
	)
	// How long the rounds may take in all; enough for 24 on a busy
	// machine, and a bound if it is much slower.
	budget := 2 * time.Minute
	dir := t.TempDir()
	statePath := filepath.Join(dir, company+".state")
	tempPrefix := "." + company + ".state.tmp-"
	// The demo keeps its token in a temporary directory that a killed
	// process cannot remove: keep those in the test's.
	env := []string{"KARTUSTOK_TOKEN=", "TMPDIR=" + t.TempDir()}
	args := []string{
		"--demo", "--web.listen-address=127.0.0.1:0", "--storage.path=" + dir,
		// A stock pass every second or two, and so a save as often as the
		// exporter saves: every 5 s, the first one after the first pass.
		"--sync.stock-interval=1s",
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))

	var (
		stats = struct {
			kills, shutdowns, warm, cold, leftTemps, tornTemps, wholeTemps int
			byPlan                                                         [numKillPlans]int
			leftByPlan                                                     [numKillPlans]int
		}{}
		lastSaved time.Time
		leftover  []string // temporary files the previous kill left
		began     = time.Now()
	)
	for round := 0; round <= rounds; round++ {
		_, err := os.Stat(statePath)
		wantWarm := err == nil
		events, stopWatch := watchDir(t, dir)
		p := startProc(t, bin, env, args...)
		base := p.baseURL()

		// (a) The state is read before the listener answers: the log
		// says by now how the start went.
		out := p.output()
		require.NotContains(t, out, "Not using the saved state", "round %d: a file the exporter wrote was refused:\n%s", round, out)
		require.NotContains(t, out, "another company", "round %d:\n%s", round, out)
		if wantWarm {
			require.Contains(t, out, `msg="Started from the saved state"`, "round %d: no warm start:\n%s", round, out)
			stats.warm++
			// (c) The loaded stock is served at once, as the company's.
			code, body := httpGet(t, base+"/metrics")
			require.Equal(t, 200, code)
			assert.Contains(t, body, `kartustok_state_loaded{company="demo"} 1`, "round %d", round)
			assert.Contains(t, body, `kartustok_stock_on_hand{company="demo",`, "round %d: no stock after a warm start", round)
		} else {
			require.Contains(t, out, `msg="No saved state yet; a cold start"`, "round %d:\n%s", round, out)
			stats.cold++
		}
		// (b) The start removed what the previous kill left.
		for _, name := range leftover {
			assert.NoFileExists(t, filepath.Join(dir, name), "round %d: a temporary file a kill left is still there", round)
		}
		if round == rounds || time.Since(began) > budget {
			stopWatch()
			require.NoError(t, p.cmd.Process.Kill())
			<-p.done
			break
		}

		plan := killPlan(round % int(numKillPlans))
		// waitFor waits for an event of the directory; false when the
		// process ended first.
		waitFor := func(want func(dirEvent) bool) bool {
			deadline := time.After(timeout)
			for {
				select {
				case ev := <-events:
					if want(ev) {
						return true
					}
				case <-p.done:
					return false
				case <-deadline:
					t.Fatalf("round %d: no save within %s:\n%s", round, timeout, p.output())
				}
			}
		}
		isTemp := func(ev dirEvent) bool { return strings.HasPrefix(ev.name, tempPrefix) }
		running := true
		switch plan {
		case killAtRandom:
			time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Second))))
		case killOnTempCreate:
			running = waitFor(func(ev dirEvent) bool { return ev.mask&syscall.IN_CREATE != 0 && isTemp(ev) })
		case killOnWrite:
			// Any file's: a writer that wrote in place would tear the
			// state file itself here.
			running = waitFor(func(ev dirEvent) bool { return ev.mask&syscall.IN_MODIFY != 0 })
		case killWithinSave:
			running = waitFor(func(ev dirEvent) bool { return ev.mask&syscall.IN_CREATE != 0 && isTemp(ev) })
			time.Sleep(time.Duration(rng.Int64N(int64(4 * time.Millisecond))))
		case killOnRename:
			running = waitFor(func(ev dirEvent) bool { return ev.mask&syscall.IN_MOVED_TO != 0 && ev.name == company+".state" })
		case killInShutdown:
			// The first save is done, so the one at SIGTERM has a
			// file to replace.
			running = waitFor(func(ev dirEvent) bool { return ev.mask&syscall.IN_MOVED_TO != 0 && ev.name == company+".state" })
			require.True(t, running, "round %d: exited:\n%s", round, p.output())
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			// The process may end before the kill: then its shutdown
			// save was complete.
			running = waitFor(func(ev dirEvent) bool { return ev.mask&syscall.IN_CREATE != 0 && isTemp(ev) })
		}
		require.True(t, running || plan == killInShutdown, "round %d: exited:\n%s", round, p.output())
		err = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		stopWatch()
		switch {
		case err == nil && killedBySIGKILL(p.err):
			stats.kills++
			stats.byPlan[plan]++
		case plan == killInShutdown && (err == nil || errors.Is(err, os.ErrProcessDone)) && p.err == nil:
			stats.shutdowns++
		default:
			t.Fatalf("round %d: signal: %v, exit: %v\n%s", round, err, p.err, p.output())
		}

		// What the kill left: at most one temporary file (this
		// process's; the start removed the others), and a state file
		// that is whole and no older than the last one.
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		leftover = leftover[:0]
		for _, e := range entries {
			switch {
			case strings.HasPrefix(e.Name(), tempPrefix):
				leftover = append(leftover, e.Name())
			case e.Name() != company+".state":
				t.Errorf("round %d: unexpected file %s", round, e.Name())
			}
		}
		require.LessOrEqual(t, len(leftover), 1, "round %d: temporary files pile up: %v", round, leftover)
		for _, name := range leftover {
			stats.leftTemps++
			stats.leftByPlan[plan]++
			// A kill between the temporary file's creation and its
			// rename: the save was in flight. Whether it is whole or
			// torn, the state file is the previous one.
			if _, err := loadCopy(t, filepath.Join(dir, name), id); err != nil {
				stats.tornTemps++
			} else {
				stats.wholeTemps++
			}
		}
		if _, err := os.Stat(statePath); err == nil {
			st, err := loadCopy(t, statePath, id)
			require.NoError(t, err, "round %d (%s): the state file a kill left is not whole", round, plan)
			require.False(t, st.SavedAt().Before(lastSaved), "round %d: the state file went back from %s to %s", round, lastSaved, st.SavedAt())
			lastSaved = st.SavedAt()
		} else {
			require.ErrorIs(t, err, os.ErrNotExist)
			require.True(t, lastSaved.IsZero(), "round %d: the state file a save completed is gone", round)
		}
	}
	t.Logf("%d kills and %d clean exits before the kill in %s (by plan: %v), %d warm and %d cold starts; %d kills landed within a save (a temporary file left: %d torn, %d whole but not renamed; by plan: %v)",
		stats.kills, stats.shutdowns, time.Since(began).Round(time.Second), planCounts(stats.byPlan), stats.warm, stats.cold,
		stats.leftTemps, stats.tornTemps, stats.wholeTemps, planCounts(stats.leftByPlan))
	assert.GreaterOrEqual(t, stats.kills, 6, "too few rounds to mean anything")
	assert.Positive(t, stats.leftTemps, "no kill landed within a save")
}

// killedBySIGKILL reports whether a process ended by SIGKILL.
func killedBySIGKILL(err error) bool {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		ws, ok := ee.Sys().(syscall.WaitStatus)
		return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
	}
	return false
}

// loadCopy loads a copy of the state file at path, made in a directory of
// its own, so that the loader's cleanup of temporary files leaves the
// original directory as the kill left it.
func loadCopy(t *testing.T, path, id string) (*refresh.State, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	cp := filepath.Join(t.TempDir(), "copy.state")
	require.NoError(t, os.WriteFile(cp, b, 0o600))
	return refresh.LoadState(cp, id)
}

// planCounts names the counts by plan.
func planCounts(n [numKillPlans]int) map[string]int {
	m := map[string]int{}
	for k, c := range n {
		m[killPlan(k).String()] = c
	}
	return m
}
