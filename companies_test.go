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
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	companyfile "github.com/kartustok/kartustok_exporter/config"
	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok/kartustoktest"
)

// errorLines requires every line of stderr to be an error line of the
// program and returns them without the prefix.
func errorLines(t *testing.T, stderr string) []string {
	t.Helper()
	var out []string
	for line := range strings.SplitSeq(strings.TrimSuffix(stderr, "\n"), "\n") {
		msg, ok := strings.CutPrefix(line, "kartustok_exporter: error: ")
		assert.True(t, ok, "not an error line: %q", line)
		out = append(out, msg)
	}
	return out
}

// emptyShard is a shard of total that holds none of names.
func emptyShard(t *testing.T, total int, names ...string) int {
	t.Helper()
	for shard := range total {
		if !slices.Contains(shardsOf(total, names...), shard) {
			return shard
		}
	}
	t.Fatalf("every shard of %d holds one of %v", total, names)
	return 0
}

// separatingTotal is the least total of shards above 1 that puts a and b
// in different shards.
func separatingTotal(t *testing.T, a, b string) int {
	t.Helper()
	for total := 2; total < 100; total++ {
		if companyfile.ShardOf(a, total) != companyfile.ShardOf(b, total) {
			return total
		}
	}
	t.Fatalf("no total below 100 separates %s and %s", a, b)
	return 0
}

// shardsOf are the shards of names among total.
func shardsOf(total int, names ...string) []int {
	out := make([]int, len(names))
	for i, n := range names {
		out[i] = companyfile.ShardOf(n, total)
	}
	return out
}

