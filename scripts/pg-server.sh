#!/usr/bin/env bash
# A throwaway PostgreSQL 16 server with pgvector on a loopback port, for the PostgreSQL store's tests and
# benchmarks. The server comes from PyPI's pgserver wheel (PostgreSQL 16.2 with the `vector` extension 0.6.2),
# unpacked once: under .build/pgserver, or, run as root, under /var/tmp/embed-pgserver-0.1.4, where the user
# nobody that runs the server can reach it (a checkout may sit in a folder only root can enter).
#
#   scripts/pg-server.sh start DIR [--watch PID]
#       makes a cluster in DIR (a new or empty folder), starts it on a free port of 127.0.0.1, and prints its
#       URL, postgres://embed@127.0.0.1:PORT/embed. The password of the superuser `embed` is in DIR/password
#       (host connections need it: give it as PGPASSWORD); DIR/bin names the folder of its programs (psql...).
#       With --watch, the server stops when process PID ends.
#   scripts/pg-server.sh stop DIR
#   scripts/pg-server.sh restart DIR [SECONDS]
#       stops the server at once (as a crash or a failover would: connections are cut), waits SECONDS (default
#       1), and starts it again on the same port.
#
# PostgreSQL refuses to run as root: when run as root, the cluster belongs to the user nobody (setpriv).
set -euo pipefail
# Descriptors inherited from the caller (a test process's listening sockets and connections) must not live on in
# the server and its watcher, where they would keep those ports bound after the caller closes them.
for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
done
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${EMBED_PGSERVER_DIR:-}" ]; then
    install=$EMBED_PGSERVER_DIR
elif [ "$(id -u)" -eq 0 ]; then
    install=/var/tmp/embed-pgserver-0.1.4
else
    install="$repo/.build/pgserver"
fi
bin="$install/pgserver/pginstall/bin"

unpack() {
    [ -x "$bin/postgres" ] && return
    local download
    download=$(mktemp -d)
    mkdir -p "$(dirname "$install")"
    echo "Fetching PostgreSQL with pgvector (PyPI: pgserver 0.1.4)..." >&2
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 "pgserver==0.1.4" -d "$download" >&2
    rm -rf "$install.tmp" && mkdir -p "$install.tmp" && chmod 755 "$install.tmp"
    python3 -m zipfile -e "$download"/pgserver-*.whl "$install.tmp"
    chmod -R a+rX "$install.tmp"
    chmod a+x "$install.tmp"/pgserver/pginstall/bin/*
    rm -rf "$install" "$download"
    mv "$install.tmp" "$install"
}

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/ "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local dir=$1 watch=${2:-}
    unpack
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    echo "$bin" >"$dir/bin"
    as_owner test -x "$bin/postgres" || {
        echo "error: the user nobody cannot run $bin/postgres: set EMBED_PGSERVER_DIR to a folder it can reach" >&2
        exit 1
    }
    # The owner must reach its data folder: every folder above it must be searchable.
    chmod a+x "$dir"
    as_owner test -x "$dir" || {
        echo "error: the user nobody cannot reach $dir: make the folders above it searchable (chmod a+x), or use one under /tmp" >&2
        exit 1
    }
    local data="$dir/data"
    local password
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    printf '%s\n' "$password" >"$dir/password"
    chmod 600 "$dir/password"
    mkdir -p "$data"
    printf '%s\n' "$password" >"$dir/pwfile"
    if [ "$(id -u)" -eq 0 ]; then chown 65534:65534 "$data" "$dir/pwfile"; fi
    chmod 700 "$data"
    as_owner "$bin/initdb" -D "$data" -U embed --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$dir/pwfile" -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/pwfile"
    local port
    port=$(free_port)
    echo "$port" >"$dir/port"
    as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
        -o "-p $port -h 127.0.0.1 -k $data -c max_connections=200" start >/dev/null ||
        { cat "$data/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h "$data" -p "$port" -U embed embed
    if [ -n "$watch" ]; then
        # Stops the server once the process that asked for it is gone, whatever way it ends.
        setsid bash -c "while kill -0 $watch 2>/dev/null; do sleep 1; done; '$0' stop '$dir'" >/dev/null 2>&1 </dev/null &
    fi
    echo "postgres://embed@127.0.0.1:$port/embed"
}

stop() {
    local dir=$1
    [ -d "$dir/data" ] || return 0
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

restart() {
    local dir=$1 pause=${2:-1}
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    sleep "$pause"
    local port
    port=$(cat "$dir/port")
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
        -o "-p $port -h 127.0.0.1 -k $dir/data -c max_connections=200" start >/dev/null ||
        { tail -20 "$dir/data/server.log" >&2; exit 1; }
}

case "${1:-}" in
start)
    [ $# -ge 2 ] || { echo "usage: $0 start DIR [--watch PID]" >&2; exit 2; }
    watch=""
    [ "${3:-}" = "--watch" ] && watch=${4:?--watch needs a PID}
    start "$2" "$watch"
    ;;
stop)
    [ $# -ge 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
    stop "$2"
    ;;
restart)
    [ $# -ge 2 ] || { echo "usage: $0 restart DIR [SECONDS]" >&2; exit 2; }
    restart "$2" "${3:-1}"
    ;;
*)
    echo "usage: $0 start DIR [--watch PID] | stop DIR | restart DIR [SECONDS]" >&2
    exit 2
    ;;
esac
