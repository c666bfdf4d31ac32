# failoverd — build, run, test, bench, install, package.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: build run run-sites test test-deps lint vet fmt-check fuzz fuzz-long bench install deb clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/failoverd ./cmd/failoverd
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/failoverctl ./cmd/failoverctl

# Starts the daemon on the quickstart configuration (no outside network needed).
run: build
	@echo
	@echo "failoverd is starting on examples/quickstart.hcl. In another terminal try:"
	@echo "  dig @127.0.0.1 -p 5353 up.example.test      # primary up: 127.0.0.1"
	@echo "  dig @127.0.0.1 -p 5353 down.example.test    # primary down: failover 127.0.0.4"
	@echo "  dig @127.0.0.1 -p 5353 pool.example.test    # a gslb region pool"
	@echo "  open http://127.0.0.1:8053/                  # status page"
	@echo
	./bin/failoverd run -config examples/quickstart.hcl

# Three failoverd nodes and one etcd on loopback (examples/multi-site/).
run-sites: build
	bash scripts/run-sites.sh

test-deps:
	bash scripts/test-deps.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

lint: vet fmt-check

# Installs what the tests need when missing, then vet, gofmt, the
# race-enabled suite and a short run of every fuzz target (longer runs: make bench).
# 15 s: the baseline pass over a grown corpus (signed zones make each run
# dearer) must finish inside it, or go test reports "context deadline exceeded".
FUZZTIME ?= 15s
FUZZ_TARGETS := ./dnsserver:FuzzHandleQuery ./dnsserver:FuzzLoadZone ./dnsserver:FuzzAnswerBatch ./config:FuzzLoad ./config:FuzzChunkedParse ./pool:FuzzEngineInvariants ./pool:FuzzExplainMatchesServed ./config:FuzzNestingScan ./dnsserver:FuzzHardeningParsers ./migrate:FuzzImport ./sites:FuzzViewApply

test: test-deps lint
	FAILOVERD_REQUIRE_TOOLS=1 $(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) fuzz

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

bench: build
	bash bench/run.sh

# Long fuzzing runs of every fuzz target (5 minutes each by default).
fuzz-long:
	bash bench/fuzz.sh $(FUZZTIME_LONG)

install: build
	install -D -m 0755 bin/failoverd $(DESTDIR)$(PREFIX)/bin/failoverd
	install -D -m 0755 bin/failoverctl $(DESTDIR)$(PREFIX)/bin/failoverctl
	install -d $(DESTDIR)/etc/systemd/system
	sed 's|/usr/bin/failoverd|$(PREFIX)/bin/failoverd|g' systemd/failoverd.service > $(DESTDIR)/etc/systemd/system/failoverd.service
	install -D -m 0644 examples/quickstart.hcl $(DESTDIR)/etc/failoverd/failoverd.hcl

# A Debian package of static binaries, the unit and the quickstart config
# as /etc/failoverd/failoverd.hcl, built with nfpm as a Go module (no
# system packaging tools needed). The Debian version must start with a
# digit and hold no "-" (that would be a Debian revision): tag v1.2.3 gives
# 1.2.3, v1.2.3-4-gabc1234-dirty 1.2.3+4.gabc1234.dirty, an untagged tree
# 0.0.0+abc1234.dirty.
DIST        ?= dist
DEB_VERSION ?= $(shell echo '$(VERSION)' | sed -E -e 's/^v//' \
	-e '/^[0-9]+\.[0-9]/{s/-/+/;s/-/./g;}' -e '/^[0-9]+\.[0-9]/!{s/-/./g;s/^/0.0.0+/;}')
DEB_GOARCH  ?= $(shell $(GO) env GOARCH)
NFPM_MODULE := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.43.0

deb:
	mkdir -p $(DIST)/tools
	CGO_ENABLED=0 GOOS=linux GOARCH=$(DEB_GOARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/failoverd ./cmd/failoverd
	CGO_ENABLED=0 GOOS=linux GOARCH=$(DEB_GOARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/failoverctl ./cmd/failoverctl
	GOOS= GOARCH= GOBIN=$(abspath $(DIST))/tools $(GO) install $(NFPM_MODULE)
	DIST=$(DIST) VERSION=$(DEB_VERSION) GOARCH=$(DEB_GOARCH) $(DIST)/tools/nfpm package -f packaging/nfpm.yaml -p deb -t $(DIST)/

clean:
	rm -rf bin dist
