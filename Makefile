# SPDX-License-Identifier: MIT
# amexbpf: `make` builds, `make deps` installs what is missing, `make test` does both and
# runs every test, `make run` installs what it is missing, builds and starts the daemon (or
# the bundled demo). V=1 shows commands.

# The flags stamp below is the first rule; `make` alone must still build the daemon.
.DEFAULT_GOAL := all

OUTPUT    := .output
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= cc
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR   ?= $(PREFIX)/lib/systemd/system

CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Werror -Wno-format-truncation -std=gnu11 -D_GNU_SOURCE -MMD -MP \
             -I$(OUTPUT) -I. -Isrc
LDLIBS    := -lbpf -lelf -lz -linotifytools -ljansson -linih -lsystemd -lpthread -lncursesw -ltinfo -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I. -Ibpf -Wall -Werror

# SANITIZE=address,undefined builds everything instrumented (the flags are remembered, so
# switching rebuilds). Reports go to .output/sanitizer/, and tests/run.sh fails on any.
ifdef SANITIZE
CFLAGS    += -fsanitize=$(SANITIZE) -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS   += -fsanitize=$(SANITIZE)
$(shell mkdir -p $(OUTPUT)/sanitizer)
export ASAN_OPTIONS := log_path=$(CURDIR)/$(OUTPUT)/sanitizer/asan:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS := log_path=$(CURDIR)/$(OUTPUT)/sanitizer/ubsan:print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS := suppressions=$(CURDIR)/tests/lsan.supp
endif
FLAGS_STAMP := $(OUTPUT)/flags-$(shell echo '$(CC) $(CFLAGS) $(LDFLAGS)' | md5sum | cut -c1-12)
$(FLAGS_STAMP):
	$(Q)mkdir -p $(OUTPUT) && rm -f $(OUTPUT)/flags-* && touch $@

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# src/<layer>/*.c: the folders are the layers (docs/design.md); tests/layering.sh checks that
# no object takes a symbol from a layer above its own.
LAYERS    := core sys sources report daemon top cli
SRCS      := $(filter-out src/cli/main.c,$(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c)))
OBJS      := $(patsubst src/%.c,$(OUTPUT)/obj/%.o,$(SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(patsubst tests/helpers/%.c,$(OUTPUT)/tests/%,$(HELPER_SRCS))

.PHONY: all deps test unit e2e bench run clean vmlinux install-pm2 helpers check layering valgrind soak install uninstall test-kernels test-systemd deb
.DELETE_ON_ERROR:

all: amexbpf

$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/deps:
	$(Q)mkdir -p $@

$(OUTPUT)/amexbpf.bpf.o: bpf/amexbpf.bpf.c bpf/amexbpf.h vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/amexbpf.skel.h: $(OUTPUT)/amexbpf.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# The rss_stat memory-limit candidate: only the cost benchmark loads it (tests/bench/memwatch_cost.c).
$(OUTPUT)/rsswatch.bpf.o: tests/bench/rsswatch.bpf.c tests/bench/rsswatch.h vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itests/bench -c $< -o $@

$(OUTPUT)/rsswatch.skel.h: $(OUTPUT)/rsswatch.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/bench/memwatch_cost: $(OUTPUT)/rsswatch.skel.h

# Every user-space object may include the skeleton; generate it first.
$(OUTPUT)/obj/%.o: src/%.c $(OUTPUT)/amexbpf.skel.h $(FLAGS_STAMP) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/libamx.a: $(OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

amexbpf: $(OUTPUT)/obj/cli/main.o $(OUTPUT)/libamx.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Dependency files of test programs live in deps/, so .output/tests holds programs only.
$(OUTPUT)/tests/%: tests/unit/%.c $(OUTPUT)/libamx.a $(FLAGS_STAMP) | $(OUTPUT)/tests $(OUTPUT)/deps
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MF $(OUTPUT)/deps/$*.d -Itests/unit $(LDFLAGS) $< $(OUTPUT)/libamx.a $(LDLIBS) -o $@

# A helper that needs a library names it here (fake_btf_blob builds BTF with libbpf).
$(OUTPUT)/tests/fake_btf_blob: HELPER_LDLIBS := -lbpf
$(OUTPUT)/tests/%: tests/helpers/%.c $(FLAGS_STAMP) | $(OUTPUT)/tests $(OUTPUT)/deps
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MF $(OUTPUT)/deps/$*.d $(LDFLAGS) $< $(HELPER_LDLIBS) -o $@

$(OUTPUT)/bench/%: tests/bench/%.c $(OUTPUT)/libamx.a | $(OUTPUT)/deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(OUTPUT)/bench
	$(Q)$(CC) $(CFLAGS) -Itests/bench -MF $(OUTPUT)/deps/bench-$*.d $(LDFLAGS) $< $(OUTPUT)/libamx.a $(LDLIBS) -o $@

BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(OUTPUT)/bench/%,$(BENCH_SRCS))

helpers: $(HELPER_BINS)

# vmlinux.h is committed; regenerate it from the running kernel's BTF with this target.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

# Debian packages the build and the tests need, and the pinned PM2 for tests and the demo.
# RUN_PKGS is what `make run` needs: the build's, then Node, jq and curl for the demo.
RUN_PKGS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libinotifytools0-dev \
            libjansson-dev libinih-dev libsystemd-dev pkg-config libncurses-dev \
            jq curl nodejs npm
# The fleet tests: promtool and the pipeline (prometheus, alertmanager, python3 for the
# webhook receiver), make deb (lintian, dpkg-dev), shipping (syslog-ng; rsyslog's libraries,
# its .deb being unpacked by the test since it conflicts with syslog-ng-core).
DEB_PKGS := $(RUN_PKGS) tmux systemd socat prometheus-node-exporter \
            cppcheck clang-tidy valgrind libclang-rt-14-dev \
            prometheus prometheus-alertmanager lintian dpkg-dev python3 \
            syslog-ng-core libestr0 libfastjson4 liblognorm5
deps:
	$(Q)tests/install-deps.sh $(DEB_PKGS)

install-pm2:
	$(Q)cd tests/pm2 && npm ci --no-audit --no-fund --loglevel=error

# Static checks: cppcheck and clang-tidy (tests/check.sh, .clang-tidy); `make test` runs them.
check: $(OUTPUT)/amexbpf.skel.h $(OUTPUT)/rsswatch.skel.h
	$(Q)tests/check.sh

# Dependencies between the layers of src/ point one way (tests/layering.sh); `make test` runs it.
layering: amexbpf
	$(Q)tests/layering.sh

# The daemon under valgrind memcheck through end-to-end scenarios (tests/valgrind/run.sh).
valgrind: amexbpf $(HELPER_BINS)
	$(Q)tests/valgrind/run.sh

# The soak alone, for as long as asked (tests/soak/soak.sh; make test runs 120 s of it).
SOAK_SECONDS ?= 1800
soak: amexbpf $(HELPER_BINS)
	$(Q)$(OUTPUT)/tests/subreaper $$(($(SOAK_SECONDS) + 300)) bash tests/soak/soak.sh

unit: $(UNIT_BINS)
	$(Q)tests/run.sh unit

e2e: amexbpf $(HELPER_BINS)
	$(Q)tests/run.sh e2e

# The full suite: installs what is missing, builds, runs unit and end-to-end tests.
# The last line is "N passed, N failed".
test: deps
	$(Q)$(MAKE) --no-print-directory amexbpf $(UNIT_BINS) $(HELPER_BINS) $(OUTPUT)/amexbpf.skel.h $(OUTPUT)/rsswatch.skel.h
	$(Q)tests/run.sh all

# The kernel matrix (tests/kernels/run.sh): Debian 12's kernels fetched with apt and booted in
# qemu (TCG), cgroup v2 only, each running the BPF kernel tests, a real OOM kill and a PM2
# recovery. KERNELS=pkg... picks others; the last line is "N passed, N failed" (per kernel).
KERNEL_DEB_PKGS := qemu-system-x86 busybox-static kmod cpio xz-utils zstd
KERNELS ?=
test-kernels:
	$(Q)tests/install-deps.sh $(DEB_PKGS) $(KERNEL_DEB_PKGS)
	$(Q)$(MAKE) --no-print-directory amexbpf $(HELPER_BINS) $(OUTPUT)/tests/test_bpf_kernel $(OUTPUT)/tests/test_hookchoice
	$(Q)tests/kernels/run.sh $(KERNELS)

# The systemd bed (tests/systemd/run.sh, docs/systemd.md): the host's systemd as PID 1 in a
# qemu guest on the matrix's Debian 12 kernel, the package from `make deb` installed in it,
# PM2 under its own startup unit; the last line is "N passed, N failed" (one per scenario).
test-systemd:
	$(Q)tests/install-deps.sh $(DEB_PKGS) $(KERNEL_DEB_PKGS) e2fsprogs dpkg-dev
	$(Q)[ -x tests/pm2/node_modules/.bin/pm2 ] || $(MAKE) --no-print-directory install-pm2
	$(Q)rm -f $(OUTPUT)/systemd/amexbpf_*.deb && mkdir -p $(OUTPUT)/systemd
	$(Q)$(MAKE) --no-print-directory -s deb DEB_DIR=$(OUTPUT)/systemd
	$(Q)tests/systemd/run.sh

bench: amexbpf $(HELPER_BINS) $(BENCH_BINS)
	$(Q)tests/bench/run.sh

# Its own set-up, like `make test`: what is missing for the build and the demo, then the
# build, then the demo (tests/demo.sh) in the foreground; Ctrl-C ends it with status 0.
run:
	$(Q)tests/install-deps.sh $(RUN_PKGS)
	$(Q)$(MAKE) --no-print-directory $(if $(Q),-s) amexbpf
	$(Q)tests/demo.sh

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, the systemd unit, the man page,
# the logrotate snippet, and the example config (never over an existing one).
install: amexbpf
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 amexbpf $(DESTDIR)$(SBINDIR)/amexbpf
	$(Q)install -d $(DESTDIR)$(UNITDIR)
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' src/dist/amexbpf.service \
		> $(DESTDIR)$(UNITDIR)/amexbpf.service && chmod 0644 $(DESTDIR)$(UNITDIR)/amexbpf.service
	$(Q)install -D -m 0644 src/dist/amexbpf.8 $(DESTDIR)$(MANDIR)/man8/amexbpf.8
	$(Q)install -D -m 0644 src/dist/amexbpf.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/amexbpf
	$(Q)[ -e $(DESTDIR)$(SYSCONFDIR)/amexbpf/amexbpf.conf ] || \
		install -D -m 0644 src/dist/amexbpf.conf $(DESTDIR)$(SYSCONFDIR)/amexbpf/amexbpf.conf

# The config file goes only when it is still the untouched example.
uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/amexbpf $(DESTDIR)$(UNITDIR)/amexbpf.service \
		$(DESTDIR)$(MANDIR)/man8/amexbpf.8 $(DESTDIR)$(SYSCONFDIR)/logrotate.d/amexbpf
	$(Q)if cmp -s src/dist/amexbpf.conf $(DESTDIR)$(SYSCONFDIR)/amexbpf/amexbpf.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/amexbpf/amexbpf.conf; \
		rmdir $(DESTDIR)$(SYSCONFDIR)/amexbpf 2>/dev/null || true; \
	fi

# make deb: amexbpf_<version>_<arch>.deb from a staged `make install` (PREFIX=/usr), with
# Depends from the libraries the binary links (dpkg-shlibdeps), the config and logrotate
# snippet as conffiles, maintainer scripts from src/dist/deb/, the alert rules and the
# dashboard under /usr/share/amexbpf/. The version is AMX_VERSION (src/core/event.h);
# DEB_VERSION overrides it (tests/deb_check.sh builds an upgrade with it).
AMX_VERSION_STR := $(shell sed -n 's/^\#define AMX_VERSION "\(.*\)"/\1/p' src/core/event.h)
DEB_VERSION ?= $(AMX_VERSION_STR)
DEB_ARCH    := $(shell dpkg --print-architecture 2>/dev/null)
DEB_DIR     ?= .
DEB_FILE    := $(DEB_DIR)/amexbpf_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_STAGE   := $(OUTPUT)/deb
DEB_MAINTAINER ?= $(shell git log -1 --format='%an <%ae>' 2>/dev/null)
deb: amexbpf
	$(call msg,DEB,$(DEB_FILE))
	$(Q)rm -rf $(DEB_STAGE) && mkdir -p $(DEB_STAGE)/root/DEBIAN $(DEB_STAGE)/debian
	$(Q)$(MAKE) -s --no-print-directory install DESTDIR=$(CURDIR)/$(DEB_STAGE)/root PREFIX=/usr \
		UNITDIR=/lib/systemd/system Q=@ >/dev/null
	$(Q)cd $(DEB_STAGE)/root && strip --remove-section=.comment --remove-section=.note \
		--strip-unneeded usr/sbin/amexbpf && gzip -9n usr/share/man/man8/amexbpf.8
	$(Q)sed 's|^;textfile-dir = |textfile-dir = |' src/dist/amexbpf.conf > $(DEB_STAGE)/root/etc/amexbpf/amexbpf.conf
	$(Q)install -D -m 0644 src/dist/prometheus/amexbpf.rules.yml $(DEB_STAGE)/root/usr/share/amexbpf/prometheus/amexbpf.rules.yml
	$(Q)install -D -m 0644 src/dist/grafana/amexbpf-fleet.json $(DEB_STAGE)/root/usr/share/amexbpf/grafana/amexbpf-fleet.json
	$(Q)install -D -m 0644 src/dist/deb/copyright $(DEB_STAGE)/root/usr/share/doc/amexbpf/copyright
	$(Q)printf 'amexbpf (%s) unstable; urgency=medium\n\n  * Built from the amexbpf source tree (docs/changelog.md).\n\n -- %s  %s\n' \
		'$(DEB_VERSION)' '$(DEB_MAINTAINER)' "$$(date -R -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s))" | \
		gzip -9n > $(DEB_STAGE)/root/usr/share/doc/amexbpf/changelog.gz
	$(Q)install -m 0755 src/dist/deb/postinst src/dist/deb/prerm src/dist/deb/postrm $(DEB_STAGE)/root/DEBIAN/
	$(Q)printf '/etc/amexbpf/amexbpf.conf\n/etc/logrotate.d/amexbpf\n' > $(DEB_STAGE)/root/DEBIAN/conffiles
	$(Q)printf 'Source: amexbpf\n\nPackage: amexbpf\nArchitecture: any\n' > $(DEB_STAGE)/debian/control
	$(Q)cd $(DEB_STAGE) && dpkg-shlibdeps -O -e root/usr/sbin/amexbpf 2>shlibdeps.log | sed 's/^shlibs:Depends=//' > depends && \
		grep -q . depends || { cat shlibdeps.log >&2; exit 1; }
	$(Q){ echo 'Package: amexbpf'; echo 'Version: $(DEB_VERSION)'; echo 'Architecture: $(DEB_ARCH)'; \
	  echo 'Maintainer: $(DEB_MAINTAINER)'; \
	  echo "Installed-Size: $$(du -sk --exclude=DEBIAN $(DEB_STAGE)/root | cut -f1)"; \
	  echo "Depends: $$(cat $(DEB_STAGE)/depends)"; \
	  echo 'Recommends: prometheus-node-exporter'; echo 'Section: admin'; echo 'Priority: optional'; \
	  echo 'Description: event-driven watchdog that recovers PM2 apps (BPF + inotify)'; \
	  echo ' amexbpf watches PM2 homes (the God daemon, its apps and dump.pm2) through BPF'; \
	  echo ' exit tracepoints and inotify, and brings apps back through escalating recovery'; \
	  echo ' tiers. It writes an ECS NDJSON event stream and a node_exporter textfile of'; \
	  echo ' Prometheus metrics; alerting rules and a Grafana dashboard are in'; \
	  echo ' /usr/share/amexbpf.'; } > $(DEB_STAGE)/root/DEBIAN/control
	$(Q)cd $(DEB_STAGE)/root && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' | \
		xargs -0 md5sum > DEBIAN/md5sums
	$(Q)chmod -R go-w $(DEB_STAGE)/root && dpkg-deb --root-owner-group -Zxz --build $(DEB_STAGE)/root $(DEB_FILE) >/dev/null

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) amexbpf amexbpf_*.deb

include tests/fuzz/fuzz.mk

-include $(wildcard $(OUTPUT)/obj/*/*.d $(OUTPUT)/deps/*.d)
