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

package testkit

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kartustok/kartustok_exporter/internal/yamlfile"
)

// RequireFileErrors checks what a strict parse of data, named file, must
// return when it fails: a yamlfile.Errors of at most MaxErrors problems
// and the "more not shown" line, each naming the file, a line inside it
// (0 for the whole file) and a message.
func RequireFileErrors(t *testing.T, err error, file string, data []byte) {
	t.Helper()
	var list yamlfile.Errors
	require.ErrorAs(t, err, &list)
	require.NotEmpty(t, list)
	require.LessOrEqual(t, len(list), yamlfile.MaxErrors+1)
	for _, e := range list {
		require.Equal(t, file, e.File)
		require.GreaterOrEqual(t, e.Line, 0)
		require.LessOrEqual(t, e.Line, len(yamlfile.SplitLines(data))+1, "line inside the file: %s", e)
		require.NotEmpty(t, e.Msg)
	}
}
