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

package helm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

const (
	// Where the chart mounts the companies ConfigMap and the tokens Secret.
	companiesDir  = etcDir + "companies"
	companiesFile = companiesDir + "/companies.yml"
	tokensDir     = etcDir + "tokens"

	companiesConfigMap = "acme-kartustok-exporter-companies"
	tokensSecret       = "acme-kartustok-exporter-tokens"
	headlessService    = "acme-kartustok-exporter-headless"
)

// companyValues is one entry of the value companies, with the companies
// file's keys.
type companyValues struct {
	Name              string   `json:"name"`
	URL               string   `json:"url"`
	TokenExpiresAt    string   `json:"token_expires_at"`
	Minimums          string   `json:"minimums"`
	MinimumsFile      string   `json:"minimums_file"`
	RateLimit         *int     `json:"rate_limit"`
	Budget            *float64 `json:"budget"`
	RateLimitWindow   *string  `json:"rate_limit_window"`
	HealthInterval    *string  `json:"health_interval"`
	CatalogInterval   *string  `json:"catalog_interval"`
	StockInterval     *string  `json:"stock_interval"`
	FullStockInterval *string  `json:"full_stock_interval"`
	FlowInterval      *string  `json:"flow_interval"`
	MaxStaleness      *string  `json:"max_staleness"`
}

// durations are the company's duration overrides by the file's key.
func (c companyValues) durations() map[string]*string {
	return map[string]*string{
		"rate_limit_window":   c.RateLimitWindow,
		"health_interval":     c.HealthInterval,
		"catalog_interval":    c.CatalogInterval,
		"stock_interval":      c.StockInterval,
		"full_stock_interval": c.FullStockInterval,
		"flow_interval":       c.FlowInterval,
		"max_staleness":       c.MaxStaleness,
	}
}

// parsedCompanies is what testdata/configparse writes: the companies file
// as the exporter's package config reads it.
type parsedCompanies struct {
	Companies []struct {
		Name           string            `json:"name"`
		URL            string            `json:"url"`
		TokenFile      string            `json:"token_file"`
		MinimumsFile   string            `json:"minimums_file"`
		TokenExpiresAt string            `json:"token_expires_at"`
		RateLimit      *int              `json:"rate_limit"`
		Budget         *float64          `json:"budget"`
		Durations      map[string]string `json:"durations"`
		Shard          int               `json:"shard"`
	} `json:"companies"`
	PodShards map[string]*int `json:"pod_shards"`
}

// buildConfigParser builds testdata/configparse, which imports the
// exporter's package config, in a Go workspace of its own with the
// exporter's module: this module does not require the exporter's (see
// testdata/configparse), so the test reads the companies file with the
// very parser of --config.file without changing what Helm is built with.
func buildConfigParser(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("testdata", "configparse", "main.go"))
	require.NoError(t, err)
	mod := filepath.Join(dir, "configparse")
	require.NoError(t, os.Mkdir(mod, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(mod, "main.go"), src, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module configparse\n\ngo 1.26.0\n"), 0o600))
	work := filepath.Join(dir, "go.work")
	require.NoError(t, os.WriteFile(work, fmt.Appendf(nil, "go 1.26.0\n\nuse (\n\t%q\n\t%q\n)\n", root, mod), 0o600))
	bin := filepath.Join(dir, "configparse-bin")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOWORK="+work, "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building testdata/configparse with the exporter's package config:\n%s", out)
	return bin
}

// parseCompanies reads a companies file with the exporter's package config.
func parseCompanies(t *testing.T, parser, file string, totalShards int, pods []string) parsedCompanies {
	t.Helper()
	cmd := exec.Command(parser, "-total-shards", strconv.Itoa(totalShards), "-pods", strings.Join(pods, ","), file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "the exporter's package config refuses the rendered companies file:\n%s", stderr.String())
	var p parsedCompanies
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &p))
	return p
}

