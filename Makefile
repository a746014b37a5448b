# AetherLens — set-up and everyday commands. See README.md.
SHELL := /bin/bash
# What building and running need; what the tests need besides (browser, tshark, attack tools'
# peers). A newcomer's `make run` installs only the first.
BUILD_PACKAGES := libpcap-dev libsqlite3-dev zlib1g-dev libssl-dev
APT_PACKAGES := $(BUILD_PACKAGES) tcpdump tshark nmap iproute2 iputils-ping curl gzip sqlite3 python3 python3-venv time chromium node-js-beautify
# The tools scripts/record-attacks.sh runs (make attack-corpus); make test reads the committed corpus.
# The servers and clients the evidence captures (files, certificates) are recorded with.
EVIDENCE_PACKAGES := nginx-light vsftpd exim4-daemon-light samba smbclient curl openssl ethtool tcpdump iproute2 python3
ATTACK_PACKAGES := samba nmap masscan zmap hping3 hydra medusa ncrack iodine dns2tcp openssh-server vsftpd inetutils-telnetd dnsmasq unbound socat netcat-openbsd rsync tcpdump curl openssl python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE := .build/release/aether
DEBUG := .build/debug/aether

.PHONY: deps test-deps node-dep attack-deps evidence-captures build release release-full run test bench fuzz demo-capture attack-corpus format lint clean spark

FUZZ_SECONDS ?= 60

# Installs the system packages when any is missing (a fresh Debian machine has none of them):
# `deps` what builds and runs, `test-deps` everything the tests use.
define install_missing
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | $(SUDO) debconf-set-selections; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq -o DPkg::Lock::Timeout=600 >/dev/null && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 $$missing >/dev/null; \
	fi
endef

deps:
	$(call install_missing,$(BUILD_PACKAGES))

test-deps:
	$(call install_missing,$(APT_PACKAGES))
	@command -v node >/dev/null || $(MAKE) --no-print-directory node-dep

# `node --check` and the layout (js-beautify, Debian's) of the page scripts.
node-dep:
	$(call install_missing,nodejs node-js-beautify)

attack-deps:
	@missing=""; for p in $(ATTACK_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq -o DPkg::Lock::Timeout=600 >/dev/null && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 $$missing >/dev/null; \
	fi

# Re-records Fixtures/attacks (root: network namespaces, real attack tools and servers; about 10 minutes).
attack-corpus: attack-deps
	$(SUDO) bash scripts/record-attacks.sh Fixtures/attacks

build: deps
	swift build

release: deps
	swift build -c release

# The release build with gRPC (tail --grpc), a package trait the main job does not need.
release-full: deps
	swift build -c release --traits GRPC

# The main job: analyze the bundled capture into a store and report under reports/, print its stats.
run: release
	@mkdir -p reports
	$(RELEASE) analyze Fixtures/demo.pcapng --db reports/demo.sqlite --report reports/demo.html --force
	@echo
	$(RELEASE) stats --db reports/demo.sqlite --json

# Playwright (from PyPI) drives the system chromium; no browser is downloaded.
VENV := .build-venv
$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q playwright websockets scapy prometheus_client grpcio grpcio-tools

SHARED ?= $(if $(AETHER_SHARED),$(AETHER_SHARED),../shared)

# The Spark job on local[2]: make spark IN="FILES OR FOLDERS" OUT=DIR (Parquet tables and report.html
# under DIR). Java comes from Debian, PySpark, pyarrow and DuckDB from PyPI (.build-spark). See spark/README.md.
spark: release
	@if [ -z "$(IN)" ] || [ -z "$(OUT)" ]; then echo 'usage: make spark IN="FILES OR FOLDERS" OUT=DIR'; exit 2; fi
	@py=$$(bash scripts/spark-env.sh) && SPARK_LOCAL_IP=127.0.0.1 $$py spark/aether_job.py --master 'local[2]' --aether $(RELEASE) --out $(OUT) $(IN)

test: test-deps $(VENV)/bin/python
	bash scripts/test-all.sh $(SHARED) $(VENV)/bin/python

fuzz: test-deps
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

bench: test-deps release-full $(VENV)/bin/python
	bash scripts/bench.sh

# Re-records the evidence captures (root: network namespaces, real servers and clients): files
# over HTTP (nginx), FTP (vsftpd), SMTP (exim) and SMB (Samba), and the TLS certificates.
evidence-captures:
	$(call install_missing,$(EVIDENCE_PACKAGES))
	$(SUDO) bash scripts/make-file-capture.sh Fixtures/http-files.pcap
	$(SUDO) bash scripts/make-ftp-capture.sh Fixtures/ftp-files.pcap
	$(SUDO) bash scripts/make-smtp-capture.sh Fixtures/smtp-files.pcap
	$(SUDO) bash scripts/make-smb-capture.sh Fixtures/smb-files.pcap
	$(SUDO) bash scripts/make-tls-capture.sh Fixtures/tls12-certificates.pcap

# Re-records Fixtures/demo.pcapng (root: network namespaces, nmap, curl, tcpdump).
demo-capture: test-deps
	bash scripts/make-demo-capture.sh Fixtures/demo.pcapng

format:
	swift format format -i -r Sources Tests
	NODE_PATH=/usr/share/nodejs node scripts/format-js.js Sources/*/Resources/*.js

lint:
	swift format lint --strict -r Sources Tests

clean:
	rm -rf .build reports/*.sqlite*
