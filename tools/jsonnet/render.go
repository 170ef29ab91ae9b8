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
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-jsonnet"
)

// Render evaluates manifest, a Jsonnet file whose value is a function of
// config (Jsonnet code of an object merged into the mixin's _config) that
// returns an object mapping each file's slash-separated path, relative to
// the repository's root, to its content. It returns each file's bytes: a
// .yml file as a Prometheus rules file, a .json file as JSON.
//
// Imports are resolved relative to the importing file only: nothing is
// looked up elsewhere on the disk, let alone on the network.
func Render(manifest, config string) (map[string][]byte, error) {
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{})
	vm.TLACode("config", config)
	out, err := vm.EvaluateFile(manifest)
	if err != nil {
		return nil, err
	}
	var values map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &values); err != nil {
		return nil, fmt.Errorf("%s: the files are not an object of paths: %w", manifest, err)
	}
	files := make(map[string][]byte, len(values))
	for name, raw := range values {
		if err := checkPath(name); err != nil {
			return nil, fmt.Errorf("%s: %w", manifest, err)
		}
		var content []byte
		switch path.Ext(name) {
		case ".yml", ".yaml":
			content, err = rulesFile(raw)
		case ".json":
			content, err = jsonFile(raw)
		default:
			err = errors.New("neither .yml nor .json")
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", manifest, name, err)
		}
		files[name] = content
	}
	return files, nil
}

// checkPath refuses a path that is not a clean relative one, so that the
// manifest writes nothing outside the output directory.
func checkPath(name string) error {
	if name == "" || path.IsAbs(name) || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, `\`) {
		return fmt.Errorf("%q is not a clean relative path", name)
	}
	return nil
}

// jsonFile formats a value as two-space indented JSON with a final newline,
// <, > and & as they are, and each number in the fewest digits that read
// back as it (0.1, where Jsonnet writes 0.10000000000000001).
func jsonFile(raw json.RawMessage) ([]byte, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Write writes files under dir, and removes the .json files beside
// rendered .json files that the render no longer has: a dashboard renamed
// or dropped in the mixin leaves no copy behind.
func Write(dir string, files map[string][]byte) error {
	for _, name := range sortedNames(files) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	stale, err := staleFiles(dir, files)
	if err != nil {
		return err
	}
	for _, name := range stale {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			return err
		}
	}
	return nil
}

// Check compares the files under dir with files and describes each that
// is missing or differs, and each stale .json file Write would remove.
func Check(dir string, files map[string][]byte) ([]string, error) {
	var problems []string
	for _, name := range sortedNames(files) {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		switch {
		case errors.Is(err, os.ErrNotExist):
			problems = append(problems, name+": missing")
		case err != nil:
			return nil, err
		default:
			if d := firstDifference(files[name], got); d != "" {
				problems = append(problems, name+": "+d)
			}
		}
	}
	stale, err := staleFiles(dir, files)
	if err != nil {
		return nil, err
	}
	for _, name := range stale {
		problems = append(problems, name+": not rendered by the mixin any more")
	}
	return problems, nil
}

// staleFiles returns the .json files in the directories of rendered .json
// files that are not rendered themselves.
func staleFiles(dir string, files map[string][]byte) ([]string, error) {
	dirs := map[string]bool{}
	for name := range files {
		if path.Ext(name) == ".json" {
			dirs[path.Dir(name)] = true
		}
	}
	var stale []string
	for d := range dirs {
		found, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(d), "*.json"))
		if err != nil {
			return nil, err
		}
		for _, f := range found {
			name := path.Join(d, filepath.Base(f))
			if _, ok := files[name]; !ok {
				stale = append(stale, name)
			}
		}
	}
	sort.Strings(stale)
	return stale, nil
}

func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// firstDifference names the first line in which got differs from want, or
// is "" when they are equal.
func firstDifference(want, got []byte) string {
	if bytes.Equal(want, got) {
		return ""
	}
	wl := strings.Split(string(want), "\n")
	gl := strings.Split(string(got), "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g || i >= len(wl) || i >= len(gl) {
			return fmt.Sprintf("line %d is %q, the render has %q", i+1, g, w)
		}
	}
	return "they differ"
}
