#!/bin/sh
# Installs the Debian packages the build and the tests need, when missing.
# Idempotent: does nothing when everything is already there.  Used by
# `make run`, `make test` and .ci/run.  chromium is for the coordinator
# page's browser test (tests/integration/test_coord_page.py), which drives
# it with playwright-core from npm (tests/browser/package.json) and the
# machine's Node.js; ODK's form engine (@getodk/xforms-engine and jsdom,
# tests/odk/package.json) runs on the same Node.js for
# tests/integration/test_odk_engine.py.  Both npm trees are installed
# (npm ci, from their lock files) by the tests that use them.  lintian
# and systemd (systemd-analyze) check the Debian packages
# (tests/integration/test_package.py).  postgresql: the
# collector's PostgreSQL store (libpq-dev to build it); the tests and
# benchmarks run a throwaway cluster of their own (tools/pg.sh).  scdoc
# makes the manual pages (docs/man/*.scd); man-db reads them in the tests.
# `sh tools/deps.sh wasm` (make wasm) installs instead what makes the web
# app's rules.wasm: emscripten, and gnulib for glibc's regex in source.
# libxlsxwriter: collectctl export --xlsx.  libseccomp-dev: fieldd's and
# collectord's system call allow-list (common/sandbox.c).
set -eu

PKGS="build-essential pkg-config clang libclang-rt-dev xxd curl python3 sqlite3
libsqlite3-dev libuv1-dev libmbedtls-dev libprotobuf-c-dev protobuf-c-compiler
libjansson-dev libhttp-parser-dev libcsv-dev libcmocka-dev libzstd-dev
libexpat1-dev libzip-dev libxlsxwriter-dev libsystemd-dev libpq-dev libseccomp-dev postgresql valgrind chromium lintian systemd
scdoc man-db python3-openpyxl"
[ "${1:-}" = wasm ] && PKGS="emscripten gnulib"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# A mirror in the middle of a sync fails one index or another; what was
# there before still serves, so go on and let a missing package fail.
$SUDO apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null ||
	echo "deps: apt-get update failed; going on with the indices there are" >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q -o DPkg::Lock::Timeout=600 \
	--no-install-recommends $missing >/dev/null
