# securityalerts: two commands do all the set-up on a fresh machine:
#   make run    builds the collector and runs it on the bundled API simulator (no credentials)
#   make test   runs every test (unit, generated, integration against the built collector)

SHELL       := /bin/bash
GO          ?= go
TOOLS_BIN   := $(CURDIR)/.tools/bin
MDATAGEN    := $(TOOLS_BIN)/mdatagen
BUILDER     := $(TOOLS_BIN)/builder
COLLECTOR   := bin/otelcol-securityalerts
APISIM      := bin/apisim
SIM_ADDR    ?= 127.0.0.1:18080
GO_SOURCES  := $(shell find . \( -name '*.go' -o -name go.mod -o -name go.sum \) -not -path './build/*' -not -path './.tools/*' -not -path './tools/*')
# vet, apisim and the integration tests compile as OCB compiles the collector (static, -trimpath),
# so that on a fresh machine they share one build of the collector's dependencies with it (the
# race-detector tests need cgo and build their own).
AS_OCB := CGO_ENABLED=0 GOFLAGS="$(GOFLAGS) -trimpath"
# Components whose code mdatagen generates from their metadata.yaml. Each is a Go module of its own,
# so that a distribution importing one downloads only what it needs.
COMPONENTS  := receiver/securityalertsreceiver extension/etcdextension
# Every module make vets and tests: the root one (the simulator, benchmarks and end-to-end tests),
# the components, and the receiver's simulator tests (a module apart, to keep the simulator out of
# the receiver's dependencies).
MODULES     := . $(COMPONENTS) receiver/securityalertsreceiver/simtest

.PHONY: all tools prometheus generate check-generated check-binaries check-tidy build run test unit-test fuzz rules-test integration-test bench fmt vet clean

all: build

# mdatagen and the OCB builder, pinned in tools/go.mod to the collector release we build on.
tools: $(MDATAGEN) $(BUILDER)
$(MDATAGEN) $(BUILDER): tools/go.mod tools/go.sum
	cd tools && $(GO) build -o $(TOOLS_BIN)/ go.opentelemetry.io/collector/cmd/mdatagen go.opentelemetry.io/collector/cmd/builder

# nfpm, pinned in tools/nfpm/go.mod (a module of its own: its dependencies must not move the
# collector tools'), builds the .deb and the .rpm.
NFPM := $(TOOLS_BIN)/nfpm
$(NFPM): tools/nfpm/go.mod tools/nfpm/go.sum
	cd tools/nfpm && $(GO) build -o $(TOOLS_BIN)/ github.com/goreleaser/nfpm/v2/cmd/nfpm

