#!/usr/bin/env bash
# The waitlist month on a throwaway PostgreSQL: a month of a busy clinic with the waitlist and without.
# Arguments go to bench/waitlist_month.py, e.g. --seed 7 --load 1.5.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
# shellcheck source=scripts/_common.sh
source scripts/_common.sh
# shellcheck source=scripts/_postgres.sh
source scripts/_postgres.sh

ensure_venv runtime

start_bench_postgres  # durable: the wall time printed is then honest
# The bench creates (and drops) one database per run on this server.
"$VENV/bin/python" bench/waitlist_month.py --postgres "postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres" "$@"
