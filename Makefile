# failoverd — build, run, test, bench, install, package.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: build run test test-deps lint vet fmt-check fuzz bench install deb clean

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
FUZZTIME ?= 10s
FUZZ_TARGETS := ./dnsserver:FuzzHandleQuery ./dnsserver:FuzzLoadZone ./config:FuzzLoad ./pool:FuzzEngineInvariants

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

install: build
	install -D -m 0755 bin/failoverd $(DESTDIR)$(PREFIX)/bin/failoverd
	install -D -m 0755 bin/failoverctl $(DESTDIR)$(PREFIX)/bin/failoverctl
	install -d $(DESTDIR)/etc/systemd/system
	sed 's|/usr/bin/failoverd|$(PREFIX)/bin/failoverd|g' systemd/failoverd.service > $(DESTDIR)/etc/systemd/system/failoverd.service
	install -D -m 0644 examples/quickstart.hcl $(DESTDIR)/etc/failoverd/failoverd.hcl

clean:
	rm -rf bin dist
