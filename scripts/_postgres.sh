# shellcheck shell=bash
# A throwaway PostgreSQL server for tests and benchmarks. Sourced after _common.sh, not run.
# start_postgres sets PG_PORT; stop_postgres removes the server and its data (call it from a trap).
PG_BIN='' PG_TMP='' PG_PORT=''

# Newest /usr/lib/postgresql/N/bin (Debian layout), else whatever initdb is on PATH.
find_pg_bin() {
  local d
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
    echo "$d"
  elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(command -v initdb)"
  else
    return 1
  fi
}

# Runs a command as the server's owner. initdb refuses to run as root, so as root we
# use the `postgres` user. Runs from inside PG_TMP because the postgres user may not be
# able to read the current directory (e.g. a clone under /root), which breaks initdb.
as_pg() {
  if is_root; then
    (cd "$PG_TMP" && runuser -u postgres -- "$@")
  else
    (cd "$PG_TMP" && "$@")
  fi
}

free_port() {
  python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_postgres() {
  local attempt

  if ! PG_BIN=$(find_pg_bin); then
    apt_install postgresql \
      || die "PostgreSQL server binaries (initdb, pg_ctl) not found. Install them (Debian: apt-get install postgresql) or run this script as root so it can."
    PG_BIN=$(find_pg_bin) || die "installed postgresql but still cannot find initdb/pg_ctl"
  fi

  if is_root && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi

  PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/routing-pg.XXXXXX")
  if is_root; then
    chown postgres: "$PG_TMP"
    # $TMPDIR may sit under a directory the postgres user cannot traverse; /tmp can.
    if ! as_pg test -w "$PG_TMP"; then
      rm -rf "$PG_TMP"
      PG_TMP=$(mktemp -d /tmp/routing-pg.XXXXXX)
      chown postgres: "$PG_TMP"
      as_pg test -w "$PG_TMP" || die "user postgres cannot write to $PG_TMP"
    fi
  fi

  log "starting throwaway PostgreSQL ($PG_BIN) in $PG_TMP"
  # --no-locale: don't depend on which locales the machine has generated.
  # --no-sync: the cluster is thrown away, no need to fsync it.
  if ! as_pg "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres --auth=trust \
      --encoding=UTF8 --no-locale --no-sync >"$PG_TMP/initdb.log" 2>&1; then
    cat "$PG_TMP/initdb.log" >&2
    die "initdb failed"
  fi

  # Loopback only, socket in the temp dir (not /var/run/postgresql).
  cat >>"$PG_TMP/data/postgresql.conf" <<CONF

# added by scripts/_postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_TMP'
max_connections = 100
CONF
  # Tests throw the cluster away: durability off for speed. A benchmark claim must pay for the disk
  # flush as production does, so benches set PG_DURABLE=1 and keep PostgreSQL's durable defaults.
  if [[ ${PG_DURABLE:-0} != 1 ]]; then
    printf '%s\n' 'fsync = off' 'synchronous_commit = off' 'full_page_writes = off' >>"$PG_TMP/data/postgresql.conf"
  fi

  # The port is picked free and then bound by the server, so a rare race is possible: retry.
  for attempt in 1 2 3; do
    PG_PORT=$(free_port)
    if as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" \
        -o "-p $PG_PORT" -w -t 60 start >/dev/null; then
      break
    fi
    [[ $attempt == 3 ]] && { tail -n 30 "$PG_TMP/server.log" >&2 || true; die "PostgreSQL did not start"; }
    log "PostgreSQL did not start on port $PG_PORT, retrying"
  done

  # pg_ctl -w checked the unix socket; make sure TCP (what the tests use) answers too.
  if [[ -x $PG_BIN/pg_isready ]]; then
    for attempt in $(seq 1 50); do
      "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres && break
      [[ $attempt == 50 ]] && die "PostgreSQL is not accepting TCP connections on 127.0.0.1:$PG_PORT"
      sleep 0.2
    done
  fi
  log "PostgreSQL is up on 127.0.0.1:$PG_PORT"
}

# shellcheck disable=SC2317  # (stop_postgres and cleanup run from traps)
stop_postgres() {
  [[ -n $PG_TMP ]] || return 0
  local pidfile=$PG_TMP/data/postmaster.pid pid
  # Interrupted right after `pg_ctl start` launched the server? Give it a moment to
  # write its pid file so it can be stopped rather than orphaned.
  if [[ -n $PG_PORT && ! -f $pidfile ]]; then
    for _ in $(seq 1 20); do
      [[ -f $pidfile ]] && break
      sleep 0.1
    done
  fi
  if [[ -f $pidfile ]]; then
    pid=$(head -n 1 "$pidfile")
    # Immediate mode: the data is thrown away, no need for a clean checkpoint.
    as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
      || kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -rf "$PG_TMP"
  PG_TMP=''
}


# A throwaway PostgreSQL for a benchmark, durable as production runs it (fsync and synchronous_commit on: a
# commit pays for the flush), stopped when the script exits; says so, and creates the database routing_bench,
# exported as BENCH_DATABASE_URL.
start_bench_postgres() {
  trap 'stop_postgres' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  PG_DURABLE=1 start_postgres
  as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atc "SHOW fsync; SHOW synchronous_commit" \
    | paste -sd ' ' | sed 's/^/==> PostgreSQL fsync, synchronous_commit: /'
  as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres routing_bench
  export BENCH_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/routing_bench"
}
