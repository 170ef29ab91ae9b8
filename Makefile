GO        ?= go
GOFLAGS   ?=
FUZZTIME  ?= 3s
PKGS      := ./...

.PHONY: all build test vet unit fuzz bench cover

all: build

build:
	$(GO) build -o kartustok_exporter .

test: vet unit fuzz

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 $(PKGS)

# Each fuzz target runs briefly; `make fuzz FUZZTIME=5m` explores longer.
fuzz:
	@for t in $$($(GO) test -list '^Fuzz' ./kartustok | grep '^Fuzz'); do \
		echo "fuzz $$t"; \
		$(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) ./kartustok || exit 1; \
	done

bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=6 ./kartustok

cover:
	$(GO) test -coverprofile=coverage.out ./kartustok && $(GO) tool cover -func=coverage.out | tail -1
