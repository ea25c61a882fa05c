#!/bin/sh
# tools/pg.sh: a private, throwaway PostgreSQL 15 cluster for the tests
# and benchmarks of the collector's PostgreSQL store.
#
#   sh tools/pg.sh start DIR          creates the cluster in DIR/data when
#                                     absent, starts it, prints its base URL
#                                     postgresql://postgres@127.0.0.1:PORT
#   sh tools/pg.sh stop DIR           stops it (DIR stays; rm -rf it after)
#   sh tools/pg.sh url DIR            the base URL of a started cluster
#   sh tools/pg.sh createdb DIR NAME  a new database; prints its URL
#   sh tools/pg.sh psql DIR [ARGS]    psql on the cluster (database
#                                     postgres unless ARGS say -d)
#
# The cluster listens on 127.0.0.1 only, on a port free when it is first
# made (kept in DIR/port), with no Unix socket.  Authentication is
# `trust` for 127.0.0.1 and nothing else: anyone on this machine may use
# it as any role.  That is only acceptable because it is a throwaway test
# cluster holding test data; never point a real collector at one.  fsync
# and synchronous_commit stay on (the benchmarks measure durable commits);
# only initdb skips its own final fsync of the new files.
#
# The server refuses to run as root: as root it runs as the `postgres`
# system user (runuser), and DIR is given to that user.  Installs the
# project's packages (tools/deps.sh) when the binaries are missing (the
# package may start its own `main` cluster on 5432, which this one does
# not touch).
set -eu

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

usage() {
	echo "usage: pg.sh start|stop|url DIR | createdb DIR NAME | psql DIR [ARGS]" >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2
case $dir in
/*) ;;
*) dir=$(pwd)/$dir ;;
esac
data=$dir/data

install_pg() {
	[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/psql" ] && return 0
	# tools/deps.sh installs postgresql with the rest of what the
	# project needs.
	sh "$(dirname "$0")/deps.sh"
	[ -x "$PGBIN/initdb" ] || {
		echo "pg.sh: no $PGBIN/initdb after installing postgresql" >&2
		exit 1
	}
}

# as_pg CMD...: runs a server-side command as the cluster's owner.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port() {
	[ -f "$dir/port" ] || {
		echo "pg.sh: no cluster in $dir" >&2
		exit 1
	}
	cat "$dir/port"
}

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

running() {
	[ -f "$data/postmaster.pid" ] &&
		as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1
}

psql_() {
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(port)" \
	    -U postgres "$@"
}

case $cmd in
start)
	install_pg
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir"
		if ! runuser -u postgres -- test -w "$dir"; then
			echo "pg.sh: $dir is not reachable by the postgres user" \
			    "(a parent folder closed to others?)" >&2
			exit 1
		fi
	fi
	if [ ! -f "$data/PG_VERSION" ]; then
		rm -rf "$data"
		free_port >"$dir/port"
		as_pg "$PGBIN/initdb" -D "$data" -U postgres -A trust -E UTF8 \
		    --locale=C.UTF-8 --no-sync --no-instructions \
		    >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			exit 1
		}
		# Throwaway test cluster: trust, on loopback TCP only.
		echo "host all all 127.0.0.1/32 trust" >"$dir/pg_hba.conf"
		as_pg cp "$dir/pg_hba.conf" "$data/pg_hba.conf"
		rm -f "$dir/pg_hba.conf"
		cat >"$dir/extra.conf" <<-EOF
		listen_addresses = '127.0.0.1'
		port = $(cat "$dir/port")
		unix_socket_directories = ''
		max_connections = 300
		fsync = on
		synchronous_commit = on
		full_page_writes = on
		logging_collector = off
		log_min_messages = warning
		EOF
		as_pg sh -c "cat '$dir/extra.conf' >>'$data/postgresql.conf'"
		rm -f "$dir/extra.conf"
	fi
	if ! running; then
		# A port taken since the cluster was made: take another.
		tries=0
		until as_pg "$PGBIN/pg_ctl" -D "$data" -l "$dir/server.log" \
		    -w -t 60 -o "-p $(cat "$dir/port")" start >/dev/null 2>&1; do
			tries=$((tries + 1))
			if [ $tries -ge 3 ]; then
				echo "pg.sh: the server did not start:" >&2
				tail -n 20 "$dir/server.log" >&2
				exit 1
			fi
			free_port >"$dir/port"
		done
	fi
	echo "postgresql://postgres@127.0.0.1:$(port)"
	;;
stop)
	if running; then
		as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
	fi
	;;
url)
	running || {
		echo "pg.sh: the cluster in $dir is not running" >&2
		exit 1
	}
	echo "postgresql://postgres@127.0.0.1:$(port)"
	;;
createdb)
	[ $# -eq 1 ] || usage
	psql_ -d postgres -c "CREATE DATABASE \"$1\""
	echo "postgresql://postgres@127.0.0.1:$(port)/$1"
	;;
psql)
	case " $* " in
	*" -d "*) psql_ "$@" ;;
	*) psql_ -d postgres "$@" ;;
	esac
	;;
*)
	usage
	;;
esac
