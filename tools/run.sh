#!/bin/sh
# make run: on first use, creates under var/ a local collector and a
# device enrolled with it, and prints the first enumerator's and the
# first coordinator's tokens; then runs collectord on 127.0.0.1:7443
# (devices) and 127.0.0.1:7480 (coordinators' page and counts) in the
# background, `collectctl analyse` every 30 s in the background (the
# analyst's step that turns arrived records into counts), and fieldd on
# 127.0.0.1:8080, which syncs to it.  Ctrl-C (or SIGTERM to this script)
# stops all of them, and so does fieldd ending on its own.
#
#   tools/run.sh [BINDIR]      (BINDIR: build/ by default)
#
# Environment (the Makefile's run target passes its variables of the
# same names; empty means the default):
#   FIELD_VAR        the folder of the collector, the device, the logs
#                    and run.pid (var)
#   FIELD_PORT       fieldd's HTTP port on 127.0.0.1 (8080); when set it
#                    wins over listen in the device's fieldd.conf, which
#                    is left as it is; when not set, a listen there is
#                    used (e.g. 0.0.0.0:8080 for phones on the LAN)
#   COLLECTOR_PORT   collectord's TLS port for devices (7443)
#   COORD_PORT       collectord's HTTP port for coordinators (7480)
#
# Before it starts anything it checks that no other run uses this
# FIELD_VAR (VAR/run.pid) and that the ports are free, and says which
# variable moves a busy one: two checkouts run side by side on other
# ports.
set -eu
B=${1:-build}
VAR=${FIELD_VAR:-var}
C="$VAR/collector"
D="$VAR/device"
CPORT=${COLLECTOR_PORT:-7443}
HPORT=${COORD_PORT:-7480}
PIDF="$VAR/run.pid"

say() { echo "run: $*"; }
die() { echo "run: $*" >&2; exit 1; }

for v in FIELD_PORT COLLECTOR_PORT COORD_PORT; do
	eval "p=\${$v:-}"
	case $p in
	'') ;;
	*[!0-9]*) die "$v=$p: expected a port number" ;;
	*) if [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then
		die "$v=$p: expected a port from 1 to 65535"
	fi ;;
	esac
done

# `key = value` of the device's fieldd.conf (the last one wins there too).
conf_get() {
	[ -f "$D/fieldd.conf" ] || return 0
	sed -n "s/#.*//; s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" \
	    "$D/fieldd.conf" | tail -n 1 | sed 's/[[:space:]]*$//'
}

# fieldd: FIELD_PORT on 127.0.0.1 through --listen, which fieldd takes
# over its fieldd.conf; else listen in fieldd.conf, else 127.0.0.1:8080.
conf_listen=$(conf_get listen)
if [ -n "${FIELD_PORT:-}" ]; then
	FADDR=127.0.0.1
	FPORT=$FIELD_PORT
	set -- --listen "127.0.0.1:$FPORT"
	[ -z "$conf_listen" ] ||
		say "FIELD_PORT=$FPORT: fieldd listens on 127.0.0.1:$FPORT," \
		    "not on listen = $conf_listen of $D/fieldd.conf"
elif [ -n "$conf_listen" ]; then
	FADDR=${conf_listen%:*}
	FPORT=${conf_listen##*:}
	set --
	say "fieldd listens on $conf_listen (listen in $D/fieldd.conf;" \
	    "FIELD_PORT=PORT would put it on 127.0.0.1:PORT instead)"
else
	FADDR=127.0.0.1
	FPORT=8080
	set -- --listen "127.0.0.1:$FPORT"
fi
# The address to reach fieldd at from this machine.
case $FADDR in
0.0.0.0 | '[::]' | '') FHOST=127.0.0.1 ;;
*) FHOST=$FADDR ;;
esac
FURL="http://$FHOST:$FPORT"

if [ "$FPORT" = "$CPORT" ] || [ "$FPORT" = "$HPORT" ] ||
    [ "$CPORT" = "$HPORT" ]; then
	die "fieldd's port $FPORT, collectord's $CPORT (COLLECTOR_PORT) and" \
	    "the coordinators' $HPORT (COORD_PORT) must differ"
fi

# A process of a pid file: alive (not a zombie) and running our program,
# not a later process that got the same pid.
ours() {
	kill -0 "$2" 2>/dev/null || return 1
	state=$(sed 's/.*) //' "/proc/$2/stat" 2>/dev/null | cut -c1)
	[ -n "$state" ] && [ "$state" != Z ] || return 1
	cmd=$(tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null) || return 1
	case $1 in
	run | analyse) want=run.sh ;; # the loop is a subshell of this script
	*) want=$1 ;;
	esac
	case $cmd in *"$want"*) return 0 ;; esac
	return 1
}