// checkCompanies asserts that, with companies, the exporter reads a
// companies file that the exporter's own parser accepts and that says what
// the values say; that every token_file is the company's key in the tokens
// Secret mounted at that path and every minimums_file a file mounted at
// its path; that with shards the pods are the shards, each finding its own
// from its name, and every company is in one of them. Without companies,
// none of that is rendered.
func checkCompanies(t *testing.T, r *rendering, parser string) {
	w := r.workload(t)
	c := exporter(t, w)
	v := r.values
	podName := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "POD_NAME" })
	total, totalSet := flagValue(c.Args, "--total-shards")
	_, shardSet := flagValue(c.Args, "--shard")
	assert.False(t, shardSet, "--shard: each pod takes its shard from its name")
	if len(v.Companies) == 0 {
		_, ok := flagValue(c.Args, "--config.file")
		assert.False(t, ok, "--config.file without companies")
		assert.False(t, totalSet, "--total-shards without companies")
		assert.Negative(t, podName, "POD_NAME without shards")
		assert.Nil(t, r.byName("ConfigMap", companiesConfigMap))
		assert.Nil(t, r.byName("Secret", tokensSecret))
		assert.NotContains(t, w.pod.Annotations, "checksum/companies")
		return
	}

	file, ok := flagValue(c.Args, "--config.file")
	require.True(t, ok, "--config.file is missing from %q", c.Args)
	assert.Equal(t, companiesFile, file)
	shards := max(v.Shards, 1)
	if w.sts != nil {
		require.True(t, totalSet, "--total-shards is missing from %q", c.Args)
		assert.Equal(t, strconv.Itoa(shards), total, "--total-shards is the value shards")
		require.GreaterOrEqual(t, podName, 0, "POD_NAME is missing: the exporter takes its shard from it")
		e := c.Env[podName]
		assert.Empty(t, e.Value)
		require.NotNil(t, e.ValueFrom)
		require.NotNil(t, e.ValueFrom.FieldRef, "POD_NAME comes from the downward API")
		assert.Equal(t, "metadata.name", e.ValueFrom.FieldRef.FieldPath)
		assert.Len(t, slices.DeleteFunc(slices.Clone(c.Env), func(e corev1.EnvVar) bool { return e.Name != "POD_NAME" }), 1, "POD_NAME is set once")
	} else {
		assert.Equal(t, 1, shards)
		assert.False(t, totalSet, "--total-shards with one pod")
		assert.Negative(t, podName, "POD_NAME without shards")
	}

	// The companies file and the inline minimums, in a ConfigMap mounted
	// whole as a directory: a company added later appears in it.
	cmObj := r.byName("ConfigMap", companiesConfigMap)
	require.NotNil(t, cmObj, "the companies ConfigMap %s is not rendered", companiesConfigMap)
	cm := cmObj.(*corev1.ConfigMap)
	checkMountedDirectory(t, w, file, func(vol corev1.Volume) (string, []corev1.KeyToPath, *int32) {
		require.NotNil(t, vol.ConfigMap, "the companies volume must be a ConfigMap")
		assert.Empty(t, vol.ConfigMap.Items, "the companies ConfigMap is mounted whole")
		return vol.ConfigMap.Name, vol.ConfigMap.Items, vol.ConfigMap.DefaultMode
	}, companiesConfigMap)
	wantKeys := []string{path.Base(file)}
	for _, company := range v.Companies {
		if company.Minimums != "" {
			wantKeys = append(wantKeys, company.Name+".minimums.yml")
		}
	}
	assert.ElementsMatch(t, wantKeys, slices.Collect(maps.Keys(cm.Data)), "the companies ConfigMap's keys")

	// The tokens, one key per company in a Secret mounted whole.
	secretName := v.CompaniesTokens.ExistingSecret
	var secret *corev1.Secret
	if secretName == "" {
		secretName = tokensSecret
		s := r.byName("Secret", secretName)
		require.NotNil(t, s, "the tokens Secret %s is not rendered", secretName)
		secret = s.(*corev1.Secret)
		var names []string
		for _, company := range v.Companies {
			names = append(names, company.Name)
		}
		assert.ElementsMatch(t, names, slices.Collect(maps.Keys(secret.Data)), "the tokens Secret holds one key per company")
	} else {
		assert.Empty(t, r.all("Secret"), "with an existing Secret the chart creates none")
	}

	// The file as the exporter reads it.
	f := filepath.Join(t.TempDir(), "companies.yml")
	require.NoError(t, os.WriteFile(f, []byte(cm.Data[path.Base(file)]), 0o600))
	// The pods of the StatefulSet, once running.
	var pods []string
	if w.sts != nil {
		for i := range shards {
			pods = append(pods, fmt.Sprintf("%s-%d", w.sts.Name, i))
		}
	}
	parsed := parseCompanies(t, parser, f, shards, pods)
	require.Len(t, parsed.Companies, len(v.Companies), "the companies of the file")
	perShard := map[int][]string{}
	for i, want := range v.Companies {
		got := parsed.Companies[i]
		assert.Equal(t, want.Name, got.Name, "companies[%d]", i)
		assert.Equal(t, strings.TrimSuffix(want.URL, "/"), got.URL, "%s: url", want.Name)

		assert.Equal(t, tokensDir+"/"+want.Name, got.TokenFile, "%s: token_file", want.Name)
		checkMountedDirectory(t, w, got.TokenFile, func(vol corev1.Volume) (string, []corev1.KeyToPath, *int32) {
			require.NotNil(t, vol.Secret, "the tokens volume must be a Secret")
			assert.Empty(t, vol.Secret.Items, "the tokens Secret is mounted whole")
			return vol.Secret.SecretName, vol.Secret.Items, vol.Secret.DefaultMode
		}, secretName)
		if secret != nil {
			assert.Equal(t, v.CompaniesTokens.Tokens[want.Name], string(secret.Data[path.Base(got.TokenFile)]), "%s: the token under the key of its token_file", want.Name)
		}

		switch {
		case want.Minimums != "":
			assert.Equal(t, companiesDir+"/"+want.Name+".minimums.yml", got.MinimumsFile, "%s: minimums_file", want.Name)
			assert.Equal(t, want.Minimums, cm.Data[path.Base(got.MinimumsFile)], "%s: the minimums in the ConfigMap", want.Name)
		case want.MinimumsFile != "":
			assert.Equal(t, want.MinimumsFile, got.MinimumsFile, "%s: minimums_file", want.Name)
			assert.True(t, slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
				return strings.HasPrefix(got.MinimumsFile, strings.TrimSuffix(m.MountPath, "/")+"/")
			}), "%s: minimums_file %s is in no mounted volume", want.Name, got.MinimumsFile)
		default:
			assert.Empty(t, got.MinimumsFile, "%s: minimums_file", want.Name)
		}

		if want.TokenExpiresAt == "" {
			assert.Empty(t, got.TokenExpiresAt, "%s: token_expires_at", want.Name)
		} else {
			exp, err := time.Parse(time.RFC3339, want.TokenExpiresAt)
			if err != nil {
				exp, err = time.Parse(time.DateOnly, want.TokenExpiresAt)
			}
			require.NoError(t, err)
			assert.Equal(t, exp.Format(time.RFC3339), got.TokenExpiresAt, "%s: token_expires_at", want.Name)
		}
		assert.Equal(t, want.RateLimit, got.RateLimit, "%s: rate_limit", want.Name)
		assert.Equal(t, want.Budget, got.Budget, "%s: budget", want.Name)
		wantDurations := map[string]string{}
		for key, d := range want.durations() {
			if d == nil {
				continue
			}
			parsed, err := time.ParseDuration(*d)
			require.NoError(t, err, "%s: %s", want.Name, key)
			wantDurations[key] = parsed.String()
		}
		assert.Equal(t, wantDurations, got.Durations, "%s: the duration overrides", want.Name)

		assert.True(t, got.Shard >= 0 && got.Shard < shards, "%s: shard %d of %d", want.Name, got.Shard, shards)
		perShard[got.Shard] = append(perShard[got.Shard], got.Name)
	}

	// With shards, pod i serves shard i: every shard, and so every company,
	// has exactly one pod.
	if w.sts != nil {
		require.NotNil(t, w.replicas)
		if v.Replicas != 0 {
			require.EqualValues(t, shards, *w.replicas, "one pod per shard")
		}
		for i, pod := range pods {
			got := parsed.PodShards[pod]
			require.NotNil(t, got, "the exporter finds no shard in the pod name %s", pod)
			assert.Equal(t, i, *got, "pod %s serves shard %d", pod, *got)
		}
		served := 0
		for shard := range shards {
			t.Logf("shard %d (pod %s): %q", shard, pods[shard], perShard[shard])
			served += len(perShard[shard])
		}
		assert.Equal(t, len(v.Companies), served, "every company is served by one pod")
	}

	// A change of companies rolls the pods, unless the user reloads them.
	_, checksum := w.pod.Annotations["checksum/companies"]
	assert.Equal(t, v.CompaniesFile.RestartOnChange, checksum, "the checksum/companies annotation with companiesFile.restartOnChange %v", v.CompaniesFile.RestartOnChange)
}

