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

package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/kartustok/kartustok_exporter/internal/testkit"
	"github.com/kartustok/kartustok_exporter/kartustok"
)

// FuzzParse: Parse never panics, every problem is located inside the file,
// and an accepted file holds at least one company, with unique valid names,
// normalised URLs, token files and overrides in the flags' ranges.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		company,
		company + "    rate_limit: 60\n    budget: 0.5\n    max_staleness: 1d\n    flow_interval: 0\n",
		company + "  - name: sinarjaya\n    url: https://x.kartustok.com\n    token_file: u\n",
		"companies: [{name: a, url: 'http://h/public/v1/', token_file: t, token_expires_at: 2027-01-31}]\n",
		"companies: []\n",
		"a: &x [*x]\n",
		"---\n...\n",
		company + "---\n",
	} {
		f.Add([]byte(seed))
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.yml"))
	require.NoError(f, err)
	for _, name := range files {
		data, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yml", data)
		if err != nil {
			require.Nil(t, file)
			testkit.RequireFileErrors(t, err, "fuzz.yml", data)
			return
		}
		require.NotNil(t, file)
		require.NotEmpty(t, file.Companies)
		names := make(map[string]bool)
		for i, c := range file.Companies {
			require.True(t, ValidName(c.Name), "%q", c.Name)
			require.False(t, names[c.Name], "duplicate %q", c.Name)
			names[c.Name] = true
			u, err := kartustok.NormaliseBaseURL(c.URL)
			require.NoError(t, err)
			require.Equal(t, c.URL, u, "URL normalised")
			require.NotEmpty(t, c.TokenFile)
			require.Equal(t, i, c.Index)
			require.Positive(t, c.Line)
			if c.RateLimit != nil {
				require.GreaterOrEqual(t, *c.RateLimit, 1)
			}
			if c.Budget != nil {
				require.True(t, *c.Budget > 0 && *c.Budget <= 1, "budget %v", *c.Budget)
			}
			for _, d := range []*time.Duration{c.RateLimitWindow, c.HealthInterval, c.CatalogInterval, c.StockInterval, c.MaxStaleness} {
				if d != nil {
					require.GreaterOrEqual(t, *d, time.Second)
				}
			}
			if c.FullStockInterval != nil {
				require.GreaterOrEqual(t, *c.FullStockInterval, time.Duration(0))
			}
			if d := c.FlowInterval; d != nil {
				require.True(t, *d == 0 || *d >= time.Minute, "flow interval %s", *d)
			}
		}
		requireKnownFields(t, data)
	})
}

// fileDoc mirrors the schema for yaml.v3's own strict decoding.
type fileDoc struct {
	Companies []struct {
		Name              string `yaml:"name"`
		URL               string `yaml:"url"`
		TokenFile         string `yaml:"token_file"`
		TokenExpiresAt    string `yaml:"token_expires_at"`
		MinimumsFile      string `yaml:"minimums_file"`
		RateLimit         string `yaml:"rate_limit"`
		RateLimitWindow   string `yaml:"rate_limit_window"`
		Budget            string `yaml:"budget"`
		HealthInterval    string `yaml:"health_interval"`
		CatalogInterval   string `yaml:"catalog_interval"`
		StockInterval     string `yaml:"stock_interval"`
		FullStockInterval string `yaml:"full_stock_interval"`
		FlowInterval      string `yaml:"flow_interval"`
		MaxStaleness      string `yaml:"max_staleness"`
	} `yaml:"companies"`
}

// requireKnownFields decodes an accepted file the way yaml.v3 decodes
// strictly, with KnownFields, so the parser is never laxer about field
// names and duplicate keys than yaml.v3 itself.
func requireKnownFields(t testing.TB, data []byte) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc fileDoc
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		require.NotContains(t, err.Error(), "not found in type", "yaml.v3 refuses a field name the parser accepted")
		require.NotContains(t, err.Error(), "already defined", "yaml.v3 refuses a duplicate key the parser accepted")
	}
}
