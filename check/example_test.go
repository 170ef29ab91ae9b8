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

package check_test

import (
	"context"
	"os"
	"os/signal"
	"time"

	"github.com/kartustok/kartustok_exporter/check"
	"github.com/kartustok/kartustok_exporter/kartustok"
)

// The exporter runs the check for --kartustok.check with the same URL,
// token source and limits as a real start, then exits 0 or 1.
func ExampleRun() {
	const tokenFile = "/etc/kartustok_exporter/token"
	tokens := kartustok.TokenFile(tokenFile)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	ok := check.Run(ctx, check.Config{
		URL:          "https://sinarjaya.kartustok.com/public/v1",
		Token:        tokens.Token,
		TokenFrom:    "file " + tokenFile,
		RateLimit:    120,
		Timeout:      10 * time.Second,
		MaxBodyBytes: kartustok.DefaultMaxBodyBytes,
		Out:          os.Stdout,
	})
	stop() // before os.Exit, which runs no deferred calls
	if !ok {
		os.Exit(1)
	}
}