var configFileFlag = regexp.MustCompile(`(?m)^\s*--config\.file[=\s]`)

// exporterHasConfigFile reports whether the exporter has --config.file.
func exporterHasConfigFile(t *testing.T, exporterBin string) bool {
	t.Helper()
	out, _ := exec.Command(exporterBin, "--help").CombinedOutput()
	require.Contains(t, string(out), "--kartustok.url", "the exporter's --help")
	return configFileFlag.Match(out)
}

// layOutCompanies writes, under dir, the companies ConfigMap, the tokens
// Secret and the minimums files of extra volumes as the kubelet would mount
// them under /etc/kartustok_exporter, with the file's paths moved under
// dir. It returns the tokens.
func layOutCompanies(t *testing.T, r *rendering, dir string) []string {
	t.Helper()
	inDir := func(p string) string {
		return strings.ReplaceAll(p, etcDir, dir+string(filepath.Separator))
	}
	cm := r.byName("ConfigMap", companiesConfigMap).(*corev1.ConfigMap)
	require.NoError(t, os.MkdirAll(inDir(companiesDir), 0o700))
	for key, content := range cm.Data {
		require.NoError(t, os.WriteFile(filepath.Join(inDir(companiesDir), key), []byte(inDir(content)), 0o440))
	}
	require.NoError(t, os.MkdirAll(inDir(tokensDir), 0o700))
	var tokens []string
	for _, company := range r.values.Companies {
		token := "placeholder-token-of-" + company.Name
		if s, ok := r.byName("Secret", tokensSecret).(*corev1.Secret); ok {
			token = string(s.Data[company.Name])
		}
		tokens = append(tokens, token)
		// The mode of the Secret volume's files (checkMountedDirectory).
		require.NoError(t, os.WriteFile(filepath.Join(inDir(tokensDir), company.Name), []byte(token), 0o440))
		if company.MinimumsFile != "" {
			require.NoError(t, os.MkdirAll(filepath.Dir(inDir(company.MinimumsFile)), 0o700))
			require.NoError(t, os.WriteFile(inDir(company.MinimumsFile), []byte("items: []\n"), 0o440))
		}
	}
	return tokens
}

