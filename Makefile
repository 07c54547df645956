# ANPRKit: `make demo` runs the end-to-end job, `make test` every test, `make bench` the benchmarks.
# Each first installs missing Debian packages (scripts/install-deps.sh), so a fresh machine with
# only the Swift toolchain needs nothing else.
SHELL := /bin/bash
SWIFT ?= swift
DEMO_DIR ?= out/demo
ANPR := .build/release/anpr

.PHONY: all deps build release test notebooks run-notebooks demo bench screenshot clean fuzz fuzz-build spark-test

all: build

deps:
	@scripts/install-deps.sh build

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product anpr

# Tests, then every notebook as a smoke test (with the debug binary the tests already built), then
# each fuzz target as a regression run: a fixed seed and number of executions (at most 60 s each), so the
# same code gives the same verdict on every machine; `make fuzz` is the open-ended search.
# Everything the tests write goes under one scratch directory (TMPDIR), removed when they end, pass or
# fail, so repeated runs leave nothing behind.
test: deps
	@scripts/install-deps.sh gis report
	$(SWIFT) build --build-tests
	$(MAKE) --no-print-directory fuzz-build
	@scratch=$$(mktemp -d "$${TMPDIR:-/tmp}/anprkit-test-run.XXXXXX"); trap 'rm -rf "$$scratch"' EXIT; \
	  set -ex; export TMPDIR="$$scratch"; \
	  ANPRKIT_REQUIRE_GDAL=1 ANPRKIT_REQUIRE_CHROMIUM=1 $(SWIFT) test --skip-build; \
	  $(MAKE) --no-print-directory run-notebooks ANPR=.build/debug/anpr; \
	  FUZZ_SEED=1 scripts/fuzz.sh 60; \
	  $(MAKE) --no-print-directory spark-test

# The statistics map step on Apache Spark (local mode): a simulated week's statistics from the store,
# from day shards + merge and from Spark with 1, 3 and 7 partitions must be the same bytes (issue 20).
# Installs a Java runtime (Debian) and pyspark (PyPI, pinned) when missing.
spark-test: build
	@scripts/install-deps.sh spark
	scale/spark/equivalence.sh .build/debug/anpr

# libFuzzer targets for the CSV/ingest path, the store reader and the model-file reader (Fuzz/);
# `make fuzz` runs each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 600
# Fuzz/ reaches ANPRKit through a symlink, and SwiftPM does not notice a source file added to it: the
# fuzz build is started afresh whenever the list of source files changes.
fuzz-build: deps
	@list=$$(find Sources Package.swift -type f | sort | sha256sum | cut -c1-16); \
	  if [ -d Fuzz/.build ] && [ "$$(cat Fuzz/.build/anprkit-sources 2>/dev/null)" != "$$list" ]; then \
	    echo "fuzz-build: the source files changed; building Fuzz/ afresh"; rm -rf Fuzz/.build; fi
	$(SWIFT) build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	@find Sources Package.swift -type f | sort | sha256sum | cut -c1-16 > Fuzz/.build/anprkit-sources

fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZ_SECONDS)

notebooks: build
	$(MAKE) --no-print-directory run-notebooks ANPR=.build/debug/anpr

run-notebooks:
	@set -e; for nb in Notebooks-as-scripts/[0-9]*.sh; do \
	  echo "== $$nb"; ANPR=$(ANPR) bash "$$nb" > "$${TMPDIR:-/tmp}/anprkit-notebook.log" 2>&1 \
	    || { cat "$${TMPDIR:-/tmp}/anprkit-notebook.log"; echo "notebook $$nb failed"; exit 1; }; \
	  tail -n 3 "$${TMPDIR:-/tmp}/anprkit-notebook.log"; \
	done; echo "notebooks: all passed"

demo: release
	@scripts/install-deps.sh report
	@scripts/demo.sh "$(DEMO_DIR)"

# Re-renders the committed report screenshots (needs chromium; installs it when missing).
screenshot: demo
	scripts/screenshot-report.sh $(DEMO_DIR)/report.html docs/report.png 1200,3200
	scripts/screenshot-patrol-page.sh $(DEMO_DIR)/report.html docs/patrol-page.png 3

bench: deps
	@scripts/install-deps.sh bench
	Benchmarks/run.sh

clean:
	rm -rf .build out
