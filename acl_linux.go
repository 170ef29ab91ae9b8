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

import "syscall"

// hasACL reports whether file has a POSIX access ACL. Its mode's group bits
// are then the ACL's mask, not what the file's group may do: systemd's
// LoadCredential= copies, for one, are mode 0440 with group root, and only
// the service's user, named in the ACL, can read them.
func hasACL(file string) bool {
	_, err := syscall.Getxattr(file, "system.posix_acl_access", nil)
	return err == nil
}