// TestShards renders the companies of ci/shards-values.yaml in one pod and
// divided among shards, with and without persistence, and checks the
// workload each renders as well as all that TestValueSets checks.
func TestShards(t *testing.T) {
	helmBinary(t)
	tools := buildTools(t)
	for _, tc := range []struct {
		name, values string
		kind         string
		replicas     int32
		totalShards  string // "": no --total-shards
		claims       int    // PersistentVolumeClaims the chart creates
		templates    int    // volumeClaimTemplates of the StatefulSet
	}{
		{"one pod", "shards: 1\npersistence:\n  enabled: false\n", "Deployment", 1, "", 0, 0},
		{"one pod with a claim", "shards: 1\n", "Deployment", 1, "", 1, 0},
		{"two shards", "shards: 2\n", "StatefulSet", 2, "2", 0, 1},
		{"three shards", "", "StatefulSet", 3, "3", 0, 1},
		{"three shards on emptyDirs", "persistence:\n  enabled: false\n  emptyDir:\n    sizeLimit: 64Mi\n", "StatefulSet", 3, "3", 0, 0},
		{"three shards rolled on a change", "companiesFile:\n  restartOnChange: true\n", "StatefulSet", 3, "3", 0, 1},
		{"more shards than companies", "shards: 8\n", "StatefulSet", 8, "8", 0, 1},
		{"three shards stopped", "replicaCount: 0\n", "StatefulSet", 0, "3", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "values.yaml")
			require.NoError(t, os.WriteFile(f, []byte(tc.values), 0o600))
			r := render(t, "ci/shards-values.yaml", f)
			w := r.workload(t)
			assert.Equal(t, tc.kind, w.kind())
			require.NotNil(t, w.replicas)
			assert.Equal(t, tc.replicas, *w.replicas, "replicas")
			c := exporter(t, w)
			total, ok := flagValue(c.Args, "--total-shards")
			assert.Equal(t, tc.totalShards, total, "--total-shards")
			assert.Equal(t, tc.totalShards != "", ok)
			hasPodName := slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "POD_NAME" })
			assert.Equal(t, tc.kind == "StatefulSet", hasPodName, "POD_NAME")
			assert.Len(t, r.all("PersistentVolumeClaim"), tc.claims, "claims")
			headless := r.byName("Service", headlessService)
			if w.sts != nil {
				assert.Len(t, w.sts.Spec.VolumeClaimTemplates, tc.templates, "volumeClaimTemplates")
				assert.NotNil(t, headless, "the headless Service")
			} else {
				assert.Nil(t, headless, "a headless Service without shards")
			}
			var mounts []string
			for _, m := range c.VolumeMounts {
				mounts = append(mounts, m.MountPath)
			}
			assert.Equal(t, []string{companiesDir, tokensDir, stateDir}, mounts, "the mounts")
			checkRendering(t, r, tools)
		})
	}
}

