# firmware/update.mk: signed update bundles (firmware/update.h), included
# by the Makefile near its end.
#
#   make update-bundle [ARCH=arm64|armhf] [RELEASE_KEY=FILE]
#        a bundle of $(B)/fieldd and $(B)/fieldctl as release $(VERSION),
#        build/release/fieldd_$(VERSION)_ARCH.fup, signed with RELEASE_KEY
#        (default build/release/release.key: a DEVELOPMENT key made on
#        first use, its public half build/release/release.pub beside it,
#        which the Debian package ships as /etc/fieldd/release.pub)
#   make release-key    only that development key pair
#
# $(B)/fieldrelease, the release tool (tools/fieldrelease.c, outside
# firmware/ so the Makefile's wildcard keeps it out of libfield.a), is
# built by `all`.  `units` also builds $(B)/update-test/fieldd: fieldd
# compiled as the next patch release (daemon/fieldd.c and daemon/api.c,
# the two files that use FIELD_VERSION, with another FIELD_VERSION) for
# tests/integration/test_update.py, which must see a real daemon report
# a newer version than the running one.

FIELDRELEASE := $(B)/fieldrelease
RELEASE_KEY ?= build/release/release.key
RELEASE_PUB ?= $(RELEASE_KEY:.key=.pub)
DEV_RELEASE_KEY := build/release/release.key
UPDATE_ARCH := $(if $(ARCH),$(ARCH),$(shell dpkg --print-architecture \
	2>/dev/null || echo amd64))
UPDATE_BUNDLE ?= build/release/fieldd_$(VERSION)_$(UPDATE_ARCH).fup
UPDATE_TEST_VERSION := $(shell echo $(VERSION) | \
	awk -F. '{ printf "%d.%d.%d", $$1, $$2, $$3 + 1 }')
UPDATE_TEST_DIR := $(B)/update-test

.PHONY: update-bundle release-key

all: $(FIELDRELEASE)
units: $(UPDATE_TEST_DIR)/fieldd

$(FIELDRELEASE): $(B)/obj/tools/fieldrelease.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/obj/update-test/%.o: daemon/%.c $(GEN_H) | $(BUILD_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -UFIELD_VERSION \
		-DFIELD_VERSION=\"$(UPDATE_TEST_VERSION)\" $(WARN) -MMD -MP \
		-c -o $@ $<

$(UPDATE_TEST_DIR)/fieldd: $(B)/obj/update-test/fieldd.o \
		$(B)/obj/update-test/api.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The development key: made once, loudly, never overwritten.
build/release/release.pub: | build/release/release.key
build/release/release.key:
	@$(MAKE) --no-print-directory MODE=release ARCH= build/fieldrelease
	@mkdir -p build/release
	build/fieldrelease keygen build/release/release.key \
		build/release/release.pub
	@echo "************************************************************" >&2
	@echo "* WARNING: made a DEVELOPMENT release key,                 *" >&2
	@echo "* build/release/release.key. Boards that trust its public  *" >&2
	@echo "* half accept anything signed with it: never ship it. Set  *" >&2
	@echo "* RELEASE_KEY=/path/to/the/real/release.key for releases.  *" >&2
	@echo "************************************************************" >&2

release-key: build/release/release.key

# The bundle: the target's programs from $(B), the tool built natively.
update-bundle: $(B)/fieldd $(B)/fieldctl \
		$(if $(filter $(DEV_RELEASE_KEY),$(RELEASE_KEY)),$(DEV_RELEASE_KEY))
	@$(MAKE) --no-print-directory MODE=release ARCH= build/fieldrelease
	@test -f $(RELEASE_KEY) || { echo "update-bundle: no release key" \
		"$(RELEASE_KEY)" >&2; exit 1; }
	@mkdir -p $(dir $(UPDATE_BUNDLE))
	build/fieldrelease bundle --key $(RELEASE_KEY) --version $(VERSION) \
		--arch $(UPDATE_ARCH) --out $(UPDATE_BUNDLE) \
		$(B)/fieldd $(B)/fieldctl
	@if [ "$(RELEASE_KEY)" = "$(DEV_RELEASE_KEY)" ]; then \
		echo "update-bundle: WARNING: signed with the DEVELOPMENT key" \
		"$(DEV_RELEASE_KEY)" >&2; fi
