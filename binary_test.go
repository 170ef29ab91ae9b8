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
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// These tests build the real binary and run it as an operator would:
// exit codes, messages, signals and what the process exposes.

func buildBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "kartustok_exporter")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a running exporter whose log is captured.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  strings.Builder
	addr chan string
	done chan struct{}
	err  error
}

var listenRE = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

func startProc(t testing.TB, bin string, env []string, args ...string) *proc {
	t.Helper()
	return startCmd(t, exec.Command(bin, args...), env)
}

// startCmd starts cmd, whose process must become the exporter.
func startCmd(t testing.TB, cmd *exec.Cmd, env []string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: cmd, addr: make(chan string, 1), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = p.cmd.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listenRE.FindStringSubmatch(line); m != nil {
				select {
				case p.addr <- m[1]:
				default:
				}
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// exitCode waits for the process to end.
func (p *proc) exitCode(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("still running after %s:\n%s", timeout, p.output())
	}
	if ee, ok := errors.AsType[*exec.ExitError](p.err); ok {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

func (p *proc) baseURL() string {
	p.t.Helper()
	select {
	case a := <-p.addr:
		return "http://" + a
	case <-p.done:
		p.t.Fatalf("exited before listening:\n%s", p.output())
	case <-time.After(time.Minute):
		p.t.Fatalf("not listening after a minute:\n%s", p.output())
	}
	return ""
}

func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitReady(t *testing.T, p *proc, base string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if code, _ := httpGet(t, base+"/-/ready"); code == http.StatusOK {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not ready after a minute:\n%s", p.output())
}

func TestBinary(t *testing.T) {
	bin := buildBinary(t)
	noToken := "KARTUSTOK_TOKEN="

	t.Run("bad flag", func(t *testing.T) {
		p := startProc(t, bin, nil, "--demo", "--kartustok.budget=2")
		if code := p.exitCode(time.Minute); code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
		if !strings.Contains(p.output(), "--kartustok.budget must be in (0, 1], got 2") {
			t.Errorf("output:\n%s", p.output())
		}
	})

	t.Run("missing token file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "token")
		p := startProc(t, bin, []string{noToken}, "--kartustok.url=https://sinarjaya.kartustok.com", "--kartustok.token-file="+missing)
		if code := p.exitCode(time.Minute); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if !strings.Contains(p.output(), missing) {
			t.Errorf("output does not name %s:\n%s", missing, p.output())
		}
	})

	t.Run("serves the company and keeps the token secret", func(t *testing.T) {
		company := kartustoktest.NewCompany(kartustoktest.Config{Locators: 3, Items: 120})
		sim, err := kartustoktest.Start("127.0.0.1:0", company)
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		token := company.AddToken(kartustoktest.TokenSpec{})
		tokenFile := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		p := startProc(t, bin, []string{noToken},
			"--kartustok.url="+sim.URL, "--kartustok.token-file="+tokenFile,
			"--web.listen-address=127.0.0.1:0", "--log.level=debug",
			"--sync.health-interval=1h", "--sync.catalog-interval=1h", "--sync.stock-interval=1h", "--sync.max-staleness=2h")
		base := p.baseURL()
		// "Listening on" is said of a socket that is bound already.
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		require.NoError(t, err, "connecting as soon as the log said Listening on")
		conn.Close()
		waitReady(t, p, base)

		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.cmd.Process.Pid))
		if err == nil && strings.Contains(string(cmdline), token) {
			t.Error("the token is in /proc/<pid>/cmdline")
		}
		// Ready means every locator's stock is in; the item list may
		// still be arriving, and the flow refresh starts only then. Count
		// requests once every refresh is done.
		deadline := time.Now().Add(time.Minute)
		for {
			_, m := httpGet(t, base+"/metrics")
			if strings.Contains(m, `kartustok_sync_last_success_timestamp_seconds{company="kartustok",resource="items"}`) &&
				strings.Contains(m, `kartustok_sync_last_success_timestamp_seconds{company="kartustok",resource="flow"}`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("items or flow never refreshed:\n%s", p.output())
			}
			time.Sleep(50 * time.Millisecond)
		}
		before := sim.Count("", 0)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				for range 5 {
					if code, body := httpGet(t, base+"/metrics"); code != 200 || !strings.Contains(body, "kartustok_stock_on_hand{") {
						t.Errorf("/metrics = %d without stock", code)
					}
				}
			})
		}
		wg.Wait()
		if after := sim.Count("", 0); after != before {
			t.Errorf("50 scrapes caused %d API requests, want 0", after-before)
		}
		_, metrics := httpGet(t, base+"/metrics")
		_, landing := httpGet(t, base+"/")
		for where, text := range map[string]string{"/metrics": metrics, "landing page": landing} {
			if strings.Contains(text, token) {
				t.Errorf("the token appears in the %s", where)
			}
		}

		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.exitCode(time.Minute); code != 0 {
			t.Errorf("exit %d after SIGTERM, want 0", code)
		}
		out := p.output()
		if strings.Contains(out, token) {
			t.Error("the token appears in the debug log")
		}
		if !strings.Contains(out, "level=debug") || !strings.Contains(out, `msg="Shutting down"`) {
			t.Errorf("log lacks debug lines or the shutdown:\n%s", out)
		}
	})

	t.Run("invalid minimums file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "minimums.yml")
		testkit.WriteFile(t, path, badMinimums)
		p := startProc(t, bin, []string{noToken}, "--demo", "--web.listen-address=127.0.0.1:0", "--stock.minimums-file="+path)
		if code := p.exitCode(time.Minute); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if want := path + ":5: items[0].warehouses[0].minimum"; !strings.Contains(p.output(), want) {
			t.Errorf("output does not name %s:\n%s", want, p.output())
		}
	})

	t.Run("config check", func(t *testing.T) {
		dir := t.TempDir()
		good, bad := filepath.Join(dir, "good.yml"), filepath.Join(dir, "bad.yml")
		testkit.WriteFile(t, good, goodMinimums)
		testkit.WriteFile(t, bad, badMinimums)
		p := startProc(t, bin, nil, "--demo", "--config.check", "--stock.minimums-file="+good)
		if code := p.exitCode(time.Minute); code != 0 || !strings.HasPrefix(p.output(), "kartustok_exporter: configuration OK; demo company; no --web.config.file; minimums file "+good) || strings.Count(p.output(), "\n") != 1 {
			t.Errorf("good file: exit %d, output:\n%s", code, p.output())
		}
		p = startProc(t, bin, nil, "--demo", "--config.check", "--stock.minimums-file="+bad, "--kartustok.budget=2")
		if code := p.exitCode(time.Minute); code != 2 {
			t.Errorf("bad file: exit %d, want 2 for the flag error", code)
		}
		if want := "kartustok_exporter: error: --kartustok.budget must be in (0, 1], got 2\nkartustok_exporter: error: " + bad + ":5: items[0].warehouses[0].minimum"; !strings.Contains(p.output(), want) {
			t.Errorf("bad file: output does not say %q:\n%s", want, p.output())
		}
	})

	t.Run("config check reads the web config and the token", func(t *testing.T) {
		dir := t.TempDir()
		token, webConfig, missing := filepath.Join(dir, "token"), filepath.Join(dir, "web.yml"), filepath.Join(dir, "no-web.yml")
		writeToken(t, token, secretToken+"\n", 0o644)
		testkit.WriteFile(t, webConfig, webConfigBasicAuth)
		args := []string{"--config.check", "--kartustok.url=https://sinarjaya.kartustok.com", "--kartustok.token-file=" + token}
		warning := "kartustok_exporter: warning: token file " + token + " has mode 0644, which lets every user read the token: chmod 0600 " + token

		p := startProc(t, bin, []string{noToken}, append(args, "--web.config.file="+missing)...)
		assert.Equal(t, 1, p.exitCode(time.Minute))
		assert.Contains(t, p.output(), "\nkartustok_exporter: error: --web.config.file "+missing+": no such file or directory\n")
		assert.Contains(t, p.output(), warning)
		assert.NotContains(t, p.output(), secretToken)

		p = startProc(t, bin, []string{noToken}, append(args, "--web.config.file="+webConfig)...)
		assert.Equal(t, 0, p.exitCode(time.Minute))
		assert.True(t, strings.HasPrefix(p.output(), warning), p.output())
		assert.Contains(t, p.output(), "\nkartustok_exporter: configuration OK; token file "+token+"; web config file "+webConfig+"; no --stock.minimums-file\n")
		assert.NotContains(t, p.output(), secretToken)
	})

	t.Run("stops before polling", func(t *testing.T) {
		company := kartustoktest.NewCompany(kartustoktest.Config{Locators: 1, Items: 10})
		sim, err := kartustoktest.Start("127.0.0.1:0", company)
		require.NoError(t, err)
		defer sim.Close()
		dir := t.TempDir()
		tokenFile, badWeb := filepath.Join(dir, "token"), filepath.Join(dir, "web.yml")
		writeToken(t, tokenFile, company.AddToken(kartustoktest.TokenSpec{})+"\n", 0o600)
		testkit.WriteFile(t, badWeb, "basic_auth_users:\n  dave: dave123\n")
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer busy.Close()
		base := []string{"--kartustok.url=" + sim.URL, "--kartustok.token-file=" + tokenFile}
		for name, tc := range map[string]struct {
			args []string
			want string
		}{
			"port in use": {
				[]string{"--web.listen-address=" + busy.Addr().String()},
				"cannot listen on --web.listen-address=" + busy.Addr().String() + ": listen tcp " + busy.Addr().String() + ": bind: address already in use",
			},
			"invalid web config": {
				[]string{"--web.listen-address=127.0.0.1:0", "--web.config.file=" + badWeb},
				"--web.config.file " + badWeb + ": crypto/bcrypt",
			},
		} {
			t.Run(name, func(t *testing.T) {
				p := startProc(t, bin, []string{noToken}, append(base, tc.args...)...)
				assert.Equal(t, 1, p.exitCode(time.Minute))
				out := p.output()
				assert.Contains(t, out, `level=error`)
				assert.Contains(t, out, tc.want)
				assert.NotContains(t, out, "Polling the KartuStok API")
				assert.NotContains(t, out, `msg="Listening on"`)
				assert.Zero(t, sim.Count("", 0), "requests sent to the API")
			})
		}
	})

	t.Run("systemd socket activation", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("systemd socket activation is Linux only")
		}
		apiURL, tokenFile := startSimulated(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		socket, err := ln.(*net.TCPListener).File()
		require.NoError(t, err)
		defer socket.Close()
		addr := ln.Addr().String()
		require.NoError(t, ln.Close()) // the duplicate in socket still listens
		// As systemd starts a socket-activated service: the socket is
		// descriptor 3, LISTEN_PID the service's own PID.
		cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$; LISTEN_FDS=1; export LISTEN_PID LISTEN_FDS; exec "$0" "$@"`,
			bin, "--kartustok.url="+apiURL, "--kartustok.token-file="+tokenFile, "--web.systemd-socket")
		cmd.ExtraFiles = []*os.File{socket}
		p := startCmd(t, cmd, []string{noToken})
		base := p.baseURL()
		assert.Equal(t, "http://"+addr, base)
		code, body := httpGet(t, base+"/-/healthy")
		assert.Equal(t, http.StatusOK, code, body)
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, 0, p.exitCode(time.Minute), p.output())
	})

	t.Run("SIGHUP reloads the minimums file", func(t *testing.T) {
		apiURL, tokenFile := startSimulated(t)
		path := filepath.Join(t.TempDir(), "minimums.yml")
		testkit.WriteFile(t, path, "items: []\n")
		p := startProc(t, bin, []string{noToken}, "--kartustok.url="+apiURL, "--kartustok.token-file="+tokenFile,
			"--web.listen-address=127.0.0.1:0", "--stock.minimums-file="+path)
		base := p.baseURL()
		waitReady(t, p, base)
		loc, stocked, _ := pickPairs(t, readMetrics(t, base+"/metrics"))
		code := readMetrics(t, base+"/metrics").itemCode[stocked]
		pair := [2]string{loc, stocked}
		file := func(minimum string) string {
			return "items:\n  - code: " + code + "\n    warehouses:\n      - code: GDG-01\n        minimum: " + minimum + "\n"
		}
		// hup rewrites the file, sends SIGHUP and waits for the reload
		// metric to say want.
		hup := func(content, want string) metricsView {
			t.Helper()
			testkit.WriteFile(t, path, content)
			before := strings.Count(p.output(), "trigger=SIGHUP")
			if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(time.Minute)
			for strings.Count(p.output(), "trigger=SIGHUP") == before {
				if time.Now().After(deadline) {
					t.Fatalf("no reload logged after SIGHUP:\n%s", p.output())
				}
				time.Sleep(10 * time.Millisecond)
			}
			v := readMetrics(t, base+"/metrics")
			if v.reloadOK != want {
				t.Errorf("kartustok_config_last_reload_successful = %q, want %s:\n%s", v.reloadOK, want, p.output())
			}
			return v
		}
		if v := hup(file("4321"), "1"); v.minimum[pair] != "4321" {
			t.Errorf("after a good reload the minimum is %q, want 4321", v.minimum[pair])
		}
		if v := hup(file("many"), "0"); v.minimum[pair] != "4321" {
			t.Errorf("after a bad reload the minimum is %q, want the previous file's 4321", v.minimum[pair])
		}
		if v := hup(file("12"), "1"); v.minimum[pair] != "12" {
			t.Errorf("after fixing the file the minimum is %q, want 12", v.minimum[pair])
		}
		// A half-written (empty) file is refused too, never read as "no
		// minimums".
		if v := hup("", "0"); v.minimum[pair] != "12" {
			t.Errorf("after reloading an empty file the minimum is %q, want the previous file's 12", v.minimum[pair])
		}
		if n := strings.Count(p.output(), "Reloading the minimums file failed"); n != 2 {
			t.Errorf("the failed reloads logged %d lines, want 2:\n%s", n, p.output())
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.exitCode(time.Minute); code != 0 {
			t.Errorf("exit %d after SIGTERM, want 0", code)
		}
	})

	t.Run("demo", func(t *testing.T) {
		p := startProc(t, bin, []string{noToken}, "--demo", "--web.listen-address=127.0.0.1:0")
		base := p.baseURL()
		waitReady(t, p, base)
		_, metrics := httpGet(t, base+"/metrics")
		for _, want := range []string{"kartustok_stock_on_hand{", "kartustok_stock_minimum_quantity{", `kartustok_token_expiry_timestamp_seconds{company="demo"} `, `kartustok_up{company="demo"} 1`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("demo /metrics lacks %s", want)
			}
		}
		m := regexp.MustCompile(`token_file=(\S+)`).FindStringSubmatch(p.output())
		if m == nil {
			t.Fatalf("demo did not log its token file:\n%s", p.output())
		}
		if fi, err := os.Stat(m[1]); err != nil {
			t.Errorf("demo token file: %v", err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("demo token file mode %v, want 0600", fi.Mode().Perm())
		}
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := p.exitCode(time.Minute); code != 0 {
			t.Errorf("exit %d after SIGINT, want 0", code)
		}
		if _, err := os.Stat(filepath.Dir(m[1])); !os.IsNotExist(err) {
			t.Errorf("demo token directory left behind: %v", err)
		}
	})
}
