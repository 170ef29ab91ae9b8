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
	"io"
	"log/slog"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	sloggokit "github.com/tjhop/slog-gokit"
)

// newLoggers returns the process's go-kit logger and an slog logger that
// writes through it, so exporter-toolkit's lines share its stream, format
// and level filter.
func newLoggers(w io.Writer, lvl, format string) (log.Logger, *slog.Logger) {
	w = log.NewSyncWriter(w)
	var base log.Logger
	if format == "json" {
		base = log.NewJSONLogger(w)
	} else {
		base = log.NewLogfmtLogger(w)
	}
	allow := map[string]level.Option{"debug": level.AllowDebug(), "info": level.AllowInfo(), "warn": level.AllowWarn(), "error": level.AllowError()}[lvl]
	filtered := level.NewFilter(base, allow)
	stamped := log.With(filtered, "ts", log.DefaultTimestampUTC)
	logger := log.With(stamped, "caller", log.DefaultCaller)

	slogLevel := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[lvl]
	// slog records arrive as level, caller, time, msg, attributes; write
	// them as level, ts, caller, msg, attributes like every other line.
	bridge := log.LoggerFunc(func(kv ...any) error {
		out := make([]any, 0, len(kv)+2)
		var ts any = log.DefaultTimestampUTC
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == slog.TimeKey {
				if t, ok := kv[i+1].(time.Time); ok {
					ts = t.UTC().Format(time.RFC3339Nano)
				}
				continue
			}
			out = append(out, kv[i], kv[i+1])
		}
		if len(out) >= 2 && out[0] == level.Key() {
			out = append(out[:2], append([]any{"ts", ts}, out[2:]...)...)
		} else {
			out = append([]any{"ts", ts}, out...)
		}
		return filtered.Log(out...)
	})
	return logger, slog.New(sloggokit.NewGoKitHandler(bridge, slogLevel))
}
