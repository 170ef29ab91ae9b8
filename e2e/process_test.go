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

package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// child is a process the test started; its output goes to a log file that
// is dumped when the test fails.
type child struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startChild runs bin with args, logging to dir/name.log, and makes sure the
// process is stopped (SIGTERM, then SIGKILL) when the test ends.
func startChild(ctx context.Context, t *testing.T, dir, name, bin string, args ...string) *child {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating %s: %v", logPath, err)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Stdout = f
	cmd.Stderr = f
	// Stop gently so a child can flush its log; kill if it lingers.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	c := &child{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-c.done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-c.done
			}
		}
		if t.Failed() {
			c.dump(t)
		}
	})
	return c
}

// dump writes the end of the child's log to the test log.
func (c *child) dump(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(c.log)
	if err != nil {
		t.Logf("%s: reading log: %v", c.name, err)
		return
	}
	const keep = 16 << 10
	if len(b) > keep {
		b = b[len(b)-keep:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	t.Logf("---- %s log (%s, exit: %v) ----\n%s---- end of %s log ----", c.name, c.log, c.exitErr(), b, c.name)
}

func (c *child) exitErr() any {
	select {
	case <-c.done:
		return c.err
	default:
		return "still running"
	}
}

// waitHTTP polls url until it answers 200, the child exits, or ctx ends.
func (c *child) waitHTTP(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-c.done:
			t.Fatalf("%s exited before %s answered 200 (exit: %v)", c.name, url, c.err)
		case <-ctx.Done():
			t.Fatalf("%s: %s did not answer 200 in time (last: %s)", c.name, url, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// buildExporter builds the exporter from the repository root into dir.
func buildExporter(ctx context.Context, t *testing.T, root, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "kartustok_exporter")
	cmd := exec.CommandContext(ctx, goTool(), "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the exporter: %v\n%s", err, out)
	}
	return bin
}

// goTool is the go command that runs this test, so the exporter is built
// with the same toolchain.
func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
}
