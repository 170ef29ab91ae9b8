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

package kartustok

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// ErrNoToken is wrapped by the error of every call that sent nothing because
// its TokenSource could not yield a token (a missing, unreadable or empty
// token file, an unset environment variable): errors.Is(err, ErrNoToken)
// tells such a failure, which says nothing about the API, from the API's.
var ErrNoToken = errors.New("no API token")

// tokenError is a TokenSource's error, marked as ErrNoToken.
type tokenError struct{ err error }

func (e tokenError) Error() string   { return e.err.Error() }
func (e tokenError) Unwrap() []error { return []error{e.err, ErrNoToken} }

// maxTokenBytes bounds what is read from a token file, so that a path
// pointing at the wrong file (a log, a device) cannot exhaust memory.
const maxTokenBytes = 64 << 10

// tokenFile re-reads its file at every request. Token files are tiny and
// the budget allows at most a few requests per second, so reading each time
// costs nothing and catches every rotation, whether the file is rewritten in
// place or replaced through a symlink swap (as Kubernetes does with
// secrets), with no reliance on modification-time granularity.
type tokenFile struct{ path string }

// tokenEnv reads an environment variable at every request.
type tokenEnv struct{ name string }

// staticToken is a fixed token.
type staticToken struct{ token string }

func (t tokenFile) Token() (string, error) {
	f, err := os.Open(t.path)
	if err != nil {
		return "", fmt.Errorf("kartustok: token file %s: %w", t.path, pathErrCause(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
	if err != nil {
		return "", fmt.Errorf("kartustok: token file %s: %w", t.path, pathErrCause(err))
	}
	if len(b) > maxTokenBytes {
		return "", fmt.Errorf("kartustok: token file %s is larger than %d bytes; it cannot hold a token", t.path, maxTokenBytes)
	}
	return checkToken(string(b), "token file "+t.path)
}

func (t tokenEnv) Token() (string, error) {
	return checkToken(os.Getenv(t.name), "environment variable "+t.name)
}

func (t staticToken) Token() (string, error) {
	return checkToken(t.token, "static token")
}

// pathErrCause drops the path from an *fs.PathError, which the caller
// names itself, so that the message does not repeat it.
func pathErrCause(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// checkToken trims tok and rejects what cannot be sent as a bearer token.
// Its errors name where the token came from, never the token itself.
func checkToken(tok, from string) (string, error) {
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", fmt.Errorf("kartustok: %s is empty; it must hold the API token", from)
	}
	for _, r := range tok {
		if r <= ' ' || r == 0x7f {
			return "", fmt.Errorf("kartustok: %s holds white space or control characters inside the token; it must hold the token alone", from)
		}
	}
	return tok, nil
}
