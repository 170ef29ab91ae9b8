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
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
)

// TestFlagHelpFitsThreeLines: each of the exporter's flags takes at most
// three lines of --help (at kingpin's 80 columns when not on a terminal),
// its name line included; the details are in docs/. exporter-toolkit's
// --web.* flags keep the toolkit's own text, which kingpin cannot change.
func TestFlagHelpFitsThreeLines(t *testing.T) {
	var help bytes.Buffer
	_, done, code := parseFlags([]string{"--help"}, &help, &help)
	require.True(t, done)
	require.Equal(t, 0, code)
	flagLine := regexp.MustCompile(`^\s+(?:-\w, )?--(?:\[no-\])?([a-z][a-z0-9.-]+)`)
	toolkit := map[string]bool{"web.listen-address": true, "web.config.file": true, "web.systemd-socket": true}
	lines := map[string]int{}
	var current string
	for l := range strings.SplitSeq(help.String(), "\n") {
		if m := flagLine.FindStringSubmatch(l); m != nil {
			current = m[1]
		}
		if current != "" && strings.TrimSpace(l) != "" {
			lines[current]++
		}
	}
	require.Contains(t, lines, "stock.minimums-file")
	for flag, n := range lines {
		if toolkit[flag] {
			continue
		}
		assert.LessOrEqual(t, n, 3, "--%s takes %d lines of --help", flag, n)
	}
}

// TestStockIntervalsDeriveFromTheMaxStaleness: the stock intervals a user
// did not set fit the max staleness they did (at most half of it), so that
// a flag set valid before a default changed stays valid; one they set is
// theirs, and a contradiction is an error.
func TestStockIntervalsDeriveFromTheMaxStaleness(t *testing.T) {
	base := []string{"--kartustok.url=https://sinarjaya.kartustok.com/public/v1"}
	for _, tc := range []struct {
		name             string
		args             []string
		stock, fullStock time.Duration
		wantErr          string
	}{
		{"defaults", nil, time.Minute, 15 * time.Minute, ""},
		{"a max staleness of 10m", []string{"--sync.max-staleness=10m"}, time.Minute, 5 * time.Minute, ""},
		{"a max staleness of 90s", []string{"--sync.max-staleness=90s"}, 45 * time.Second, 45 * time.Second, ""},
		{"a full stock interval set", []string{"--sync.max-staleness=10m", "--sync.full-stock-interval=8m"}, time.Minute, 8 * time.Minute, ""},
		{"a stock interval set", []string{"--sync.max-staleness=2h", "--sync.stock-interval=5m"}, 5 * time.Minute, 15 * time.Minute, ""},
		{"an explicit contradiction", []string{"--sync.max-staleness=10m", "--sync.full-stock-interval=12m"}, 0, 0, "--sync.full-stock-interval 12m0s must be shorter than --sync.max-staleness 10m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cfg, done, code := parseFlags(append(slices.Clone(base), tc.args...), &stdout, &stderr)
			if tc.wantErr != "" {
				require.True(t, done)
				assert.Equal(t, 2, code)
				assert.Contains(t, stderr.String(), tc.wantErr)
				return
			}
			require.False(t, done, stderr.String())
			assert.Equal(t, tc.stock, cfg.stockInterval)
			assert.Equal(t, tc.fullStock, cfg.fullStock)
		})
	}
}

// flagModes are the three ways to run the program; a flag error exits 2 in
// each.
var flagModes = []string{"start", "--config.check", "--kartustok.check"}

// refusedFlags parses args in mode and requires the exit code of a flag
// error, 2, with every line of stderr an error or warning line of the
// program. It returns stderr.
func refusedFlags(t *testing.T, mode string, args ...string) string {
	t.Helper()
	if mode != "start" && !slices.Contains(args, mode) {
		args = append(slices.Clone(args), mode)
	}
	var stdout, stderr bytes.Buffer
	cfg, done, code := parseFlags(args, &stdout, &stderr)
	require.True(t, done, "accepted")
	assert.Nil(t, cfg)
	assert.Equal(t, 2, code, stderr.String())
	for line := range strings.SplitSeq(strings.TrimSuffix(stderr.String(), "\n"), "\n") {
		assert.Regexp(t, `^kartustok_exporter: (error|warning): `, line)
	}
	return stderr.String()
}

