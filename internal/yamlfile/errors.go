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

// Package yamlfile reads the YAML files a person writes for the exporter
// (the minimums file and the companies file) strictly, with every problem
// located the way an editor jumps to it. The file is decoded into a
// yaml.Node tree and walked against each file's schema, rather than
// unmarshalled into structs with KnownFields: the struct decoder reports an
// unknown field without the path to it, stops at the first kind of
// problem, accepts a key given twice in some cases, and reads 0123 as
// octal. Walking the tree keeps decoding as strict while every message
// names the line and the field path. This package holds what both walks
// share, so that both files report problems alike.
package yamlfile

import (
	"strconv"
	"strings"
)

// MaxErrors bounds how many problems one parse reports: enough to fix a file
// in one go, not so many that a mis-indented file of thousands of entries
// floods a log.
const MaxErrors = 10

// Error is one problem in a file, located the way an editor jumps to it:
// "minimums.yml:7: items[0].warehouses[1].minimum: must be a number ≥ 0,
// got "abc"".
type Error struct {
	// File is the name given to the parse.
	File string
	// Line is 1-based; 0 when the problem concerns the whole file.
	Line int
	// Path is the field path in the document, such as
	// "companies[1].rate_limit"; empty for the top level.
	Path string
	// Msg says what is wrong and, where it helps, what was found.
	Msg string
}

// Error formats the problem as "file:line: path: message", leaving out the
// parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors lists every problem a parse found, in file order, so that one run
// shows everything to fix; errors.As with a *Error target finds the first
// problem.
type Errors []*Error

// Error joins the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}
