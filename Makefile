# fieldd, fieldctl, collectctl: see README.md.
#
#   make            release build into build/ (programs, manual pages)
#   make run        install what is missing, build, start collectord and
#                   fieldd (tools/run.sh); its ports, each on 127.0.0.1:
#                     FIELD_PORT=8080      fieldd's HTTP; when set it wins
#                                          over listen in var/device/
#                                          fieldd.conf (unset: that, or 8080)
#                     COLLECTOR_PORT=7443  collectord's TLS for devices
#                     COORD_PORT=7480      collectord's HTTP for coordinators
#                   e.g. make run FIELD_PORT=8081 COLLECTOR_PORT=7444
#                   COORD_PORT=7481 beside another checkout's make run;
#                   FIELD_VAR=DIR moves var/
#   make test       sanitizer build (build/san), unit, fuzz-smoke, integration
#   make bench      benchmarks (release build)
#   make wasm       web/field/rules.wasm from the forms core (emscripten,
#                   gnulib); committed, and rebuilt after a change to it
#   make fuzz       libFuzzer targets (build/fuzz), FUZZ_SECONDS each
#   make clean

MODE ?= release
CC ?= cc
ifeq ($(MODE),san)
B := build/san
MODE_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
MODE_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(MODE),fuzz)
B := build/fuzz
CC := clang
MODE_CFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
	-fno-omit-frame-pointer
MODE_LDFLAGS := -fsanitize=address,undefined
else
B := build
# As Debian builds its packages: fortified libc calls, stack protector,
# read-only relocations bound at start.
MODE_CFLAGS := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
MODE_LDFLAGS := -Wl,-z,relro,-z,now
endif

WARN := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes
VERSION := $(shell cat VERSION)
# Clocks earlier than the build are not set (common/clock.h): the build's
# date is the last commit's, so builds of one commit are the same.
BUILD_EPOCH := $(or $(SOURCE_DATE_EPOCH),$(shell git log -1 --format=%ct 2>/dev/null),1793491200)

# Cross builds (ARCH=arm64|armhf): the toolchain, sysroot and build folder.
include firmware/cross.mk

# libpq's headers (the collector's PostgreSQL store, collector/cdb_pg.c);
# cross.mk points them into its sysroot.
PG_CFLAGS ?= -I/usr/include/postgresql
CFLAGS ?=
CFLAGS += -std=c11 -D_GNU_SOURCE $(MODE_CFLAGS) -I. -I$(B)/gen $(PG_CFLAGS)

# --as-needed: a program records only the libraries it uses (fieldd on a
# board does not need libpq, which only the collector's store links).
LDFLAGS += $(MODE_LDFLAGS) -Wl,--as-needed
LIBS := -lsqlite3 -luv -lmbedtls -lmbedx509 -lmbedcrypto -lprotobuf-c -lzstd \
	-ljansson -lhttp_parser -lcsv -lexpat -lzip -lxlsxwriter -lsystemd -lpq \
	-lseccomp -lm