// acceptedFlags parses args and requires them accepted.
func acceptedFlags(t *testing.T, args ...string) *config {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cfg, done, code := parseFlags(args, &stdout, &stderr)
	require.False(t, done, "refused: exit %d: %s", code, stderr.String())
	assert.Empty(t, stderr.String())
	return cfg
}

// writeCompaniesFile writes a valid companies file of the named
// companies, each with its own token file, in a new directory, and
// returns its path.
func writeCompaniesFile(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("companies:\n")
	for _, n := range names {
		writeToken(t, filepath.Join(dir, n+".token"), secretToken+"\n", 0o600)
		fmt.Fprintf(&b, "  - name: %s\n    url: https://%s.kartustok.com/public/v1\n    token_file: %s.token\n", n, n, n)
	}
	path := filepath.Join(dir, "companies.yml")
	testkit.WriteFile(t, path, b.String())
	return path
}

// TestConfigFileRefusesSingleCompanyFlags: with --config.file, each flag
// that describes the one company of a single-company start is a flag error
// in every mode, naming the flag, the key of the file that takes its place,
// and the fix; given together, one line names them all.
func TestConfigFileRefusesSingleCompanyFlags(t *testing.T) {
	file := "--config.file=" + writeCompaniesFile(t, "sinarjaya", "majumundur")
	const fix = "--config.file lists the companies, each with its own URL, token, minimums and name; remove "
	flags := []struct{ flag, key string }{
		{"--kartustok.url=https://sinarjaya.kartustok.com/public/v1", "url"},
		{"--kartustok.token-file=/etc/kartustok_exporter/token", "token_file"},
		{"--kartustok.token-expires-at=2027-01-31", "token_expires_at"},
		{"--stock.minimums-file=/etc/kartustok_exporter/minimums.yml", "minimums_file"},
		{"--kartustok.company=sinarjaya", "name"},
	}
	var all, named []string
	for _, f := range flags {
		name, _, _ := strings.Cut(f.flag, "=")
		want := name + " (the file's " + f.key + ")"
		all, named = append(all, f.flag), append(named, want)
		for _, mode := range flagModes {
			t.Run(strings.TrimPrefix(name, "--")+"/"+mode, func(t *testing.T) {
				unsetTokenEnv(t)
				stderr := refusedFlags(t, mode, file, f.flag)
				assert.Equal(t, "kartustok_exporter: error: "+fix+want+" and give them per company in the file\n", stderr)
			})
		}
	}
	for _, mode := range flagModes {
		t.Run("all/"+mode, func(t *testing.T) {
			unsetTokenEnv(t)
			stderr := refusedFlags(t, mode, append([]string{file}, all...)...)
			assert.Equal(t, "kartustok_exporter: error: "+fix+strings.Join(named, ", ")+" and give them per company in the file\n", stderr)
		})
	}

	// The flags every company takes as its default stay allowed.
	cfg := acceptedFlags(t, file, "--kartustok.rate-limit=60", "--kartustok.budget=0.5", "--sync.max-staleness=1h", "--storage.path="+t.TempDir())
	cfgs, err := cfg.companyConfigs()
	require.NoError(t, err)
	require.Len(t, cfgs, 2)
	for _, cc := range cfgs {
		assert.Equal(t, 60, cc.rateLimit, cc.company)
		assert.Equal(t, 0.5, cc.budget, cc.company)
	}
}