// TestCompaniesChecksum checks what rolls the pods with
// companiesFile.restartOnChange: a change of the companies file or of a
// company's inline minimums, but not of a token, which the exporter
// re-reads from its file.
func TestCompaniesChecksum(t *testing.T) {
	helmBinary(t)
	checksum := func(args ...string) string {
		t.Helper()
		out, err := helmTemplate(t, append([]string{"--values", filepath.Join(chartDir, "ci", "companies-values.yaml")}, args...)...)
		require.NoError(t, err)
		docs, err := decodeDocuments(out)
		require.NoError(t, err)
		r := &rendering{valuesFile: strings.Join(args, " "), docs: docs}
		sum, ok := r.workload(t).pod.Annotations["checksum/companies"]
		require.True(t, ok, "no checksum/companies annotation")
		return sum
	}
	base := checksum()
	assert.Equal(t, base, checksum(), "the same companies")
	assert.Equal(t, base, checksum("--set", "companiesTokens.tokens.acme=ci-placeholder-token-rotated"), "a rotated token is re-read without a restart")
	assert.Equal(t, base, checksum("--set", "resources.requests.cpu=30m"), "not a change of companies")
	for name, args := range map[string][]string{
		"a company added":     {"--set", "companies[3].name=baru", "--set", "companies[3].url=https://baru.kartustok.com/public/v1", "--set", "companiesTokens.tokens.baru=ci-placeholder-token-baru"},
		"an override changed": {"--set-json", "companies[0].budget=0.25"},
		"a URL changed":       {"--set", "companies[2].url=https://toko-42.kartustok.com/public/v1"},
		"minimums changed":    {"--set-string", "companies[0].minimums=items: []"},
	} {
		assert.NotEqual(t, base, checksum(args...), name)
	}
}

