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
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTokenFileWithACL: a token file whose group bits are an ACL's mask,
// as systemd's LoadCredential= copies are (0440, group root, the service's
// user named in the ACL), is not taken for one the group can read; the
// same mode and group without the ACL is.
func TestTokenFileWithACL(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file a group the process is not in")
	}
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte("ks_secret\n"), 0o440))
	const foreign = 54321
	require.NoError(t, os.Chown(file, -1, foreign))
	require.Contains(t, tokenFileWarning(file), "has mode 0440 and group 54321")

	// user::r--, user:65534:r--, group::---, mask::r--, other::---
	acl := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range []struct {
		tag, perm uint16
		id        uint32
	}{{0x01, 4, 0xffffffff}, {0x02, 4, 65534}, {0x04, 0, 0xffffffff}, {0x10, 4, 0xffffffff}, {0x20, 0, 0xffffffff}} {
		acl = binary.LittleEndian.AppendUint16(acl, e.tag)
		acl = binary.LittleEndian.AppendUint16(acl, e.perm)
		acl = binary.LittleEndian.AppendUint32(acl, e.id)
	}
	if err := syscall.Setxattr(file, "system.posix_acl_access", acl, 0); err != nil {
		t.Skipf("this file system takes no POSIX ACL: %v", err)
	}
	require.True(t, hasACL(file))
	assert.Empty(t, tokenFileWarning(file))
}
