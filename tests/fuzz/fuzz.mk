# SPDX-License-Identifier: MIT
# Included by the top Makefile. `make fuzz [FUZZ_SECONDS=N] [FUZZ=name]` builds every
# tests/fuzz/fuzz_<name>.c as a libFuzzer binary (clang, ASan + UBSan) linked with the whole
# core, instrumented, and runs each for N seconds on tests/fuzz/corpus/<name>/ (new inputs
# are kept in .output/fuzz/corpus/<name>/). A crash is copied to tests/fuzz/crashers/<name>/
# and the run fails; test_fuzz_regress replays those files in `make test`.
# Adding a harness: drop tests/fuzz/fuzz_<name>.c and seeds in tests/fuzz/corpus/<name>/.

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_BINS    := $(patsubst %,$(OUTPUT)/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_OBJS    := $(patsubst src/%.c,$(OUTPUT)/fuzz/%.o,$(SRCS))
FUZZ         ?= $(FUZZ_NAMES)

.PHONY: fuzz fuzz-build fuzz-coverage
.SECONDARY: $(FUZZ_OBJS)

$(OUTPUT)/fuzz/%.o: src/%.c $(OUTPUT)/amexbpf.skel.h
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -D_GNU_SOURCE -I$(OUTPUT) -I. -Isrc -c $< -o $@

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(call msg,FUZZ-LD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -Isrc -I. -I$(OUTPUT) $^ $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ)

# Line and branch coverage of each parser reached by the seeds plus what `make fuzz` kept.
fuzz-coverage: $(OUTPUT)/amexbpf.skel.h
	$(Q)tests/fuzz/coverage.sh $(FUZZ)
