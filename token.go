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
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"

	"github.com/kartustok/kartustok_exporter/kartustok"
)

// tokenSource returns the token source the flags select and checks that it
// holds a token now, so that a missing token stops start-up.
func tokenSource(cfg *config) (kartustok.TokenSource, error) {
	var src kartustok.TokenSource
	if cfg.tokenFile != "" {
		src = kartustok.TokenFile(cfg.tokenFile)
	} else {
		if _, ok := os.LookupEnv(tokenEnv); !ok {
			return nil, fmt.Errorf("no API token: set --kartustok.token-file to a file holding it, or the %s environment variable", tokenEnv)
		}
		src = kartustok.TokenEnv(tokenEnv)
	}
	if _, err := src.Token(); err != nil {
		return nil, tokenFix(cfg, err)
	}
	return src, nil
}

// tokenFix adds to a token that cannot be read what to do about it.
func tokenFix(cfg *config, err error) error {
	if cfg.tokenFile == "" {
		return fmt.Errorf("%w: set %s to the API token, or keep the token in a file and name it with --kartustok.token-file", err, tokenEnv)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		origin := cfg.tokenOrigin
		if origin == "" {
			origin = "--kartustok.token-file"
		}
		return fmt.Errorf("%w: create the file holding the API token alone (from KartuStok's API Access page), readable only by the exporter's user (chmod 0600), or correct %s", err, origin)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: let the exporter's user read it: chown it to that user and chmod 0600, or give it that user's group and chmod 0640", err)
	}
	return fmt.Errorf("%w: write the API token alone into the file, on one line", err)
}

// tokenFileWarning says who else can read the token file, or "" when only
// the exporter's user, and a group the exporter belongs to, can. It is a
// warning, not an error: the exporter works, but the token is exposed. The
// message names the file and its mode, never the token.
func tokenFileWarning(file string) string {
	if runtime.GOOS == "windows" {
		return "" // no Unix permission bits to judge
	}
	fi, err := os.Stat(file) // through symlinks, as a Kubernetes Secret volume has them
	if err != nil {
		return "" // reading the token reports it
	}
	perm := fi.Mode().Perm()
	fix := fmt.Sprintf("chmod 0600 %s if the exporter's user owns it, or else give it the exporter user's group and chmod 0640", file)
	switch {
	case perm&0o004 != 0:
		return fmt.Sprintf("token file %s has mode %04o, which lets every user read the token: %s. "+
			"In Kubernetes, a Secret volume's files have mode 0644 unless the volume sets defaultMode: set it to 0440, with the pod's fsGroup as the exporter's group", file, perm, fix)
	case perm&0o040 != 0 && !hasACL(file):
		if gid, ok := fileGID(fi); ok && !inGroup(gid) {
			return fmt.Sprintf("token file %s has mode %04o and group %d, which the exporter is not in, so that group's members can read the token: %s", file, perm, gid, fix)
		}
	}
	return ""
}

// inGroup reports whether the process is in group gid.
func inGroup(gid int) bool {
	if gid == os.Getegid() {
		return true
	}
	groups, _ := os.Getgroups()
	return slices.Contains(groups, gid)
}
