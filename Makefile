# ANPRKit: `make demo` runs the end-to-end job, `make test` every test, `make bench` the benchmarks.
# Each first installs missing Debian packages (scripts/install-deps.sh), so a fresh machine with
# only the Swift toolchain needs nothing else.
SHELL := /bin/bash
SWIFT ?= swift
DEMO_DIR ?= out/demo
ANPR := .build/release/anpr

.PHONY: all deps build release test notebooks demo bench clean

all: build

deps:
	@scripts/install-deps.sh build

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product anpr

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) --no-print-directory notebooks

notebooks: release
	@set -e; for nb in Notebooks-as-scripts/[0-9]*.sh; do \
	  [ -e "$$nb" ] || continue; \
	  echo "== $$nb"; ANPR=$(ANPR) bash "$$nb"; \
	done

demo: release
	@scripts/demo.sh "$(DEMO_DIR)"

bench: deps
	@scripts/install-deps.sh bench
	Benchmarks/run.sh

clean:
	rm -rf .build out
