#!/bin/sh
# sources_hash.sh: the hash of the C the web app's rules.wasm is made
# from (build.sh writes it into the module; the rules test compares).
cd "$(dirname "$0")/../.." && cat form/form.c form/expr.c form/validate.c form/counts.c \
	form/form.h form/form_impl.h form/expr.h web/wasm/rules_wasm.c \
	web/wasm/include/*.h web/wasm/include/proto/*.h web/wasm/jansson/*.c \
	web/wasm/jansson/*.h | sha256sum | cut -c1-16