if [ -f "$PIDF" ]; then
	running="" runpid=""
	while read -r name pid; do
		if [ -n "$pid" ] && ours "$name" "$pid"; then
			running="$running $name $pid,"
			[ "$name" = run ] && runpid=$pid
		fi
	done <"$PIDF"
	if [ -n "$running" ]; then
		running=${running%,}
		if [ -n "$runpid" ]; then
			how="Ctrl-C in its terminal or kill $runpid stops it"
		else
			how="its run.sh is gone: kill them"
		fi
		die "already running in $VAR:$running ($PIDF); $how"
	fi
	# From a run that was killed before it could clean up.
	rm -f "$PIDF"
fi

# The ports, before anything starts: bound as the daemons bind them
# (libuv sets SO_REUSEADDR, so a TIME_WAIT of a run that just ended is
# no conflict).  Only "in use" counts here; any other error is left to
# the daemon to report.
port_busy() {
	python3 - "$1" "$2" <<'EOF'
import errno, socket, sys
host, port = sys.argv[1].strip("[]"), int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((host, port))
except OSError as e:
    sys.exit(0 if e.errno == errno.EADDRINUSE else 1)
sys.exit(1)
EOF
}
busy=0
check_port() { # ADDR PORT WHAT VARIABLE
	if port_busy "$1" "$2"; then
		echo "run: port $2 is in use ($3); another make run?" \
		    "set $4=$(($2 + 1))" >&2
		busy=1
	fi
}
check_port 127.0.0.1 "$CPORT" "collectord's port for devices" \
    COLLECTOR_PORT
check_port 127.0.0.1 "$HPORT" "collectord's port for coordinators" \
    COORD_PORT
check_port "${FADDR:-0.0.0.0}" "$FPORT" "fieldd's port" FIELD_PORT
[ $busy = 0 ] || exit 1

mkdir -p "$VAR"
chmod 700 "$VAR"

# Made with noclobber: of two runs starting at once, one gets it.
(set -C && echo "run $$" >"$PIDF") 2>/dev/null ||
	die "another make run is starting in $VAR ($PIDF)"

cpid="" apid="" fpid=""
alive() { # PID: running, not a zombie waiting for us to reap it
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$state" ] && [ "$state" != Z ]
}
# Stops what this run started and waits for it (at most 10 s, then
# SIGKILL).  $1 = grace: after a Ctrl-C fieldd and collectord got the
# terminal's SIGINT themselves and are stopping; a second signal would
# cut their shutdown short, so they get a moment first.
# shellcheck disable=SC2317 # called from the traps
stop_all() {
	trap - EXIT
	trap '' INT TERM # bounded below; a second Ctrl-C must not cut it
	[ -z "$apid" ] || kill "$apid" 2>/dev/null || true
	if [ "${1:-0}" = 1 ]; then
		i=0
		while [ "$i" -lt 20 ] && { alive "$fpid" || alive "$cpid"; }; do
			i=$((i + 1))
			sleep 0.1
		done
	fi
	for p in $fpid $cpid; do
		! alive "$p" || kill "$p" 2>/dev/null || true
	done
	i=0
	while [ "$i" -lt 100 ]; do
		left=""
		for p in $fpid $cpid $apid; do
			! alive "$p" || left="$left $p"
		done
		[ -n "$left" ] || break
		i=$((i + 1))
		sleep 0.1
	done
	# shellcheck disable=SC2086
	[ -z "$left" ] || kill -KILL $left 2>/dev/null || true
	wait 2>/dev/null || true
	[ "$(head -n 1 "$PIDF" 2>/dev/null)" != "run $$" ] || rm -f "$PIDF"
}
trap 'stop_all' EXIT
trap 'stop_all 1; exit 130' INT
trap 'stop_all; exit 143' TERM

if [ ! -f "$C/ca.key" ]; then
	if [ -f "$C/seal.key" ]; then
		die "$C holds a sealing key pair from an older make run" \
		    "but no collector; move it away first (records sealed to it" \
		    "open only with its seal.key)"
	fi
	"$B/collectctl" -d "$C" init --host 127.0.0.1 >/dev/null
	say "collector made in $C (seal.key opens records: keep it off" \
	    "boards, and off this machine where analysts work elsewhere)"
