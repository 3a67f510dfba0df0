# Sluice build, test and benchmark entry points. `make test` is what CI runs.
GO       ?= go
# An execution count, not a duration: with a duration Go 1.26's fuzz
# coordinator can fail a clean run with "context deadline exceeded" at the
# deadline (golang/go#75804, fixed in Go 1.27); a count has no deadline.
FUZZTIME ?= 1000x
BENCHTIME ?= 1s
PKGS     := ./...

.PHONY: all build test unit race vet lint fmt fuzz fuzz-smoke bench enginebench partbench benchmarks run cluster cluster-faults clean

all: build

build:
	$(GO) build $(PKGS)
	$(GO) build -o bin/sluiced ./cmd/sluiced
	$(GO) build -o bin/sluice ./cmd/sluice
	$(GO) build -o bin/enginebench ./bench/cmd/enginebench

## test: vet, the whole module under the race detector, then every fuzz target briefly.
test: vet race fuzz-smoke

race:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

## lint: gofmt and go vet must both be clean.
lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

# Each fuzz target of every package for FUZZTIME (go test allows one -fuzz
# target per run). Most live in ./fuzz; a few sit beside unexported decoders.
FUZZPKGS ?= $(shell grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
fuzz-smoke:
	@set -e; for p in $(FUZZPKGS); do \
		for t in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
			echo "fuzz $$p $$t for $(FUZZTIME)"; \
			$(GO) test $$p -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME); \
		done; \
	done

## fuzz: a longer campaign over every target (FUZZTIME=10m make fuzz).
fuzz:
	$(MAKE) fuzz-smoke FUZZTIME=$(if $(filter 1000x,$(FUZZTIME)),60s,$(FUZZTIME))

## bench: the standard suite (about 17 minutes on 2 cores): engine and broker
## harnesses, Go benchmarks, and Sluice beside kfake, NATS JetStream and the
## machine's limits (bench/peers); rewrites BENCHMARKS.md and docs/bench-*.svg.
bench:
	bash bench/benchmarks.sh

enginebench:
	$(GO) run ./bench/cmd/enginebench

## partbench: partition scale (issue 19): a sweep of partition counts up to 100,000, each on a
## fresh broker; PARTBENCH_ARGS=-smoke for a check in under a minute.
partbench:
	$(GO) run ./bench/cmd/partbench $(PARTBENCH_ARGS)

## benchmarks: an alias of bench.
benchmarks: bench

## run: a single-node broker on 127.0.0.1:9192 (Kafka 9092) with its data in ./data, operations
## (/metrics, /debug/pprof/, /healthz, /readyz) on 127.0.0.1:9644, the schema registry on
## http://127.0.0.1:8081 (Ctrl-C stops it cleanly).
run:
	$(GO) build -o bin/sluiced ./cmd/sluiced
	./bin/sluiced --config cmd/sluiced/sluiced.properties --override metrics.listeners=http://127.0.0.1:9644 \
		--override schema.registry.listeners=http://127.0.0.1:8081

## cluster: three brokers, each also a controller, on 127.0.0.1 (native 9192-9194,
## Kafka 9092-9094, controller 9301-9303, operations 9645-9647, schema registry
## 8081-8083), data in ./data/cluster/N; Ctrl-C stops all three.
cluster:
	$(GO) build -o bin/sluiced ./cmd/sluiced
	$(GO) build -o bin/sluice ./cmd/sluice
	bash cmd/sluiced/cluster/run.sh

## cluster-faults: the multi-process fault tests of cmd/sluiced with
## SLUICE_FAULT_ROUNDS (default 10) rounds of kill -9 and restart; the fault
## campaign (TestClusterFaultCampaign) adds SIGSTOPs, cut and slowed links.
## FAULT_TESTS picks the tests: `make cluster-faults
## FAULT_TESTS=TestClusterFaultCampaign SLUICE_FAULT_ROUNDS=30` is the
## campaign alone for about five minutes.
SLUICE_FAULT_ROUNDS ?= 10
FAULT_TESTS ?= ^TestCluster
cluster-faults:
	SLUICE_FAULT_ROUNDS=$(SLUICE_FAULT_ROUNDS) $(GO) test -count=1 -v -timeout 60m -run '$(FAULT_TESTS)' ./cmd/sluiced

clean:
	rm -rf bin