// TestShardFlags: --total-shards and --shard divide the companies of
// --config.file (or of --demo); a shard outside [0, --total-shards), a
// total below 1, or a total above 1 for the one company of the flags is a
// flag error in every mode, with one line that says what is wrong.
func TestShardFlags(t *testing.T) {
	// Not in a pod: --shard unset has no ordinal to fall back on.
	t.Setenv("POD_NAME", "")
	playHost(t, "vm", nil)
	file := "--config.file=" + writeCompaniesFile(t, "sinarjaya", "majumundur", "tokobaru")
	url := "--kartustok.url=https://sinarjaya.kartustok.com/public/v1"
	for _, tc := range []struct {
		name string
		args []string
		want string // the whole of stderr, but for the prefix
	}{
		{
			"total without a file",
			[]string{url, "--total-shards=2"},
			"--total-shards=2 divides the companies of --config.file (or --demo's) among replicas; one company cannot be divided",
		},
		{
			"total and shard without a file",
			[]string{url, "--total-shards=2", "--shard=1"},
			"--total-shards=2 divides the companies of --config.file (or --demo's) among replicas; one company cannot be divided",
		},
		{
			"shard without a total",
			[]string{url, "--shard=1"},
			"--shard: the shard must be in [0, 1) for --total-shards=1, got 1",
		},
		{
			"shard without a total, with a file",
			[]string{file, "--shard=1"},
			"--shard: the shard must be in [0, 1) for --total-shards=1, got 1",
		},
		{
			"shard equal to the total",
			[]string{file, "--total-shards=3", "--shard=3"},
			"--shard: the shard must be in [0, 3) for --total-shards=3, got 3",
		},
		{
			"shard above the total",
			[]string{file, "--total-shards=3", "--shard=7"},
			"--shard: the shard must be in [0, 3) for --total-shards=3, got 7",
		},
		{
			"negative shard",
			[]string{file, "--total-shards=3", "--shard=-1"},
			"--shard: the shard must be in [0, 3) for --total-shards=3, got -1",
		},
		{
			"zero total",
			[]string{file, "--total-shards=0"},
			"--total-shards must be at least 1, got 0",
		},
		{
			"negative total",
			[]string{file, "--total-shards=-2", "--shard=0"},
			"--total-shards must be at least 1, got -2",
		},
		{
			"not a number",
			[]string{file, "--total-shards=two"},
			`parsing "two": invalid syntax, try --help`,
		},
	} {
		for _, mode := range flagModes {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				t.Setenv(tokenEnv, secretToken) // for --config.check of the one company of the flags
				stderr := refusedFlags(t, mode, tc.args...)
				if tc.name == "not a number" {
					assert.Contains(t, stderr, tc.want)
					return
				}
				assert.Equal(t, "kartustok_exporter: error: "+tc.want+"\n", stderr)
			})
		}
	}

	for _, tc := range []struct {
		name         string
		args         []string
		shard, total int
	}{
		{"one shard by default", []string{file}, 0, 1},
		{"the last shard", []string{file, "--total-shards=3", "--shard=2"}, 2, 3},
		{"more shards than companies", []string{file, "--total-shards=10", "--shard=9"}, 9, 10},
		{"the demo's companies", []string{"--demo", "--demo.companies=4", "--total-shards=2", "--shard=1"}, 1, 2},
		{"one shard of one company", []string{url, "--total-shards=1", "--shard=0"}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := acceptedFlags(t, tc.args...)
			assert.Equal(t, tc.shard, cfg.shard)
			assert.Equal(t, tc.total, cfg.totalShards)
		})
	}
}

// playHost makes the host name name, or the error err, for the test.
func playHost(t *testing.T, name string, err error) {
	t.Helper()
	old := hostname
	hostname = func() (string, error) { return name, err }
	t.Cleanup(func() { hostname = old })
}