fi
if [ ! -f "$D/device.db" ]; then
	"$B/fieldctl" -d "$D" init --collector-key "$C/seal.pub" \
	    --device-id dev-local
	token=$("$B/fieldctl" -d "$D" user add enumerator-1 2>/dev/null)
	pin=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ' | cut -c1-6)
	while [ ${#pin} -lt 6 ]; do pin="0$pin"; done
	echo "$pin" | "$B/fieldctl" -d "$D" user pin enumerator-1
	say "first enumerator, enumerator-1: token and PIN (shown once," \
	    "stored hashed):"
	echo
	echo "    $token"
	echo "    PIN $pin"
	echo
	say "try  curl -H 'Authorization: Bearer $token' $FURL/api/forms"
else
	say "device in $D; make another enumerator token with" \
	    "$B/fieldctl -d $D user add NAME"
fi

if [ -z "$("$B/collectctl" -d "$C" coordinator list)" ]; then
	ctoken=$("$B/collectctl" -d "$C" coordinator add coordinator-1 \
	    2>/dev/null)
	say "first coordinator's token (shown once, stored hashed):"
	echo
	echo "    $ctoken"
	echo
fi

# Readiness of this collectord: its "listening on" line after the
# log's size now; older runs' lines above it do not count.
CLOG="$VAR/collectord.log"
touch "$CLOG"
from=$(($(wc -c <"$CLOG") + 1))
"$B/collectord" -d "$C" --listen "127.0.0.1:$CPORT" \
    --http "127.0.0.1:$HPORT" 2>>"$CLOG" &
cpid=$!
echo "collectord $cpid" >>"$PIDF"
# The loop's own children are started in the background and waited for,
# so that its SIGTERM trap runs at once and takes them along: a
# background subshell ignores SIGINT, and a `sleep` left to itself
# would outlive the run.
(
	trap - EXIT
	job=""
	trap '[ -z "$job" ] || kill "$job" 2>/dev/null; exit 0' TERM
	while :; do
		"$B/collectctl" -d "$C" analyse --key "$C/seal.key" \
		    >>"$VAR/analyse.log" 2>&1 &
		job=$!
		wait "$job" || true
		sleep 30 &
		job=$!
		wait "$job" || true
	done
) &
apid=$!
echo "analyse $apid" >>"$PIDF"

i=0
until tail -c "+$from" "$CLOG" |
    grep -q "listening on 127\.0\.0\.1:$CPORT\$"; do
	i=$((i + 1))
	if [ "$i" -gt 150 ] || ! alive "$cpid"; then
		echo "run: collectord did not start; the end of $CLOG:" >&2
		tail -c "+$from" "$CLOG" | tail -n 5 | sed 's/^/    /' >&2
		exit 1
	fi
	sleep 0.1
done
if [ ! -f "$D/tls/device.crt" ]; then
	token=$("$B/collectctl" -d "$C" enroll-token --device-id dev-local \
	    2>/dev/null | tail -n 1)
	"$B/fieldctl" -d "$D" enroll --collector "127.0.0.1:$CPORT" \
	    --token "$token"
else
	# Enrolled by an earlier run, maybe on another COLLECTOR_PORT: fieldd
	# has no option for its collector, so the local one's address is
	# kept up to date in fieldd.conf (the certificates do not name a
	# port).  A collector elsewhere is left alone.
	was=$(conf_get collector)
	case $was in
	"127.0.0.1:$CPORT") ;;
	127.0.0.1:*)
		"$B/fieldctl" -d "$D" config set collector \
		    "127.0.0.1:$CPORT" >/dev/null
		say "collector = 127.0.0.1:$CPORT in $D/fieldd.conf" \
		    "(was $was): COLLECTOR_PORT moved it"
		;;
	*) say "fieldd syncs to collector = ${was:-nothing} of" \
	    "$D/fieldd.conf, not to this collectord" ;;
	esac
fi

"$B/fieldd" -d "$D" "$@" &
fpid=$!
echo "fieldd $fpid" >>"$PIDF"
# Anything that answers on fieldd's port is fieldd: the port was free.
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
    "$FURL/api/health")" != 000 ]; do
	i=$((i + 1))
	if [ "$i" -gt 150 ] || ! alive "$fpid"; then
		echo "run: fieldd did not start (its log is above)" >&2
		exit 1
	fi
	sleep 0.1
done

say "collectord on 127.0.0.1:$CPORT (log $CLOG);" \
    "fieldd syncs its records to it"
say "coordinators' page http://127.0.0.1:$HPORT/ (their token);" \
    "counts of what arrived, analysed every 30 s (log $VAR/analyse.log)"
say "see  $B/collectctl -d $C devices,  $B/collectctl -d $C counts" \
    "--form mrc_visit --by reason  and" \
    " $B/collectctl -d $C open --key $C/seal.key"
say "the enumerators' web app: $FURL/ (name and PIN, or the token);" \
    "ODK Collect: server http://ADDRESS:$FPORT/ with the name and PIN" \
    "once fieldd listens on the LAN (listen = 0.0.0.0:$FPORT in" \
    "$D/fieldd.conf, and no FIELD_PORT)"
say "Ctrl-C stops fieldd, collectord and the analyse loop"

rc=0
wait "$fpid" || rc=$?
fpid=""
say "fieldd ended (status $rc); stopping collectord and the analyse loop"
exit "$rc"
