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

.PHONY: all deps test unit e2e bench run clean vmlinux install-pm2 helpers check layering valgrind soak install uninstall
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

$(OUTPUT)/tests/%: tests/helpers/%.c $(FLAGS_STAMP) | $(OUTPUT)/tests $(OUTPUT)/deps
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MF $(OUTPUT)/deps/$*.d $(LDFLAGS) $< -o $@

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
DEB_PKGS := $(RUN_PKGS) tmux systemd socat prometheus-node-exporter \
            cppcheck clang-tidy valgrind libclang-rt-14-dev
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

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) amexbpf

include tests/fuzz/fuzz.mk

-include $(wildcard $(OUTPUT)/obj/*/*.d $(OUTPUT)/deps/*.d)
