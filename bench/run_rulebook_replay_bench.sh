#!/usr/bin/env bash
# Impact preview benchmark on a throwaway, durable PostgreSQL (installs wrk from Debian's packages when run as root).
# Arguments go to bench/rulebook_replay.py, e.g. --inquiries 100000 --seconds 20, or --fast.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
# shellcheck source=scripts/_common.sh
source scripts/_common.sh
# shellcheck source=scripts/_postgres.sh
source scripts/_postgres.sh

ensure_venv dev
export PATH="$VENV/bin:$PATH"
command -v wrk >/dev/null || apt_install wrk || log "wrk not installed: the intake comparison is skipped"

trap 'stop_postgres' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Durable, as production runs it (fsync and synchronous_commit on): intake's commits pay for the flush.
PG_DURABLE=1 start_postgres
as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atc "SHOW fsync; SHOW synchronous_commit" \
  | paste -sd ' ' | sed 's/^/==> PostgreSQL fsync, synchronous_commit: /'
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres routing_bench
export BENCH_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/routing_bench"
python bench/rulebook_replay.py "$@"
