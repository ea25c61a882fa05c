#!/bin/sh
# make run: on first use, creates a local collector key pair and a device
# under var/, prints the first enumerator's token, then runs fieldd on
# 127.0.0.1:8080 in the foreground (Ctrl-C stops it).
set -eu
B=${1:-build}
VAR=${FIELD_VAR:-var}

mkdir -p "$VAR"
chmod 700 "$VAR"
if [ ! -f "$VAR/collector/seal.pub" ]; then
	"$B/collectctl" keygen "$VAR/collector" >/dev/null
	echo "run: collector key pair made in $VAR/collector" \
	    "(seal.key opens records: it never goes onto a board)"
fi
if [ ! -f "$VAR/device/device.db" ]; then
	"$B/fieldctl" -d "$VAR/device" init \
	    --collector-key "$VAR/collector/seal.pub" --device-id dev-local
	token=$("$B/fieldctl" -d "$VAR/device" user add enumerator-1 2>/dev/null)
	echo "run: first enumerator's token (shown once, stored hashed):"
	echo
	echo "    $token"
	echo
	echo "run: try  curl -H 'Authorization: Bearer $token'" \
	    "http://127.0.0.1:8080/api/forms"
else
	echo "run: device in $VAR/device; make another enumerator token with" \
	    "$B/fieldctl -d $VAR/device user add NAME"
fi
echo "run: records opened with: $B/collectctl open" \
    "--key $VAR/collector/seal.key $VAR/device/device.db"
exec "$B/fieldd" -d "$VAR/device"
