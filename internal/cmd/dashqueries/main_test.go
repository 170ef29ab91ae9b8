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
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/dashboards"
)

func TestRun(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "dashboards")
	var stdout, stderr strings.Builder
	require.Equal(t, 0, run([]string{dir}, &stdout, &stderr), stderr.String())
	assert.Empty(t, stderr.String())
	var got []dashboards.QueryInfo
	require.NoError(t, json.Unmarshal([]byte(stdout.String()), &got))
	want, err := dashboards.Extract(dir)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	for _, args := range [][]string{nil, {dir, dir}, {t.TempDir()}} {
		stdout.Reset()
		stderr.Reset()
		assert.NotEqual(t, 0, run(args, &stdout, &stderr), "%q", args)
		assert.Empty(t, stdout.String(), "%q", args)
		assert.NotEmpty(t, stderr.String(), "%q", args)
	}
}
