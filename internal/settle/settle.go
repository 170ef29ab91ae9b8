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

// Package settle reads a configuration file only once it is complete.
//
// A file rewritten in place is read once it has gone unmodified for Time,
// polled every Poll for at most Timeout; a file replaced by a rename (a
// temporary file renamed over it, or a Kubernetes ConfigMap volume swapping
// its ..data symlink) is complete whenever it is seen. Not guaranteed: an
// in-place rewrite whose writer pauses longer than Time partway through,
// and any in-place rewrite on a filesystem that keeps modification times
// only to the second or whose clock is more than Time away from this one.
// Only a rename is safe.
package settle

import (
	"fmt"
	"io"
	"os"
	"time"
)

// A file rewritten in place (opened with O_TRUNC and written again, as
// editors, shell redirects and configuration-management tools do) is
// half-written for as long as the writer takes, and a prefix cut at a line
// boundary is often a valid file with fewer entries. So a load reads the
// file only once it has settled.
const (
	// Time is how long the file must have gone unmodified before it
	// is read as complete. A program rewriting a file issues its writes
	// back to back, with gaps far shorter than this, while a reload sent
	// right after the file is written waits no longer than this.
	Time = 150 * time.Millisecond
	// Timeout bounds the wait for the file to settle: many settle
	// times, yet short enough that a POST /-/reload answers promptly and
	// start-up is not held up.
	Timeout = 2 * time.Second
	// Poll is how often a file that has not settled is read again.
	Poll = 25 * time.Millisecond
)

// Read returns the contents of the file at path once a read finds it
// settled (see readOnce), reading again every Poll until then, for at
// most Timeout.
func Read(path string) ([]byte, error) {
	deadline := time.Now().Add(Timeout)
	for {
		data, settled, err := readOnce(path)
		if err != nil || settled {
			return data, err
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%s kept changing for %s: it is being rewritten in place; write it atomically instead: write a temporary file in the same directory, then rename it over %s", path, Timeout, path)
		}
		time.Sleep(Poll)
	}
}

// readOnce reads the file at path and reports whether it was settled: for a
// regular file, the same file, of the same size and modification time,
// before and after the read, and a modification time at least Time
// away from now. Away either side: a modification time just ahead of this
// clock (a file server's) is as recent as one just behind it, while one far
// from now in either direction says nothing of a write in progress.
func readOnce(path string) (data []byte, settled bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	data, err = io.ReadAll(f)
	if err != nil {
		return nil, false, err
	}
	if !before.Mode().IsRegular() {
		// A pipe (a process substitution, /dev/stdin) cannot be read
		// twice, nor tells when it was written: take it as it came.
		return data, true, nil
	}
	// The path, not the open file: a file renamed over it during the read
	// is a change too.
	after, err := os.Stat(path)
	if err != nil {
		return nil, false, err
	}
	unchanged := os.SameFile(before, after) &&
		before.Size() == after.Size() && before.ModTime().Equal(after.ModTime()) &&
		int64(len(data)) == after.Size()
	return data, unchanged && time.Since(after.ModTime()).Abs() >= Time, nil
}