// TestShardFromThePodName: with --total-shards above 1 and --shard unset,
// the shard is the ordinal of the StatefulSet pod, from POD_NAME or else
// the host name; a name without an ordinal, or an ordinal outside the
// shards, is a flag error that names where the name came from and says to
// set --shard. --shard, when set, wins; with one shard, nothing is read.
func TestShardFromThePodName(t *testing.T) {
	file := "--config.file=" + writeCompaniesFile(t, "sinarjaya", "majumundur", "tokobaru")
	for _, tc := range []struct {
		name    string
		pod     string // POD_NAME; "-" leaves it unset
		host    string
		hostErr error
		args    []string
		shard   int
		from    string
		wantErr string
	}{
		{"POD_NAME", "kartustok-exporter-2", "vm", nil, []string{"--total-shards=3"}, 2, `the ordinal of POD_NAME "kartustok-exporter-2"`, ""},
		{"POD_NAME of shard 0", "kartustok-exporter-0", "vm", nil, []string{"--total-shards=3"}, 0, `the ordinal of POD_NAME "kartustok-exporter-0"`, ""},
		{"POD_NAME before the host name", "kartustok-exporter-1", "kartustok-exporter-2", nil, []string{"--total-shards=3"}, 1, `the ordinal of POD_NAME "kartustok-exporter-1"`, ""},
		{"the host name", "-", "kartustok-exporter-2", nil, []string{"--total-shards=3"}, 2, `the ordinal of the host name "kartustok-exporter-2"`, ""},
		{"an empty POD_NAME", "", "kartustok-exporter-1", nil, []string{"--total-shards=3"}, 1, `the ordinal of the host name "kartustok-exporter-1"`, ""},
		{"--shard wins", "kartustok-exporter-2", "vm", nil, []string{"--total-shards=3", "--shard=0"}, 0, "", ""},
		{"one shard reads no name", "kartustok-exporter-7", "vm", nil, nil, 0, "", ""},
		{
			"POD_NAME without an ordinal", "kartustok-exporter", "kartustok-exporter-1", nil,
			[]string{"--total-shards=3"},
			0, "",
			`--total-shards=3 without --shard: POD_NAME "kartustok-exporter" does not end in a StatefulSet pod's ordinal (-0, -1, …); set --shard`,
		},
		{
			"a Deployment's pod", "kartustok-exporter-7d9c5b-x2k9p", "vm", nil,
			[]string{"--total-shards=3"},
			0, "",
			`--total-shards=3 without --shard: POD_NAME "kartustok-exporter-7d9c5b-x2k9p" does not end in a StatefulSet pod's ordinal (-0, -1, …); set --shard`,
		},
		{
			"a leading zero", "kartustok-exporter-01", "vm", nil,
			[]string{"--total-shards=3"},
			0, "",
			`--total-shards=3 without --shard: POD_NAME "kartustok-exporter-01" does not end in a StatefulSet pod's ordinal (-0, -1, …); set --shard`,
		},
		{
			"an ordinal beyond the shards", "kartustok-exporter-3", "vm", nil,
			[]string{"--total-shards=3"},
			0, "",
			`--shard: the shard must be in [0, 3) for --total-shards=3, got 3, the ordinal of POD_NAME "kartustok-exporter-3"`,
		},
		{
			"a Deployment's pod of digits", "kartustok-exporter-7d9c5b-24567", "vm", nil,
			[]string{"--total-shards=3"},
			0, "",
			`--shard: the shard must be in [0, 3) for --total-shards=3, got 24567, the ordinal of POD_NAME "kartustok-exporter-7d9c5b-24567"`,
		},
		{
			"a host name without an ordinal", "-", "vm", nil,
			[]string{"--total-shards=3"},
			0, "",
			`--total-shards=3 without --shard: the host name "vm" does not end in a StatefulSet pod's ordinal (-0, -1, …); set --shard`,
		},
		{
			"no host name", "-", "", errors.New("uname failed"),
			[]string{"--total-shards=3"},
			0, "",
			`--total-shards=3 without --shard: no POD_NAME and no host name: uname failed; set --shard`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("POD_NAME", tc.pod)
			if tc.pod == "-" {
				require.NoError(t, os.Unsetenv("POD_NAME"))
			}
			playHost(t, tc.host, tc.hostErr)
			args := append([]string{file}, tc.args...)
			if tc.wantErr != "" {
				for _, mode := range flagModes {
					unsetTokenEnv(t)
					assert.Equal(t, "kartustok_exporter: error: "+tc.wantErr+"\n", refusedFlags(t, mode, args...), mode)
				}
				return
			}
			cfg := acceptedFlags(t, args...)
			assert.Equal(t, tc.shard, cfg.shard)
			assert.Equal(t, tc.from, cfg.shardFrom)
		})
	}
}

