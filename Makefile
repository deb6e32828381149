# Build, test and run the MCP gateway template. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
DIST := dist
GOTEST_FLAGS ?= -count=1 -timeout 20m

.PHONY: help build deps test bench fuzz soak dev package clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build dist/handler (static linux/amd64)
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags='-s -w' -o $(DIST)/handler ./handler

deps: e2e/node_modules/.package-lock.json ## install the pinned Node packages the tests use
	$(GO) mod download

e2e/node_modules/.package-lock.json: e2e/package.json e2e/package-lock.json
	npm ci --prefix e2e --no-audit --no-fund --loglevel=error
	@touch $@

test: deps ## run every test (Go, policy toolchain, real MCP clients, infra checks)
	$(GO) vet ./...
	$(GO) test $(GOTEST_FLAGS) ./...

dev: deps ## run the whole gateway on loopback, no Azure (state in .devstack/; DEVSTACK_PORT etc., see README)
	$(GO) build -o $(DIST)/devstack ./devstack/cmd/devstack
	exec $(DIST)/devstack

bench: ## print one table: cold path, throughput, CPU+alloc per call, open-loop latency, RSS (BENCH_HANDLER=binary, BENCH_FLAGS)
	$(GO) run ./cmd/handlerbench $(BENCH_FLAGS)

soak: deps ## the whole local stack under load and faults, then its invariants (SOAK_DURATION, default 60s)
	SOAK_DURATION=$${SOAK_DURATION:-60s} $(GO) test -count=1 -timeout 30m -run '^TestSoak$$' -v ./internal/soak

fuzz: ## run each fuzz target for a bounded time (FUZZTIME, default 20s)
	./scripts/fuzz.sh $${FUZZTIME:-20s}

package: build ## write dist/functionapp.zip (host.json, function folders, handler with mode 0755)
	$(GO) run ./cmd/funcpackage -binary $(DIST)/handler -out $(DIST)/functionapp.zip

clean: ## remove build output
	rm -rf $(DIST)
