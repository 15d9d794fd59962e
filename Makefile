# Skiff — the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
BIN := .build/debug

.PHONY: all deps build run test test-vm test-node protos protos-check bench deb clean

all: build

deps:
	@Scripts/install-deps.sh

build: deps
	$(SWIFT) build
	Scripts/build-monitor.sh $(BIN)

# Serves CRI on /run/skiff/skiff.sock with the built-in defaults (or /etc/skiff/config.toml if present).
run: build
	exec $(BIN)/skiffd

test: build
	$(SWIFT) test
	$(MAKE) protos-check
	@if command -v qemu-system-x86_64 >/dev/null; then $(MAKE) test-vm; else echo "test-vm: skipped (no qemu-system-x86_64)"; fi

# cgroup v2 enforcement (memory.max OOM kill, pids.max, cpu.max throttling) in a qemu VM with every
# v2 controller: this host's v2 tree has only hugetlb. Boots Debian's kernel; about a minute.
# Then the node tests (test-node).
test-vm: build
	Scripts/vm/run-tests.sh $(BIN)/skiff
	$(MAKE) test-node

# The node tests, in one boot of a Debian guest with systemd (built once with debootstrap, cached in
# .build/vm): containerd with skiff and runc as handlers, skiffd as the node's runtime, then the
# package from make deb on the node (install, the unit, a pod, restart, kill -9, reinstall, upgrade,
# remove and purge). The package is built for the test, not for nodes: noopt (make build's objects,
# relinked with the Swift runtime static, instead of a release build), noddebs (no debug-symbol
# package: no check reads one) and gzip at its fastest level instead of xz (seconds instead of a
# minute and a half, here and for the guest's unpacking); make deb alone builds what nodes get.
# The guest image (debootstrap, when not cached) is made while the package builds: one waits on the
# network, the other on the processor. Should it fail, node-tests.sh makes it again and says why.
test-node: build
	Scripts/vm/guest-image.sh >/dev/null & image=$$!; \
	DEB_BUILD_OPTIONS="$(DEB_BUILD_OPTIONS) noopt noddebs" DPKG_DEB_COMPRESSOR_TYPE=gzip DPKG_DEB_COMPRESSOR_LEVEL=1 $(MAKE) deb; built=$$?; \
	wait $$image; exit $$built
	DEB=$$(ls -t .build/deb/skiff_*_amd64.deb | head -n1) Scripts/vm/node-tests.sh $(BIN)

protos:
	Scripts/gen-protos.sh

# The committed generated code must be what the proto and the pinned plugins produce.
protos-check:
	@rm -rf .build/protos-check
	@Scripts/gen-protos.sh .build/protos-check >/dev/null
	@diff -r Sources/CRIAPI .build/protos-check && echo "protos: generated code is up to date"

# Start latency and memory of the runtime against runc; writes docs/BENCHMARKS.md.
bench: deps
	Scripts/bench.sh

# skiff_<version>_amd64.deb in .build/deb, built with debhelper from Packaging/debian, and lintian's verdict.
deb: deps
	Scripts/build-deb.sh

clean:
	$(SWIFT) package clean
	rm -rf .build/noopt .build/deb
