# AetherLens — set-up and everyday commands. See README.md.
SHELL := /bin/bash
APT_PACKAGES := libpcap-dev libsqlite3-dev zlib1g-dev libssl-dev tcpdump tshark nmap iproute2 iputils-ping curl gzip sqlite3 python3 time
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE := .build/release/aether
DEBUG := .build/debug/aether

.PHONY: deps build release run test bench demo-capture clean

# Installs the system packages when any is missing (a fresh Debian machine has none of them).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | $(SUDO) debconf-set-selections; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq -o DPkg::Lock::Timeout=600 >/dev/null && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 $$missing >/dev/null; \
	fi

build: deps
	swift build

release: deps
	swift build -c release

# The main job: analyze the bundled capture into a store under reports/ and print its stats.
run: release
	@mkdir -p reports
	$(RELEASE) analyze Fixtures/demo.pcapng --db reports/demo.sqlite
	@echo
	$(RELEASE) stats --db reports/demo.sqlite --json

test: deps
	swift build
	swift test

bench: release
	bash scripts/bench.sh

# Re-records Fixtures/demo.pcapng (root: network namespaces, nmap, curl, tcpdump).
demo-capture: deps
	bash scripts/make-demo-capture.sh Fixtures/demo.pcapng

clean:
	rm -rf .build reports/*.sqlite*
