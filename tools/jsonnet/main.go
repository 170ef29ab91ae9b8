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

// Command mixin renders the repository's monitoring mixin (mixin/) into the
// files the repository ships: the rules file alerts/kartustok.rules.yml, the
// dashboards dashboards/*.json and the Helm chart's copies of both. Which
// file holds what is files.jsonnet, beside this command; this command
// evaluates it with go-jsonnet, with no network and nothing imported from
// outside the repository, and writes each value as a Prometheus rules file
// (.yml) or as two-space indented JSON (.json).
//
//	mixin [-root dir]              write the files
//	mixin [-root dir] -check       fail if a file differs from the render
//	mixin -config code -out dir    render with other settings elsewhere
//
// -config is Jsonnet code for an object merged into the mixin's _config,
// such as '{kartustokSelector: "job=\"inventory\""}'.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run renders, writes or checks as args say and returns the exit code: 0
// when done, 1 when a checked file differs, 2 when nothing can be rendered.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mixin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "the repository's root `dir`")
	manifest := fs.String("files", "", "the Jsonnet `file` that lists the files to render (default <root>/tools/jsonnet/files.jsonnet)")
	config := fs.String("config", "{}", "Jsonnet `code` of an object merged into the mixin's _config")
	out := fs.String("out", "", "the `dir` to write the files to (default the root)")
	check := fs.Bool("check", false, "compare the files in the output directory with the render instead of writing them")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mixin [-root dir] [-files file] [-config code] [-out dir] [-check]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if *manifest == "" {
		*manifest = filepath.Join(*root, "tools", "jsonnet", "files.jsonnet")
	}
	if *out == "" {
		*out = *root
	}
	files, err := Render(*manifest, *config)
	if err != nil {
		fmt.Fprintln(stderr, "mixin:", err)
		return 2
	}
	if *check {
		problems, err := Check(*out, files)
		if err != nil {
			fmt.Fprintln(stderr, "mixin:", err)
			return 2
		}
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		if len(problems) > 0 {
			fmt.Fprintln(stderr, "mixin: the files are not the mixin's render: edit mixin/, not the files, and run `make mixin`")
			return 1
		}
		fmt.Fprintf(stdout, "mixin: %d files are the mixin's render\n", len(files))
		return 0
	}
	if err := Write(*out, files); err != nil {
		fmt.Fprintln(stderr, "mixin:", err)
		return 2
	}
	fmt.Fprintf(stdout, "mixin: wrote %d files\n", len(files))
	return 0
}
