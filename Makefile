GO        ?= go
FUZZTIME  ?= 5000x
PKGS      := ./...
FUZZPKGS  := ./kartustok ./minimums ./config
BENCHPKGS := . ./kartustok ./kartustok/kartustoktest ./collector ./refresh ./minimums

VERSION   ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
VERSION_PKG := github.com/prometheus/common/version
LDFLAGS   := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION) \
             -X $(VERSION_PKG).Branch=$(BRANCH) -X $(VERSION_PKG).BuildUser=$(shell whoami)@$(shell hostname) \
             -X $(VERSION_PKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

.PHONY: all build test vet lint unit fuzz bench cover tools checkmetrics mixin checkmixin rules dashboards helm e2e

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o kartustok_exporter .

# The checks that need no tool come first, so that a broken test shows in
# minutes, before the first build of the pinned tools (many minutes).
test: vet unit fuzz checkmixin lint checkmetrics rules dashboards helm e2e

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 $(PKGS)

# Each fuzz target runs briefly, for a number of inputs rather than a time:
# Go 1.26's fuzzing coordinator can fail a target with a bare "context
# deadline exceeded" at the end of a -fuzztime duration, having found
# nothing (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline.
# `make fuzz FUZZTIME=5m` explores longer.
fuzz:
	@for p in $(FUZZPKGS); do \
		for t in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
			echo "fuzz $$p $$t"; \
			$(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$p || exit 1; \
		done; \
	done

# BenchmarkCompanies (.) starts the exporter 6 times for each of its 7
# fleets, each start one iteration: several minutes, hence the timeout.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=6 -timeout=60m $(BENCHPKGS)

cover:
	$(GO) test -coverprofile=coverage.out ./kartustok && $(GO) tool cover -func=coverage.out | tail -1

# Prometheus, promtool and Alertmanager are built from the versions pinned in
# tools/*/go.mod, and rebuilt only when a go.mod or go.sum
# changes or a binary is missing; the Go build cache makes a rebuild cheap.
# Two modules, because Prometheus v0.316.0 itself requires Alertmanager
# v0.34.1 as a library, while the Alertmanager we run is v0.31.1, the last
# release whose command builds from the module without UI assets.
TOOLS_BIN    := $(CURDIR)/tools/bin
PROMTOOL     := $(TOOLS_BIN)/promtool
PROMETHEUS   := $(TOOLS_BIN)/prometheus
ALERTMANAGER := $(TOOLS_BIN)/alertmanager
OMCHECK      := $(TOOLS_BIN)/omcheck
DASHCHECK    := $(TOOLS_BIN)/dashcheck
GOLANGCI_LINT := $(TOOLS_BIN)/golangci-lint
HELM         := $(TOOLS_BIN)/helm
MIXIN        := $(TOOLS_BIN)/mixin
HELM_CHART   := deploy/helm/kartustok-exporter
TOOLS_ENV    := GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"

tools: $(PROMETHEUS) $(PROMTOOL) $(ALERTMANAGER) $(OMCHECK) $(DASHCHECK) $(GOLANGCI_LINT) $(HELM) $(MIXIN)

$(PROMETHEUS) $(PROMTOOL) &: tools/prometheus/go.mod tools/prometheus/go.sum
	@mkdir -p $(TOOLS_BIN)
	cd tools/prometheus && $(TOOLS_ENV) $(GO) build -o $(TOOLS_BIN)/ \
		github.com/prometheus/prometheus/cmd/prometheus \
		github.com/prometheus/prometheus/cmd/promtool
	@touch $(PROMETHEUS) $(PROMTOOL)

# omcheck parses OpenMetrics with the parser Prometheus scrapes with.
$(OMCHECK): tools/prometheus/go.mod tools/prometheus/go.sum tools/prometheus/omcheck/main.go
	@mkdir -p $(TOOLS_BIN)
	cd tools/prometheus && $(TOOLS_ENV) $(GO) build -o $(TOOLS_BIN)/ ./omcheck
	@touch $@

# dashcheck checks the dashboards' PromQL with the parser Prometheus
# evaluates it with. It reads the queries the exporter's
# internal/cmd/dashqueries extracts, not the dashboards, so nothing of the
# exporter's module goes into its build.
$(DASHCHECK): tools/prometheus/go.mod tools/prometheus/go.sum $(filter-out %_test.go,$(wildcard tools/prometheus/dashcheck/*.go))
	@mkdir -p $(TOOLS_BIN)
	cd tools/prometheus && $(TOOLS_ENV) $(GO) build -o $(TOOLS_BIN)/ ./dashcheck
	@touch $@

$(GOLANGCI_LINT): tools/golangci/go.mod tools/golangci/go.sum
	@mkdir -p $(TOOLS_BIN)
	cd tools/golangci && $(TOOLS_ENV) $(GO) build -o $(TOOLS_BIN)/ \
		github.com/golangci/golangci-lint/v2/cmd/golangci-lint
	@touch $@

# Helm is built from the version pinned in tools/helm/go.mod, like the
# Prometheus tools.
$(HELM): tools/helm/go.mod tools/helm/go.sum
	@mkdir -p $(TOOLS_BIN)
	cd tools/helm && $(TOOLS_ENV) $(GO) build -o $(TOOLS_BIN)/ helm.sh/helm/v3/cmd/helm
	@touch $@

# mixin renders the monitoring mixin (mixin/) with go-jsonnet, pinned in
# tools/jsonnet/go.mod, into the rules file, the dashboards and the Helm
# chart's copies of both (tools/jsonnet/files.jsonnet lists them).
$(MIXIN): tools/jsonnet/go.mod tools/jsonnet/go.sum $(filter-out %_test.go,$(wildcard tools/jsonnet/*.go))
	@mkdir -p $(TOOLS_BIN)
	cd tools/jsonnet && $(TOOLS_ENV) $(GO) build -o $(MIXIN) .
	@touch $@

$(ALERTMANAGER): tools/alertmanager/go.mod tools/alertmanager/go.sum
	@mkdir -p $(TOOLS_BIN)
	cd tools/alertmanager && $(TOOLS_ENV) $(GO) build -o $(TOOLS_BIN)/ \
		github.com/prometheus/alertmanager/cmd/alertmanager
	@touch $@

# The exporter's live /metrics, as the golden test scrapes it, must pass
# promtool's lint (naming, units, HELP) in the text format, and parse
# strictly as OpenMetrics, as Prometheus itself would judge the exporter.
checkmetrics: $(PROMTOOL) $(OMCHECK)
	@mkdir -p $(TOOLS_BIN)/metrics
	KARTUSTOK_METRICS_DUMP=$(TOOLS_BIN)/metrics $(GO) test -count=1 -run '^TestGoldenMetrics$$' .
	$(PROMTOOL) check metrics < $(TOOLS_BIN)/metrics/metrics.txt
	$(OMCHECK) < $(TOOLS_BIN)/metrics/metrics.om

# alerts/kartustok.rules.yml, dashboards/*.json and the chart's copies are
# rendered from the mixin: edit mixin/ and run `make mixin`. checkmixin's
# tests fail when a file differs from the render; they need no tool built.
mixin: $(MIXIN)
	$(MIXIN) -root .

checkmixin:
	cd tools/jsonnet && $(TOOLS_ENV) $(GO) test -count=1 ./...

# The alerting rules must load, their unit tests must pass, and the example
# Prometheus configuration must be valid and find the rules where it says.
rules: $(PROMTOOL)
	$(PROMTOOL) check rules alerts/kartustok.rules.yml
	$(PROMTOOL) test rules alerts/*.test.yml
	$(PROMTOOL) check config examples/prometheus.yml

# The Go code must pass golangci-lint with .golangci.yml: the exporter's
# module, and the programs of tools/prometheus and tools/jsonnet.
lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...
	cd tools/prometheus && $(TOOLS_ENV) $(GOLANGCI_LINT) run --config ../../.golangci.yml ./...
	cd tools/jsonnet && $(TOOLS_ENV) $(GOLANGCI_LINT) run --config ../../.golangci.yml ./...
	cd tools/grafana && $(TOOLS_ENV) $(GOLANGCI_LINT) run --config ../../.golangci.yml ./...
	cd tools/helm && $(TOOLS_ENV) $(GOLANGCI_LINT) run --config ../../.golangci.yml ./...

# Every dashboard query must parse with Prometheus' parser, select only the
# exporter's metrics (those of the golden /metrics page) filtered by the
# mixin's selector, $$job, $$instance and, for a metric per company,
# $$company, and read counters through rate() or increase();
# dashcheck's own tests break dashboards on purpose to show each rule holds,
# and render the mixin with a selector of their own to prove that every
# rule and every dashboard query carries it.
# The dashboards package extracts the queries (dashqueries), dashcheck
# checks them; the file between the two stays in tools/bin for a look.
# First, tools/grafana decodes every dashboard strictly into the Grafana
# Foundation SDK's types: a field, panel type or query type Grafana's schema
# does not know fails.
# MIXIN_SELECTOR is the mixin's default kartustokSelector (mixin/config.libsonnet).
MIXIN_SELECTOR := job="kartustok"
dashboards: $(DASHCHECK) $(MIXIN)
	cd tools/grafana && $(TOOLS_ENV) $(GO) test -count=1 ./...
	cd tools/prometheus && $(TOOLS_ENV) KARTUSTOK_MIXIN=$(MIXIN) $(GO) test -count=1 ./dashcheck
	$(GO) run ./internal/cmd/dashqueries dashboards > $(TOOLS_BIN)/dashboard-queries.json
	$(DASHCHECK) -metrics collector/testdata/metrics.golden -selector '$(MIXIN_SELECTOR)' -queries $(TOOLS_BIN)/dashboard-queries.json

# The chart must pass `helm lint --strict` and render with every value set
# in its ci/ directory; the Go test then decodes every rendered manifest
# strictly into the Kubernetes and Prometheus Operator types, checks the
# pod's security settings and proves the PrometheusRule and dashboards
# identical to alerts/ and dashboards/.
helm: $(HELM)
	@for f in $(HELM_CHART)/ci/*.yaml; do \
		echo "helm lint --strict, helm template: $$f"; \
		$(HELM) lint --strict --quiet $(HELM_CHART) --values $$f || exit 1; \
		$(HELM) template kartustok $(HELM_CHART) --values $$f >/dev/null || exit 1; \
	done
	cd tools/helm && GOWORK=off KARTUSTOK_HELM=$(HELM) $(GO) test -count=1 ./...

# The end-to-end test runs the real exporter, Prometheus and Alertmanager
# against the simulated company. Without KARTUSTOK_E2E_TOOLS it skips, so
# `go test ./...` works without the tools; here it must run.
e2e: tools
	KARTUSTOK_E2E_TOOLS=$(TOOLS_BIN) $(GO) test -race -count=1 -timeout=5m -v -run '^TestEndToEnd$$' ./e2e