# Prometheus and promtool from Debian's packages, for the alert-rule tests. If they cannot be
# installed, those tests say so and are skipped; nothing else depends on them.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
prometheus:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { \
	  $(SUDO) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null' \
	  || echo "WARNING: could not install Debian's prometheus package: the alert-rule tests will be skipped" >&2; }

# Debian's buildah (the container image), lintian (the .deb's policy check) and rpm (to read the
# .rpm without installing it), for make package and its tests. If they cannot be installed, the
# image or the check that needs them says so and is skipped.
.PHONY: package-tools
package-tools:
	@command -v buildah >/dev/null && command -v lintian >/dev/null && command -v rpm >/dev/null || { \
	  $(SUDO) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah lintian rpm >/dev/null' \
	  || echo "WARNING: could not install Debian's buildah, lintian and rpm: the image and some package checks will be skipped" >&2; }

# etcd from Debian's etcd-server package, for the scale-out tests (the etcd extension's and the
# multi-collector one). If it cannot be installed, those tests say so and are skipped.
.PHONY: etcd
etcd:
	@command -v etcd >/dev/null || { \
	  $(SUDO) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >/dev/null' \
	  || echo "WARNING: could not install Debian's etcd-server package: the scale-out tests will be skipped" >&2; }

generate: $(MDATAGEN)
	@for c in $(COMPONENTS); do (cd $$c && $(MDATAGEN) metadata.yaml) || exit 1; done

# CI fails when the committed generated code is stale against metadata.yaml.
check-generated: generate
	@git diff --exit-code -- $(COMPONENTS) || { echo "generated code is stale: run 'make generate' and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- $(COMPONENTS))" || { git status --porcelain -- $(COMPONENTS); echo "generate produced untracked files: commit them" >&2; exit 1; }

# CI fails when a tracked file is a built executable or library (ELF, Mach-O, PE): binaries are
# built by make, never committed.
check-binaries:
	@bad=$$(git ls-files -z | xargs -0 -r sh -c 'for f; do [ -f "$$f" ] || continue; \
	  case $$(head -c 4 "$$f" | od -An -tx1 | tr -d " \n") in \
	    7f454c46|feedface|feedfacf|cefaedfe|cffaedfe|cafebabe|4d5a*) echo "$$f";; esac; done' sh); \
	  test -z "$$bad" || { echo "built binaries are tracked in git (git rm --cached them):"; echo "$$bad"; exit 1; } >&2

# CI fails when a module's go.mod or go.sum is not what `go mod tidy` makes of it: a component's
# requirements are what a user's build resolves.
check-tidy:
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy -diff) || { echo "$$m: run 'go mod tidy' there and commit" >&2; exit 1; }; done

build: $(COLLECTOR) $(APISIM)

$(COLLECTOR): $(BUILDER) builder-config.yaml $(GO_SOURCES)
	@mkdir -p build bin
	$(BUILDER) --config builder-config.yaml
	cp build/otelcol-securityalerts/otelcol-securityalerts $(COLLECTOR)

# The example of a team's own distribution (examples/custom-distribution), built as its README says
# but against this checkout: the manifest is copied with replaces that point the receiver's module
# here. The end-to-end tests check what it contains and that its module graph holds nothing of the
# root module (the simulator, benchmarks and tests).
CUSTOM_DIR := build/custom-distribution
CUSTOM     := $(CUSTOM_DIR)/otelcol-custom/otelcol-custom
.PHONY: custom-distribution
custom-distribution: $(CUSTOM)
$(CUSTOM): $(BUILDER) examples/custom-distribution/builder-config.yaml $(GO_SOURCES)
	@mkdir -p $(CUSTOM_DIR)
	{ cat examples/custom-distribution/builder-config.yaml; \
	  printf '\nreplaces:\n  - %s => %s\n' github.com/securityalerts/securityalerts/receiver/securityalertsreceiver $(CURDIR)/receiver/securityalertsreceiver; \
	} > $(CUSTOM_DIR)/builder-config.yaml
	cd $(CUSTOM_DIR) && $(BUILDER) --config builder-config.yaml

$(APISIM): $(GO_SOURCES)
	@mkdir -p bin
	$(AS_OCB) $(GO) build -o $(APISIM) ./cmd/apisim

# make package: the .deb, the .rpm and the container image (an OCI archive) of the distribution,
# in $(PACKAGES). The image is built FROM scratch by Debian's buildah, in a storage of its own under
# build/ (nothing is pulled, nothing is left in the machine's container storage).
VERSION   := $(shell sed -n 's/^  version: *//p' builder-config.yaml)
ARCH      := $(shell $(GO) env GOARCH)
PACKAGES  := build/packages
DEB       := $(PACKAGES)/otelcol-securityalerts_$(VERSION)_$(ARCH).deb
RPM_ARCH  := $(if $(filter amd64,$(ARCH)),x86_64,$(if $(filter arm64,$(ARCH)),aarch64,$(ARCH)))
RPM       := $(PACKAGES)/otelcol-securityalerts-$(VERSION)-1.$(RPM_ARCH).rpm
IMAGE     := $(PACKAGES)/otelcol-securityalerts_$(VERSION)_$(ARCH).oci.tar
IMAGE_REF := localhost/otelcol-securityalerts:$(VERSION)
BUILDAH   := buildah --storage-driver vfs --root $(CURDIR)/build/containers/storage --runroot $(CURDIR)/build/containers/run
PACKAGE_SOURCES := $(COLLECTOR) $(wildcard packaging/* packaging/*/*) README.md docs/deploying.md

.PHONY: package deb rpm image
package: deb rpm image
deb: $(DEB)
rpm: $(RPM)
image: $(IMAGE)

$(DEB): $(NFPM) $(PACKAGE_SOURCES)
	@mkdir -p $(PACKAGES) build/package-files
	gzip -9n < packaging/changelog > build/package-files/changelog.gz
	VERSION=$(VERSION) ARCH=$(ARCH) $(NFPM) package --config packaging/nfpm.yaml --packager deb --target $@

$(RPM): $(NFPM) $(PACKAGE_SOURCES)
	@mkdir -p $(PACKAGES)
	VERSION=$(VERSION) ARCH=$(ARCH) $(NFPM) package --config packaging/nfpm.yaml --packager rpm --target $@

# The build context holds only what the Containerfile copies: the binary, the build host's CA
# certificates (Debian's ca-certificates), the image's passwd, group and hosts, the default config.
# The image leaves the builder's storage once exported: the archive is what is shipped.
# One shell for the whole recipe: an exit in one line of a recipe ends that line only, so a skip
# must skip the lines after it too.
$(IMAGE): Containerfile $(PACKAGE_SOURCES) | package-tools
	@if ! command -v buildah >/dev/null; then echo "SKIPPED image: buildah is not installed (make package-tools)" >&2; else \
	  set -ex; \
	  rm -rf build/image-context && mkdir -p build/image-context/state $(PACKAGES); \
	  cp $(COLLECTOR) packaging/config.yaml packaging/container/passwd packaging/container/group packaging/container/hosts /etc/ssl/certs/ca-certificates.crt build/image-context/; \
	  $(BUILDAH) bud --quiet --layers=false --build-arg VERSION=$(VERSION) -f Containerfile -t $(IMAGE_REF) build/image-context; \
	  rm -f $@ && $(BUILDAH) push --quiet $(IMAGE_REF) oci-archive:$@:$(IMAGE_REF); \
	  $(BUILDAH) rmi --force $(IMAGE_REF) >/dev/null; \
	fi

# Starts the simulator on $(SIM_ADDR), then the collector with testdata/run-config.yaml: records are
# printed by the debug exporter and written to data/records.jsonl. Ctrl-C stops both.
run: build
	@mkdir -p data/checkpoints
	@$(APISIM) -addr $(SIM_ADDR) -trend-requests-per-minute 600 & sim=$$!; trap "kill $$sim 2>/dev/null" EXIT; \
	  for i in $$(seq 50); do curl -fs http://$(SIM_ADDR)/_sim/healthz >/dev/null 2>&1 && break; sleep 0.1; done; \
	  SIM_ENDPOINT=http://$(SIM_ADDR) $(COLLECTOR) --config testdata/run-config.yaml

fmt:
	@bad=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$bad" || { echo "gofmt needed:"; echo "$$bad"; exit 1; }

vet:
	@for m in $(MODULES); do (cd $$m && $(AS_OCB) $(GO) vet ./...) || exit 1; done

unit-test: etcd
	@for m in $(MODULES); do (cd $$m && $(GO) test -race -count=1 ./...) || exit 1; done

# Explores new inputs for every fuzz target (vendor response parsers, the config decoder) for
# FUZZTIME each, from its seed corpus in testdata/. Random, so it is not part of `make test`: run it
# before a release and after touching a parser or the configuration. A failing input is saved under
# the package's testdata/fuzz/; commit it, and every `go test` (so `make test`) replays it from then on.
# -fuzzminimizetime is bounded because minimising a new input otherwise stalls the run for a minute.
FUZZTIME ?= 3s
fuzz:
	@cd receiver/securityalertsreceiver && for file in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
	  for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
	    echo "fuzz receiver/securityalertsreceiver/$$(dirname $$file) $$name for $(FUZZTIME)"; \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 100x ./$$(dirname $$file) 2>&1) \
	      || { echo "$$out"; exit 1; }; \
	  done; \
	done

# Unit tests of the Prometheus alerting rules shipped in docs/alerts.
rules-test: prometheus
	@if command -v promtool >/dev/null; then \
	  promtool check rules docs/alerts/securityalerts.rules.yml && promtool test rules docs/alerts/securityalerts.rules.test.yml; \
	else echo "SKIPPED rules-test: promtool is not installed (Debian's prometheus package)" >&2; fi

# Builds the distribution with OCB and runs it against the simulator: faults, a SIGKILL and a
# restart on file_storage; the README's configs; the alert rules on a real Prometheus; the health
# endpoint; the packages and the image (checked and run without installing anything here).
integration-test: build custom-distribution package package-tools prometheus etcd
	$(AS_OCB) $(GO) test -count=1 -tags integration -timeout 10m ./test/e2e/...

# Deterministic: the fuzz targets replay their seeds and saved failures as unit tests (plain
# `go test`), and nothing random is explored; that is `make fuzz`.
test: fmt vet check-generated check-binaries check-tidy unit-test rules-test integration-test

# The numbers of docs/performance.md, as tables: conversion benchmarks against plain decoding;
# every source draining a backlog at 0 and 100 ms of API latency (share of the allowed request
# rate, records/s, CPU per record, peak RSS); the overlap's cost on caught-up streams; Cisco's
# enrichment; the receiver's peak RSS by backlog; the Python clients of testdata/; the targets; and
# where the time went. About 9 minutes; BENCH_FULL=1 (about 16) adds 1,000,000-record drains,
# more benchmark runs and a longer watch of Trend's quota.
bench: python3-requests
	$(GO) run ./test/bench/report $(if $(BENCH_FULL),-full)

# Debian's python3-requests, for the Python clients make bench compares with. If it cannot be
# installed, that comparison says so and is skipped.
.PHONY: python3-requests
python3-requests:
	@python3 -c 'import requests' 2>/dev/null || /usr/bin/python3 -c 'import requests' 2>/dev/null || { \
	  $(SUDO) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-requests >/dev/null' \
	  || echo "WARNING: could not install Debian's python3-requests: the comparison with the Python client will be skipped" >&2; }

clean:
	rm -rf bin build data .tools
