#!/bin/sh
# make run: on first use, creates under var/ a local collector and a
# device enrolled with it, and prints the first enumerator's and the
# first coordinator's tokens; then runs collectord on 127.0.0.1:7443
# (devices) and 127.0.0.1:7480 (coordinators' page and counts) in the
# background, `collectctl analyse` every 30 s in the background (the
# analyst's step that turns arrived records into counts), and fieldd on
# 127.0.0.1:8080 in the foreground, which syncs to it (Ctrl-C stops all).
set -eu
B=${1:-build}
VAR=${FIELD_VAR:-var}
C="$VAR/collector"
D="$VAR/device"
CPORT=7443
HPORT=7480

mkdir -p "$VAR"
chmod 700 "$VAR"
if [ ! -f "$C/ca.key" ]; then
	if [ -f "$C/seal.key" ]; then
		echo "run: $C holds a sealing key pair from an older make run" \
		    "but no collector; move it away first (records sealed to it" \
		    "open only with its seal.key)" >&2
		exit 1
	fi
	"$B/collectctl" -d "$C" init --host 127.0.0.1 >/dev/null
	echo "run: collector made in $C (seal.key opens records: keep it off" \
	    "boards, and off this machine where analysts work elsewhere)"
fi
if [ ! -f "$D/device.db" ]; then
	"$B/fieldctl" -d "$D" init --collector-key "$C/seal.pub" \
	    --device-id dev-local
	token=$("$B/fieldctl" -d "$D" user add enumerator-1 2>/dev/null)
	pin=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ' | cut -c1-6)
	while [ ${#pin} -lt 6 ]; do pin="0$pin"; done
	echo "$pin" | "$B/fieldctl" -d "$D" user pin enumerator-1
	echo "run: first enumerator, enumerator-1: token and PIN (shown once," \
	    "stored hashed):"
	echo
	echo "    $token"
	echo "    PIN $pin"
	echo
	echo "run: try  curl -H 'Authorization: Bearer $token'" \
	    "http://127.0.0.1:8080/api/forms"
else
	echo "run: device in $D; make another enumerator token with" \
	    "$B/fieldctl -d $D user add NAME"
fi

if [ -z "$("$B/collectctl" -d "$C" coordinator list)" ]; then
	ctoken=$("$B/collectctl" -d "$C" coordinator add coordinator-1 \
	    2>/dev/null)
	echo "run: first coordinator's token (shown once, stored hashed):"
	echo
	echo "    $ctoken"
	echo
fi

"$B/collectord" -d "$C" --listen "127.0.0.1:$CPORT" \
    --http "127.0.0.1:$HPORT" 2>>"$VAR/collectord.log" &
cpid=$!
(
	while :; do
		"$B/collectctl" -d "$C" analyse --key "$C/seal.key" \
		    >>"$VAR/analyse.log" 2>&1 || true
		sleep 30
	done
) &
apid=$!
trap 'kill $cpid $apid 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
i=0
until grep -q "listening on 127.0.0.1:$CPORT" "$VAR/collectord.log" \
    2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 50 ] || ! kill -0 $cpid 2>/dev/null; then
		echo "run: collectord did not start; see $VAR/collectord.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [ ! -f "$D/tls/device.crt" ]; then
	token=$("$B/collectctl" -d "$C" enroll-token --device-id dev-local \
	    2>/dev/null | tail -n 1)
	"$B/fieldctl" -d "$D" enroll --collector "127.0.0.1:$CPORT" \
	    --token "$token"
fi
echo "run: collectord on 127.0.0.1:$CPORT (log $VAR/collectord.log);" \
    "fieldd syncs its records to it"
echo "run: coordinators' page http://127.0.0.1:$HPORT/ (their token);" \
    "counts of what arrived, analysed every 30 s (log $VAR/analyse.log)"
echo "run: see  $B/collectctl -d $C devices,  $B/collectctl -d $C counts" \
    "--form dtm_household --by sex,age_band  and" \
    " $B/collectctl -d $C open --key $C/seal.key"
echo "run: the enumerators' web app: http://127.0.0.1:8080/ (name and" \
    "PIN, or the token); ODK Collect: server http://ADDRESS:8080/ with" \
    "the name and PIN once fieldd listens on the LAN (listen in" \
    "$D/fieldd.conf)"
"$B/fieldd" -d "$D"