PROTOS := $(wildcard proto/*.proto)
GEN_C := $(PROTOS:proto/%.proto=$(B)/gen/proto/%.pb-c.c)
GEN_H := $(GEN_C:.c=.h)
FORMS := $(sort $(wildcard proto/forms/*.json))
EMBED_C := $(B)/gen/forms_embedded.c
WEB := $(sort $(wildcard web/coord/*))
FIELD_WEB := $(sort $(wildcard web/field/*))

# Programs' main files, and collector/open/: the files only collectctl
# (and tests) link, which open sealed records or write the private sealing
# key.  Neither the device nor collectord has a code path that opens a
# sealed record (tests/integration/test_layout.py checks the binaries).
MAINS := daemon/fieldd.c daemon/fieldctl.c collector/collectctl.c \
	collector/collectord.c
OPENER := $(wildcard collector/open/*.c)
LIB_SRC := $(filter-out $(MAINS), \
	$(wildcard common/*.c form/*.c sync/*.c http/*.c daemon/*.c \
	collector/*.c analysis/*.c board/*.c firmware/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o) $(GEN_C:$(B)/gen/%.c=$(B)/obj/gen/%.o) \
	$(B)/obj/gen/forms_embedded.o $(B)/obj/gen/web_embedded.o \
	$(B)/obj/gen/field_embedded.o
OPENER_OBJ := $(OPENER:%.c=$(B)/obj/%.o)
LIB := $(B)/libfield.a
BINS := $(B)/fieldd $(B)/fieldctl $(B)/collectctl $(B)/collectord

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)

.PHONY: all run test units valgrind bench fuzz fuzz-build fuzz-bins clean deps \
	wasm
.SECONDARY:

all: $(BINS) man

deps:
	@sh tools/deps.sh

$(B)/gen/proto/%.pb-c.c $(B)/gen/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(B)/gen
	protoc-c --c_out=$(B)/gen $<

# The version and the build's date, for common/version.h and clock.h:
# rewritten only when they change, so only what includes it is rebuilt.
BUILD_H := $(B)/gen/build.h
$(BUILD_H): FORCE
	@mkdir -p $(dir $@)
	@printf '/* made by the Makefile */\n#ifndef BUILD_H\n#define BUILD_H\n#ifndef FIELD_VERSION\n#define FIELD_VERSION "%s"\n#endif\n#define CLOCK_BUILD_MS %s000LL\n#endif\n' \
		"$(VERSION)" "$(BUILD_EPOCH)" >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

.PHONY: FORCE
FORCE:

$(EMBED_C): $(FORMS) tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh $@ embedded_forms $(FORMS)

$(B)/gen/web_embedded.c: $(WEB) tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh $@ embedded_web $(WEB)

# The web app's files and their gzip copies (a phone on a slow link gets
# a third of the bytes; http_static serves them as Content-Encoding).
FIELD_GZ := $(FIELD_WEB:web/field/%=$(B)/gen/field/%.gz)
$(FIELD_GZ): $(B)/gen/field/%.gz: web/field/%
	@mkdir -p $(dir $@)
	gzip -9 -n -c $< >$@

$(B)/gen/field_embedded.c: $(FIELD_WEB) $(FIELD_GZ) tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh $@ embedded_field $(FIELD_WEB) $(FIELD_GZ)

$(B)/obj/gen/%.o: $(B)/gen/%.c $(GEN_H) | $(BUILD_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/obj/%.o: %.c $(GEN_H) | $(BUILD_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/fieldd: $(B)/obj/daemon/fieldd.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/fieldctl: $(B)/obj/daemon/fieldctl.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/collectctl: $(B)/obj/collector/collectctl.o $(OPENER_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The collector's daemon ingests sealed records: no opener either.
$(B)/collectord: $(B)/obj/collector/collectord.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(OPENER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

$(B)/bench/%: $(B)/obj/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Empty: tools/run.sh's defaults (above).
FIELD_PORT ?=
COLLECTOR_PORT ?=
COORD_PORT ?=

# Manual pages: docs/man/NAME.SECTION.scd (scdoc) into $(B)/man/NAME.SECTION,
# dated by the build's date so that builds of one commit are the same.
MAN_SRC := $(sort $(wildcard docs/man/*.scd))
MAN := $(MAN_SRC:docs/man/%.scd=$(B)/man/%)

.PHONY: man
man: $(MAN)

$(B)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	SOURCE_DATE_EPOCH=$(BUILD_EPOCH) scdoc <$< >$@.tmp
	@mv $@.tmp $@

run: deps all
	@FIELD_PORT='$(FIELD_PORT)' COLLECTOR_PORT='$(COLLECTOR_PORT)' \
	    COORD_PORT='$(COORD_PORT)' exec sh tools/run.sh $(B)

# The web app's rules: the forms core compiled to WebAssembly, committed
# (a board's build needs no emscripten); test_rules_shared.py says when it
# is older than the C.
wasm:
	@sh tools/deps.sh wasm
	sh web/wasm/build.sh web/field/rules.wasm

# Every test runs on the sanitizer build.
JOBS ?= 2

test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) MODE=san all units
	@$(MAKE) --no-print-directory -j$(JOBS) fuzz-build
	@$(MAKE) --no-print-directory -j$(JOBS) MODE=release units
	@sh tests/run.sh build/san build/fuzz build

units: $(UNIT_BIN) $(B)/faultproxy $(B)/slowsync.so

# Test tools: a fault-injecting TCP proxy for the sync tests.
$(B)/faultproxy: tests/tools/faultproxy.c
	$(CC) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< -luv -lm

# An SD card's fsync for fieldd, preloaded by tests and the bench (never
# shipped).  No sanitizer: it goes in front of the sanitizer's runtime.
$(B)/slowsync.so: tests/tools/slowsync.c
	$(CC) -std=c11 -O2 -Wall -Wextra -shared -fPIC -o $@ $< -ldl

# The unit tests once more, uninstrumented, under valgrind.
valgrind:
	@$(MAKE) --no-print-directory MODE=release units
	@for t in build/tests/test_*; do \
		valgrind -q --error-exitcode=1 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect $$t >/dev/null || exit 1; \
		echo "valgrind clean: $$t"; done

bench: deps all $(BENCH_BIN) $(B)/faultproxy $(B)/slowsync.so
	@sh bench/run.sh $(B)

# libFuzzer targets: MODE=fuzz builds everything with clang into build/fuzz.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/%)
FUZZ_SECONDS ?= 60

fuzz-build:
	@$(MAKE) --no-print-directory MODE=fuzz fuzz-bins

fuzz-bins: $(FUZZ_BIN)

$(B)/fuzz_%: $(B)/obj/tests/fuzz/fuzz_%.o $(LIB)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

fuzz: fuzz-build
	@for t in $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%); do n=$$(basename $$t); \
		mkdir -p build/fuzz/corpus/$$n; \
		$$t -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus/$$n \
		tests/fuzz/corpus/$$n || exit 1; done

# The packages on a live Debian 12 with systemd as PID 1, in qemu
# (tests/vm/README.md): make test-vm (KVM; minutes), make test-vm-arm64
# (emulated, opt-in).  The image is made once into build/vm/.
.PHONY: test-vm test-vm-arm64
test-vm:
	@$(MAKE) --no-print-directory MODE=release ARCH= all \
		build/update-test/fieldd
	@python3 tests/vm/vmtest.py $(VM_ARGS)

test-vm-arm64:
	@$(MAKE) --no-print-directory MODE=release ARCH= all
	@$(MAKE) --no-print-directory MODE=release ARCH=arm64 \
		build/arm64/update-test/fieldd
	@python3 tests/vm/vmtest.py --arch arm64 $(VM_ARGS)

# Debian packages (make deb ARCH=...) and signed update bundles.
include firmware/deb.mk
include firmware/update.mk

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