// TestCompanyFlag: --kartustok.company names the one company of the flags
// and must be a valid company label; unset, it is the first label of the
// URL's host name in lower case (kartustok when that is no valid name),
// demo for --demo.
func TestCompanyFlag(t *testing.T) {
	url := "--kartustok.url=https://sinarjaya.kartustok.com/public/v1"
	for _, name := range []string{"SinarJaya", "sinar jaya", "sinar.jaya", strings.Repeat("a", 64), "toko/1", "é"} {
		for _, mode := range flagModes {
			t.Run(name+"/"+mode, func(t *testing.T) {
				t.Setenv(tokenEnv, secretToken) // for --config.check
				stderr := refusedFlags(t, mode, url, "--kartustok.company="+name)
				assert.Equal(t, fmt.Sprintf("kartustok_exporter: error: --kartustok.company %q must match [a-z0-9_-]{1,63}: it is the value of the company label\n", name), stderr)
			})
		}
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"from the host", []string{url}, "sinarjaya"},
		{"from a host in upper case", []string{"--kartustok.url=https://SinarJaya.KartuStok.com/public/v1"}, "sinarjaya"},
		{"from a bare host", []string{"--kartustok.url=https://toko-1.kartustok.com"}, "toko-1"},
		{"from a host behind a proxy", []string{"--kartustok.url=https://stock.example.co.id:8443/kartustok/public/v1"}, "stock"},
		{"an IP address", []string{"--kartustok.url=http://127.0.0.1:8080/public/v1"}, "kartustok"},
		{"an IPv6 address", []string{"--kartustok.url=http://[::1]:8080/public/v1"}, "kartustok"},
		{"a host label too long", []string{"--kartustok.url=https://" + strings.Repeat("a", 64) + ".example.com/public/v1"}, "kartustok"},
		{"set", []string{url, "--kartustok.company=sinar_jaya-2"}, "sinar_jaya-2"},
		{"the longest", []string{url, "--kartustok.company=" + strings.Repeat("a", 63)}, strings.Repeat("a", 63)},
		{"the demo", []string{"--demo"}, "demo"},
		{"the demo's, set", []string{"--demo", "--kartustok.company=acme"}, "acme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := acceptedFlags(t, tc.args...)
			assert.Equal(t, tc.want, cfg.company)
			var cfgs []*config
			if cfg.demo {
				ds, dcfgs, err := startDemos(cfg, log.NewNopLogger())
				require.NoError(t, err)
				t.Cleanup(ds.Close)
				cfgs = dcfgs
			} else {
				var err error
				cfgs, err = cfg.companyConfigs()
				require.NoError(t, err)
			}
			require.Len(t, cfgs, 1)
			assert.Equal(t, tc.want, cfgs[0].company, "the company served")
		})
	}
}

// TestDemoCompaniesFlag: --demo serves 1 to 100 simulated companies;
// another count, --demo.companies without --demo, or --demo with a
// companies file is a flag error in every mode.
func TestDemoCompaniesFlag(t *testing.T) {
	file := "--config.file=" + writeCompaniesFile(t, "sinarjaya")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"none", []string{"--demo", "--demo.companies=0"}, "--demo.companies must be between 1 and 100, got 0"},
		{"too many", []string{"--demo", "--demo.companies=101"}, "--demo.companies must be between 1 and 100, got 101"},
		{"negative", []string{"--demo", "--demo.companies=-1"}, "--demo.companies must be between 1 and 100, got -1"},
		{"without --demo", []string{"--kartustok.url=https://sinarjaya.kartustok.com/public/v1", "--demo.companies=3"}, "--demo.companies is for --demo"},
		{"with a companies file", []string{"--demo", file}, "--demo and --config.file exclude each other: the demo serves simulated companies of its own"},
		{"named, of many", []string{"--demo", "--demo.companies=3", "--kartustok.company=acme"}, "--kartustok.company names the one company of --demo; --demo.companies=3 names its companies demo-1 to demo-3"},
	} {
		for _, mode := range flagModes {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				t.Setenv(tokenEnv, secretToken) // for --config.check
				assert.Equal(t, "kartustok_exporter: error: "+tc.want+"\n", refusedFlags(t, mode, tc.args...))
			})
		}
	}
	for _, n := range []int{1, 2, 100} {
		cfg := acceptedFlags(t, "--demo", fmt.Sprint("--demo.companies=", n))
		assert.Equal(t, n, cfg.demoCompanies)
		assert.Len(t, demoNames(cfg.company, n), n)
	}
	assert.Equal(t, []string{"demo"}, demoNames("demo", 1))
	assert.Equal(t, []string{"demo-1", "demo-2", "demo-3"}, demoNames("demo", 3))
}
