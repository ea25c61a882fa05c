# firmware/cross.mk: cross builds, included by the Makefile right after
# its MODE block.
#
#   make ARCH=arm64|armhf [target]
#        the release build for a board, into build/ARCH, with Debian's
#        cross compiler (gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf)
#        against build/sysroot/ARCH: ARCH's library packages, unpacked by
#        tools/cross.sh, which also installs the compiler and qemu-user
#        the first time.  ARCH=amd64 (the machine's own) or no ARCH: the
#        normal build.
#   make test-arm64, make test-armhf
#        the unit tests built for ARCH, each run under qemu-user from the
#        repository's root; ends with "N passed, M failed".
#
# protoc-c and tools/embed.sh run on the machine itself: what they make
# is C, the same for every architecture.

# Rules here come before the Makefile's `all`, which stays the default.
.DEFAULT_GOAL := all

CROSS_HOST_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
CROSS_ARCHES := arm64 armhf
CROSS_TRIPLET_arm64 := aarch64-linux-gnu
CROSS_TRIPLET_armhf := arm-linux-gnueabihf

ifneq ($(filter-out $(CROSS_HOST_ARCH),$(ARCH)),)
ifeq ($(filter $(ARCH),$(CROSS_ARCHES)),)
$(error ARCH=$(ARCH): cross builds are for $(CROSS_ARCHES); \
	$(CROSS_HOST_ARCH), or no ARCH, is the machine's own build)
endif
ifneq ($(MODE),release)
$(error MODE=$(MODE) ARCH=$(ARCH): cross builds are release builds; \
	the sanitizer and fuzz builds are the machine's own only)
endif
CROSS := $(CROSS_TRIPLET_$(ARCH))
SYSROOT := build/sysroot/$(ARCH)
CC := $(CROSS)-gcc
AR := $(CROSS)-ar
B := build/$(ARCH)
# The sysroot's headers as system headers, as /usr/include is natively;
# -rpath-link finds the libraries that the named ones need in turn
# (libsystemd0's liblzma, libgcrypt, ...).
MODE_CFLAGS += -isystem $(SYSROOT)/usr/include \
	-isystem $(SYSROOT)/usr/include/$(CROSS)
# libpq's headers: the arch's own (pg_config_ext.h differs on armhf).
PG_CFLAGS := -isystem $(SYSROOT)/usr/include/postgresql
# 64-bit off_t, ino_t and directory offsets on armhf as on 64-bit
# machines (a no-op there): without it stat() and readdir() fail with
# EOVERFLOW on large files and on ext4's 64-bit directory hashes, which a
# 32-bit program sees under qemu-user.  libuv is built so too; no other
# library the programs link has off_t in its interface.  time_t stays
# 32-bit, as bookworm's armhf libraries (mbedtls's included) have it.
MODE_CFLAGS += -D_FILE_OFFSET_BITS=64
MODE_LDFLAGS += -L$(SYSROOT)/usr/lib/$(CROSS) -L$(SYSROOT)/lib/$(CROSS) \
	-Wl,-rpath-link,$(SYSROOT)/usr/lib/$(CROSS) \
	-Wl,-rpath-link,$(SYSROOT)/lib/$(CROSS)

# Made (and remade when tools/cross.sh changes) before anything else is
# built: make restarts after remaking an included makefile.
ifneq ($(MAKECMDGOALS),clean)
include $(SYSROOT)/ready.mk
endif
$(SYSROOT)/ready.mk: tools/cross.sh
	sh tools/cross.sh $(ARCH)
	@echo "# tools/cross.sh $(ARCH) made $(SYSROOT)" >$@
endif

.PHONY: test-arm64 test-armhf cross-bins

# Recipes expand when they run: UNIT_SRC, JOBS and BINS are the
# Makefile's, defined after this file.
test-arm64 test-armhf: test-%: deps
	@$(MAKE) --no-print-directory -j$(JOBS) MODE=release ARCH=$* \
		$(patsubst tests/unit/%.c,build/$*/tests/%,$(UNIT_SRC))
	@sh tools/cross.sh $* test build/$*

# make bench compares the programs' sizes on every architecture
# (bench/sizes.sh); a cross build that cannot be made (no mirror to
# install the toolchain from) leaves its column out, not the benchmarks.
bench: cross-bins
cross-bins:
	@for a in $(CROSS_ARCHES); do \
		$(MAKE) --no-print-directory -j$(JOBS) MODE=release ARCH=$$a \
		$(addprefix build/$$a/,$(notdir $(BINS))) || \
		echo "bench: no $$a build, its sizes left out" >&2; done
