# SPDX-License-Identifier: MIT
# amexbpf: `make` builds, `make deps` installs what is missing, `make test` does both and
# runs every test, `make run` starts the daemon (or the bundled demo). V=1 shows commands.

OUTPUT    := .output
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= cc
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
PREFIX    ?= /usr/local

CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Werror -Wno-format-truncation -std=gnu11 -D_GNU_SOURCE -MMD -MP \
             -I$(OUTPUT) -Ibpf -Isrc
LDLIBS    := -lbpf -lelf -lz -linotifytools -ljansson -lsystemd -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I. -Ibpf -Wall -Werror

ifdef SANITIZE
CFLAGS    += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS   += -fsanitize=$(SANITIZE)
endif

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

SRCS      := $(filter-out src/main.c,$(wildcard src/*.c))
OBJS      := $(patsubst src/%.c,$(OUTPUT)/%.o,$(SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(patsubst tests/helpers/%.c,$(OUTPUT)/tests/%,$(HELPER_SRCS))

.PHONY: all deps test unit e2e bench run clean vmlinux install-pm2 helpers
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

# Every user-space object may include the skeleton; generate it first.
$(OUTPUT)/%.o: src/%.c $(OUTPUT)/amexbpf.skel.h | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/libamx.a: $(OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

amexbpf: $(OUTPUT)/main.o $(OUTPUT)/libamx.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Dependency files of test programs live in deps/, so .output/tests holds programs only.
$(OUTPUT)/tests/%: tests/unit/%.c $(OUTPUT)/libamx.a | $(OUTPUT)/tests $(OUTPUT)/deps
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MF $(OUTPUT)/deps/$*.d -Itests/unit $(LDFLAGS) $< $(OUTPUT)/libamx.a $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/helpers/%.c | $(OUTPUT)/tests $(OUTPUT)/deps
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MF $(OUTPUT)/deps/$*.d $(LDFLAGS) $< -o $@

$(OUTPUT)/bench/%: tests/bench/%.c $(OUTPUT)/libamx.a | $(OUTPUT)/deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(OUTPUT)/bench
	$(Q)$(CC) $(CFLAGS) -MF $(OUTPUT)/deps/bench-$*.d $(LDFLAGS) $< $(OUTPUT)/libamx.a $(LDLIBS) -o $@

BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(OUTPUT)/bench/%,$(BENCH_SRCS))

helpers: $(HELPER_BINS)

# vmlinux.h is committed; regenerate it from the running kernel's BTF with this target.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

# Debian packages the build and the tests need, and the pinned PM2 for tests and the demo.
DEB_PKGS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libinotifytools0-dev \
            libjansson-dev libsystemd-dev pkg-config jq curl nodejs npm socat \
            prometheus-node-exporter
deps:
	$(Q)tests/install-deps.sh $(DEB_PKGS)

install-pm2:
	$(Q)cd tests/pm2 && npm ci --no-audit --no-fund --loglevel=error

unit: $(UNIT_BINS)
	$(Q)tests/run.sh unit

e2e: amexbpf $(HELPER_BINS)
	$(Q)tests/run.sh e2e

# The full suite: installs what is missing, builds, runs unit and end-to-end tests.
# The last line is "N passed, N failed".
test: deps
	$(Q)$(MAKE) --no-print-directory amexbpf $(UNIT_BINS) $(HELPER_BINS)
	$(Q)tests/run.sh all

bench: amexbpf $(HELPER_BINS) $(BENCH_BINS)
	$(Q)tests/bench/run.sh

run: amexbpf
	$(Q)tests/demo.sh

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) amexbpf

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/deps/*.d)