// TestCompanyNamesQuoted renders companies whose names YAML would read as
// something else unquoted (yes as true, 123 as a number, null as nothing):
// each must stay the company's name in the companies file, the key of its
// token in the Secret and the name of its minimums file.
func TestCompanyNamesQuoted(t *testing.T) {
	helmBinary(t)
	parser := buildConfigParser(t)
	names := []string{"yes", "123", "null", "on", "0x1f", "1e3"}
	var companies []map[string]string
	tokens := map[string]string{}
	for i, name := range names {
		companies = append(companies, map[string]string{
			"name":     name,
			"url":      fmt.Sprintf("https://c%d.kartustok.com/public/v1", i),
			"minimums": "items: []",
		})
		tokens[name] = fmt.Sprintf("ci-placeholder-token-%d", i)
	}
	// JSON, which YAML reads with every string quoted.
	values, err := json.Marshal(map[string]any{"companies": companies, "companiesTokens": map[string]any{"tokens": tokens}})
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "values.yaml")
	require.NoError(t, os.WriteFile(f, values, 0o600))
	out, err := helmTemplate(t, "--values", f)
	require.NoError(t, err)
	docs, err := decodeDocuments(out)
	require.NoError(t, err)
	r := &rendering{valuesFile: "names " + strings.Join(names, ", "), docs: docs}

	secret, ok := r.byName("Secret", tokensSecret).(*corev1.Secret)
	require.True(t, ok, "no tokens Secret")
	assert.ElementsMatch(t, names, slices.Collect(maps.Keys(secret.Data)), "the Secret's keys")
	cm, ok := r.byName("ConfigMap", companiesConfigMap).(*corev1.ConfigMap)
	require.True(t, ok, "no companies ConfigMap")
	file := filepath.Join(t.TempDir(), "companies.yml")
	require.NoError(t, os.WriteFile(file, []byte(cm.Data["companies.yml"]), 0o600))
	parsed := parseCompanies(t, parser, file, 1, nil)
	require.Len(t, parsed.Companies, len(names))
	for i, name := range names {
		got := parsed.Companies[i]
		assert.Equal(t, name, got.Name)
		assert.Equal(t, tokensDir+"/"+name, got.TokenFile)
		assert.Equal(t, fmt.Sprintf("ci-placeholder-token-%d", i), string(secret.Data[path.Base(got.TokenFile)]))
		assert.Equal(t, companiesDir+"/"+name+".minimums.yml", got.MinimumsFile)
		assert.Equal(t, "items: []", cm.Data[path.Base(got.MinimumsFile)])
	}
}

