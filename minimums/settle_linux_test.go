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

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewReloaderReadsAPipe: a minimums file given as a pipe (a shell's
// process substitution, /dev/stdin) is read once, as it comes: a pipe
// cannot be read twice to see whether it settled.
func TestNewReloaderReadsAPipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "minimums.fifo")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	wrote := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err == nil {
			_, err = f.WriteString(goodMinimums)
			err = errors.Join(err, f.Close())
		}
		wrote <- err
	}()
	type loaded struct {
		r   *Reloader
		err error
	}
	done := make(chan loaded, 1)
	go func() {
		r, err := NewReloader(path, log.NewNopLogger())
		done <- loaded{r, err}
	}()
	var got loaded
	select {
	case got = <-done:
	case <-time.After(time.Minute): // liveness only
		t.Fatal("NewReloader has not returned: it opened the pipe again, to read it a second time")
	}
	require.NoError(t, <-wrote)
	require.NoError(t, got.err)
	assert.Equal(t, Summary{Categories: 1, Items: 1, Warehouses: 1}, summary(got.r))
}