// TestConfigCheckCompaniesFile: --config.check of a companies file
// reports every company of this shard, with its token file and minimums
// file, and exits 0; a problem of the file, located by file and line, or of
// a company's own files exits 1, as a file the flags name does.
func TestConfigCheckCompaniesFile(t *testing.T) {
	unsetTokenEnv(t)
	dir := t.TempDir()
	for _, n := range []string{"sinarjaya", "majumundur"} {
		writeToken(t, filepath.Join(dir, n+".token"), secretToken+"\n", 0o600)
	}
	testkit.WriteFile(t, filepath.Join(dir, "minimums.yml"), goodMinimums)
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		testkit.WriteFile(t, path, content)
		return path
	}
	good := write("good.yml", `companies:
  - name: sinarjaya
    url: https://sinarjaya.kartustok.com/public/v1
    token_file: sinarjaya.token
    minimums_file: minimums.yml
  - name: majumundur
    url: https://majumundur.kartustok.com
    token_file: majumundur.token
`)
	unknownKey := write("unknown.yml", `companies:
  - name: sinarjaya
    url: https://sinarjaya.kartustok.com/public/v1
    tokn_file: sinarjaya.token
`)
	duplicate := write("duplicate.yml", `companies:
  - name: sinarjaya
    url: https://sinarjaya.kartustok.com/public/v1
    token_file: sinarjaya.token
  - name: sinarjaya
    url: https://majumundur.kartustok.com/public/v1
    token_file: majumundur.token
`)
	missingToken := write("missing-token.yml", `companies:
  - name: sinarjaya
    url: https://sinarjaya.kartustok.com/public/v1
    token_file: sinarjaya.token
  - name: majumundur
    url: https://majumundur.kartustok.com/public/v1
    token_file: nowhere.token
`)
	tooRare := write("too-rare.yml", `companies:
  - name: sinarjaya
    url: https://sinarjaya.kartustok.com/public/v1
    token_file: sinarjaya.token
  - name: majumundur
    url: https://majumundur.kartustok.com/public/v1
    token_file: majumundur.token
    max_staleness: 1m
    stock_interval: 5m
`)
	tooRareAndMissing := write("too-rare-missing.yml", `companies:
  - name: sinarjaya
    url: https://sinarjaya.kartustok.com/public/v1
    token_file: nowhere.token
  - name: majumundur
    url: https://majumundur.kartustok.com/public/v1
    token_file: majumundur.token
    max_staleness: 1m
    stock_interval: 5m
`)
	sinarjaya := "company sinarjaya, token file " + filepath.Join(dir, "sinarjaya.token") + ", minimums file " + filepath.Join(dir, "minimums.yml") + ": categories=1 items=1 warehouse_minimums=1"
	majumundur := "company majumundur, token file " + filepath.Join(dir, "majumundur.token")
	total := separatingTotal(t, "sinarjaya", "majumundur")
	shardOfSinarjaya := companyfile.ShardOf("sinarjaya", total)
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		wantOut string
		wantErr []string // the error lines, whole
	}{
		{
			"good",
			[]string{"--config.file=" + good},
			0,
			"kartustok_exporter: configuration OK; companies file " + good + ": 2 companies in shard 0 of 1; " + sinarjaya + "; " + majumundur + "; no --web.config.file\n", nil,
		},
		{
			"one shard",
			[]string{"--config.file=" + good, fmt.Sprint("--total-shards=", total), fmt.Sprint("--shard=", shardOfSinarjaya)},
			0,
			fmt.Sprintf("kartustok_exporter: configuration OK; companies file %s: 1 company in shard %d of %d; %s; no --web.config.file\n", good, shardOfSinarjaya, total, sinarjaya), nil,
		},
		{"unknown key", []string{"--config.file=" + unknownKey}, 1, "", []string{
			unknownKey + `:4: companies[0]: unknown field "tokn_file", did you mean "token_file"?`,
		}},
		{"duplicate name", []string{"--config.file=" + duplicate}, 1, "", []string{
			duplicate + `:5: companies[1].name: duplicate company "sinarjaya" (first at line 2)`,
		}},
		{"missing token file", []string{"--config.file=" + missingToken}, 1, "", nil},
		{"a company's intervals", []string{"--config.file=" + tooRare}, 1, "", []string{
			tooRare + ":5: companies[1]: stock_interval (--sync.stock-interval) 5m0s must be shorter than max_staleness (--sync.max-staleness) 1m0s, or every stock series vanishes for part of each cycle: lower stock_interval (--sync.stock-interval) or raise max_staleness (--sync.max-staleness)",
		}},
		// One run reports every problem: a company's values do not stop
		// the check of the token files.
		{"a company's intervals and another's token file", []string{"--config.file=" + tooRareAndMissing}, 1, "", nil},
		{"no file", []string{"--config.file=" + filepath.Join(dir, "nowhere.yml")}, 1, "", []string{
			"reading config file: open " + filepath.Join(dir, "nowhere.yml") + ": no such file or directory",
		}},
		{"a flag error and a file's", []string{"--config.file=" + duplicate, "--kartustok.company=sinarjaya"}, 2, "", []string{
			"--config.file lists the companies, each with its own URL, token, minimums and name; remove --kartustok.company (the file's name) and give them per company in the file",
			duplicate + `:5: companies[1].name: duplicate company "sinarjaya" (first at line 2)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append(tc.args, "--config.check"), &stdout, &stderr)
			assert.Equal(t, tc.code, code, stderr.String())
			assert.Equal(t, tc.wantOut, stdout.String())
			assert.NotContains(t, stdout.String()+stderr.String(), secretToken)
			if tc.code == 0 {
				assert.Empty(t, stderr.String())
				return
			}
			lines := errorLines(t, stderr.String())
			if tc.name == "a company's intervals and another's token file" {
				require.Len(t, lines, 2, stderr.String())
				assert.Contains(t, stderr.String(), tooRareAndMissing+":5: companies[1]: stock_interval (--sync.stock-interval) 5m0s must be shorter")
				assert.Contains(t, stderr.String(), filepath.Join(dir, "nowhere.token")+": no such file or directory")
				return
			}
			if tc.name == "missing token file" {
				require.Len(t, lines, 1)
				assert.Contains(t, lines[0], filepath.Join(dir, "nowhere.token")+": no such file or directory")
				return
			}
			assert.Equal(t, tc.wantErr, lines)
		})
	}
}

// TestKartustokCheckCompaniesFile: --kartustok.check checks every company
// of the file in this shard against its own API, each under a heading that
// names it, then sums up; one company refused fails the check, exit 1,
// without showing a token. A file that cannot be loaded exits 1 as a start
// does, each problem on an error line of its own.
func TestKartustokCheckCompaniesFile(t *testing.T) {
	unsetTokenEnv(t)
	dir := t.TempDir()
	sims := map[string]*kartustoktest.Server{}
	tokens := map[string]string{}
	for i, name := range []string{"sinarjaya", "majumundur"} {
		company := kartustoktest.NewCompany(kartustoktest.Config{Seed: int64(i + 1), Subdomain: name, Locators: 1, Items: 20})
		srv := kartustoktest.NewServer(company)
		t.Cleanup(srv.Close)
		sims[name], tokens[name] = srv, company.AddToken(kartustoktest.TokenSpec{})
		writeToken(t, filepath.Join(dir, name+".token"), tokens[name]+"\n", 0o600)
	}
	file := func(name string, companies ...string) string {
		var b strings.Builder
		b.WriteString("companies:\n")
		for _, c := range companies {
			fmt.Fprintf(&b, "  - name: %s\n    url: %s\n    token_file: %s.token\n", c, sims[c].URL, c)
		}
		path := filepath.Join(dir, name)
		testkit.WriteFile(t, path, b.String())
		return path
	}
	both := file("both.yml", "sinarjaya", "majumundur")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	check := func(t *testing.T, args ...string) (code int, stdout, stderr string) {
		t.Helper()
		var out, errs bytes.Buffer
		code = runContext(ctx, append(args, "--kartustok.check"), &out, &errs)
		assert.NotContains(t, out.String()+errs.String(), tokens["sinarjaya"][:12])
		assert.NotContains(t, out.String()+errs.String(), tokens["majumundur"][:12])
		return code, out.String(), errs.String()
	}
	heading := func(t *testing.T, stdout string, i int, name string) string {
		t.Helper()
		h := fmt.Sprintf("Company %s (%d of 2)\n", name, i)
		_, report, ok := strings.Cut(stdout, h)
		require.True(t, ok, "no heading %q:\n%s", h, stdout)
		report, _, _ = strings.Cut(report, "\nCompany ")
		return report
	}

	t.Run("both pass", func(t *testing.T) {
		code, stdout, _ := check(t, "--config.file="+both)
		assert.Equal(t, 0, code, stdout)
		assert.True(t, strings.HasPrefix(stdout, "Company sinarjaya (1 of 2)\n"), stdout)
		for i, name := range []string{"sinarjaya", "majumundur"} {
			assert.Regexp(t, `(?m)^OK: the exporter can use this token`, heading(t, stdout, i+1, name), name)
		}
		assert.True(t, strings.HasSuffix(stdout, "\n\n2 of 2 companies pass.\n"), stdout)
	})

	t.Run("one revoked", func(t *testing.T) {
		sims["majumundur"].Company().RevokeToken(tokens["majumundur"])
		code, stdout, _ := check(t, "--config.file="+both)
		assert.Equal(t, 1, code, stdout)
		good := heading(t, stdout, 1, "sinarjaya")
		assert.Regexp(t, `(?m)^OK: the exporter can use this token`, good)
		assert.NotContains(t, good, "401")
		revoked := heading(t, stdout, 2, "majumundur")
		assert.Contains(t, revoked, "401 Unauthorized: Token has been revoked")
		assert.Contains(t, revoked, "FAILED: 1 problem")
		assert.True(t, strings.HasSuffix(stdout, "\n\n1 of 2 companies pass.\n"), stdout)

		// The shard of the company that passes checks it alone, and
		// names it.
		total := separatingTotal(t, "sinarjaya", "majumundur")
		shard := companyfile.ShardOf("sinarjaya", total)
		code, stdout, _ = check(t, "--config.file="+both, fmt.Sprint("--total-shards=", total), fmt.Sprint("--shard=", shard))
		assert.Equal(t, 0, code, stdout)
		assert.True(t, strings.HasPrefix(stdout, "Company sinarjaya (1 of 1)\n"), stdout)
		assert.NotContains(t, stdout, "majumundur")
	})

	t.Run("an empty shard", func(t *testing.T) {
		shard := emptyShard(t, 10, "sinarjaya", "majumundur")
		code, stdout, stderr := check(t, "--config.file="+both, "--total-shards=10", fmt.Sprint("--shard=", shard))
		assert.Equal(t, 0, code, stderr)
		assert.Equal(t, fmt.Sprintf("No company of %s is in shard %d of 10: nothing to check.\n", both, shard), stdout)

		shard = emptyShard(t, 2, "demo")
		code, stdout, stderr = check(t, "--demo", "--total-shards=2", fmt.Sprint("--shard=", shard))
		assert.Equal(t, 0, code, stderr)
		assert.Equal(t, fmt.Sprintf("No company of --demo is in shard %d of 2: nothing to check.\n", shard), stdout)
	})

	t.Run("a bad file", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.yml")
		testkit.WriteFile(t, bad, "companies:\n  - name: sinarjaya\n    url: "+sims["sinarjaya"].URL+"\n    tokn_file: sinarjaya.token\n  - name: sinarjaya\n    url: "+sims["sinarjaya"].URL+"\n    token_file: sinarjaya.token\n")
		before := len(sims["sinarjaya"].Requests())
		code, stdout, stderr := check(t, "--config.file="+bad)
		assert.Equal(t, 1, code, "exit 1, as a start and --config.check exit on this file")
		assert.Empty(t, stdout)
		assert.Equal(t, []string{
			bad + `:4: companies[0]: unknown field "tokn_file", did you mean "token_file"?`,
			bad + `:5: companies[1].name: duplicate company "sinarjaya" (first at line 2)`,
		}, errorLines(t, stderr))
		assert.Len(t, sims["sinarjaya"].Requests(), before, "nothing sent")
	})

	t.Run("a missing token file", func(t *testing.T) {
		require.NoError(t, os.Remove(filepath.Join(dir, "majumundur.token")))
		code, stdout, _ := check(t, "--config.file="+both)
		assert.Equal(t, 1, code, stdout)
		assert.Contains(t, heading(t, stdout, 2, "majumundur"), filepath.Join(dir, "majumundur.token"))
		assert.True(t, strings.HasSuffix(stdout, "\n\n1 of 2 companies pass.\n"), stdout)
	})
}