// TestCompaniesValuesRefused checks that values of companies and shards the
// chart cannot honour fail the render with a message that says what to
// change.
func TestCompaniesValuesRefused(t *testing.T) {
	helmBinary(t)
	companies := []string{"--values", filepath.Join(chartDir, "ci", "companies-values.yaml")}
	shards := []string{"--values", filepath.Join(chartDir, "ci", "shards-values.yaml")}
	one := []string{"--values", filepath.Join(chartDir, "ci", "default-values.yaml")}
	for _, tc := range []struct {
		name       string
		base, args []string
		want       string
	}{
		{"URL and companies", companies, []string{"--set", "kartustok.url=https://acme.kartustok.com/public/v1"}, "set either kartustok.url (one company) or companies (many companies, in a companies file), not both"},
		{"one token and companies", companies, []string{"--set", "kartustok.token.existingSecret=acme-kartustok-token"}, "kartustok.token is the token of kartustok.url's one company; with companies, give each company's token in companiesTokens"},
		{"one minimums file and companies", companies, []string{"--set-string", "minimums.content=items: []"}, "with companies, give each company's in companies[].minimums"},
		{"duplicate name", companies, []string{"--set", "companies[2].name=acme"}, `companies[2].name: duplicate company "acme" (first at companies[0])`},
		{"name in capitals", companies, []string{"--set", "companies[1].name=SinarJaya"}, "at '/companies/1/name': 'SinarJaya' does not match pattern"},
		{"name with a space", companies, []string{"--set", "companies[1].name=sinar jaya"}, "/companies/1/name"},
		{"name too long", companies, []string{"--set", "companies[1].name=" + strings.Repeat("a", 64)}, "/companies/1/name"},
		{"no name", companies, []string{"--set-json", `companies=[{"url":"https://acme.kartustok.com/public/v1"}]`}, "missing property 'name'"},
		{"no URL", companies, []string{"--set-json", `companies=[{"name":"acme"}]`}, "missing property 'url'"},
		{"URL not HTTP", companies, []string{"--set", "companies[1].url=sinarjaya.kartustok.com"}, "/companies/1/url"},
		{"token in companies", companies, []string{"--set", "companies[1].token=x"}, "additional properties 'token' not allowed"},
		{"token_file in companies", companies, []string{"--set", "companies[1].token_file=/tmp/t"}, "additional properties 'token_file' not allowed"},
		{"misspelt override", companies, []string{"--set", "companies[1].stock-interval=2m"}, "additional properties 'stock-interval' not allowed"},
		{"duration without a unit", companies, []string{"--set", "companies[1].stock_interval=60"}, "/companies/1/stock_interval"},
		{"budget out of range", companies, []string{"--set", "companies[1].budget=2"}, "/companies/1/budget"},
		{"rate limit of 0", companies, []string{"--set", "companies[1].rate_limit=0"}, "/companies/1/rate_limit"},
		{"expiry not a date", companies, []string{"--set", "companies[1].token_expires_at=June 2027"}, "/companies/1/token_expires_at"},
		{"two minimums", companies, []string{"--set-string", "companies[1].minimums=items: []"}, "companies[1] (sinarjaya): set either minimums or minimums_file, not both"},
		{"no tokens", companies, []string{"--set", "companiesTokens.tokens=null"}, "each company needs a token: set companiesTokens.existingSecret"},
		{"two kinds of tokens", companies, []string{"--set", "companiesTokens.existingSecret=kartustok-tokens"}, "set either companiesTokens.existingSecret or companiesTokens.tokens, not both"},
		{"a company without token", companies, []string{"--set", "companies[3].name=baru", "--set", "companies[3].url=https://baru.kartustok.com/public/v1"}, `companiesTokens.tokens has no token for the company "baru": add companiesTokens.tokens.baru`},
		{"an empty token", companies, []string{"--set", "companiesTokens.tokens.toko_42="}, "/companiesTokens/tokens/toko_42"},
		{"a token without company", companies, []string{"--set", "companiesTokens.tokens.acne=x"}, "companiesTokens.tokens.acne: no company of that name in companies"},
		{"tokens without companies", one, []string{"--set", "companiesTokens.existingSecret=kartustok-tokens"}, "companiesTokens holds the tokens of companies, which is empty"},
		{"config file in extraArgs", companies, []string{"--set", "kartustok.extraArgs[0]=--config.file=/etc/companies.yml"}, "must not contain --config.file: the chart writes the companies file from companies and sets it"},
		{"config file in extraArgs of one company", one, []string{"--set", "kartustok.extraArgs[0]=--config.file=/etc/companies.yml"}, "must not contain --config.file"},
		{"total shards in extraArgs", shards, []string{"--set", "kartustok.extraArgs[0]=--total-shards=4"}, "must not contain --total-shards: the chart sets it from shards"},
		{"shard in extraArgs", shards, []string{"--set", "kartustok.extraArgs[0]=--shard=1"}, "must not contain --shard: the chart runs one pod per shard"},
		{"shard in extraArgs without shards", companies, []string{"--set", "kartustok.extraArgs[0]=--shard=0"}, "must not contain --shard:"},
		{"company label in extraArgs", companies, []string{"--set", "kartustok.extraArgs[0]=--kartustok.company=acme"}, "must not contain --kartustok.company: with companies, each company's label is its name"},
		{"POD_NAME in env", shards, []string{"--set", "env[0].name=POD_NAME", "--set", "env[0].value=x-0"}, "env must not contain POD_NAME"},
		{"shards without companies", one, []string{"--set", "shards=3"}, "shards > 1 requires companies"},
		{"zero shards", shards, []string{"--set", "shards=0"}, "/shards"},
		{"shared claim", shards, []string{"--set", "persistence.existingClaim=acme-state"}, "persistence.existingClaim cannot be used with shards > 1: the pods cannot share one ReadWriteOnce claim"},
		{"misspelt companiesFile setting", companies, []string{"--set", "companiesFile.restartOnchange=false"}, "'restartOnchange' not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := helmTemplate(t, append(slices.Clone(tc.base), tc.args...)...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	// What stays allowed: --kartustok.company with one company, and the
	// Deployment's claim and strategy checks with companies in one pod.
	_, err := helmTemplate(t, append(slices.Clone(one), "--set", "kartustok.extraArgs[0]=--kartustok.company=acme")...)
	require.NoError(t, err)
	_, err = helmTemplate(t, append(slices.Clone(companies), "--set", "persistence.enabled=true", "--set", "strategy.type=RollingUpdate")...)
	if assert.Error(t, err) {
		assert.Contains(t, err.Error(), "with persistence.enabled, strategy.type must be Recreate")
	}
	_, err = helmTemplate(t, append(slices.Clone(shards), "--set", "strategy.type=RollingUpdate")...)
	assert.NoError(t, err, "the StatefulSet has no strategy to check")
}
