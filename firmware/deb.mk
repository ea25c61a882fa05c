# firmware/deb.mk: Debian packages, included by the Makefile.
#
#   make deb [ARCH=amd64|arm64|armhf] [RELEASE_PUB=FILE] [DEB_DIR=DIR]
#        DEB_DIR/fieldd_$(VERSION)_ARCH.deb and collectord_..._ARCH.deb
#        (DEB_DIR: build/deb) from the release build of ARCH: build/ for
#        the machine's own architecture, build/ARCH/ for a cross build.
#        RELEASE_PUB (default build/release/release.pub, see update.mk's
#        release-key) becomes the board's /etc/fieldd/release.pub.
#   make test-package-install
#        installs both packages into a minimal Debian chroot
#        (debootstrap, cached in build/chroot-cache) and checks them
#        there: users, folders, links, units; needs root and the mirror.
#
# tools/mkdeb.sh stages and builds the packages (dpkg-deb, no debhelper);
# tests/integration/test_package.py checks them, lintian included.

DEB_HOST_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_ARCH := $(if $(ARCH),$(ARCH),$(DEB_HOST_ARCH))
DEB_NATIVE := $(filter $(DEB_HOST_ARCH),$(DEB_ARCH))
# The release build of DEB_ARCH, and the ARCH its make takes ("" native).
DEB_BIN := $(if $(DEB_NATIVE),build,build/$(DEB_ARCH))
DEB_MAKE_ARCH := $(if $(DEB_NATIVE),,$(DEB_ARCH))
DEB_DIR ?= build/deb
RELEASE_PUB ?= build/release/release.pub

.PHONY: deb deb-bins test-package-install

deb: deb-bins
	@test -f "$(RELEASE_PUB)" || { echo "deb: no release public key" \
		"$(RELEASE_PUB): set RELEASE_PUB=FILE, or 'make release-key'" \
		"for a development one" >&2; exit 1; }
	@if [ "$(RELEASE_PUB)" = build/release/release.pub ] && \
		[ -f build/release/release.key ]; then \
		echo "deb: WARNING: fieldd trusts the DEVELOPMENT release key" \
		"$(RELEASE_PUB)" >&2; fi
	sh tools/mkdeb.sh $(DEB_ARCH) $(DEB_BIN) $(DEB_DIR) $(VERSION) \
		$(RELEASE_PUB)

# The release build of the architecture, whatever MODE this make has.
deb-bins:
	@$(MAKE) --no-print-directory MODE=release ARCH=$(DEB_MAKE_ARCH) \
		$(DEB_BIN)/fieldd $(DEB_BIN)/fieldctl $(DEB_BIN)/collectord \
		$(DEB_BIN)/collectctl man

# make test: the package test (tests/integration/test_package.py) runs
# "make deb" on the release build; build it here with the rest.
test: deb-bins

test-package-install:
	@python3 tests/integration/test_package.py --install
