#!/usr/bin/env bash
# A year of a 5-site practice against day one, on a throwaway, durable PostgreSQL (installs wrk from Debian's
# packages when run as root). Arguments go to bench/scale_year.py, e.g. --inquiries 100000 --seconds 10 --explain,
# or --fast.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
# shellcheck source=scripts/_common.sh
source scripts/_common.sh
# shellcheck source=scripts/_postgres.sh
source scripts/_postgres.sh

ensure_venv dev
export PATH="$VENV/bin:$PATH"
command -v wrk >/dev/null || apt_install wrk || die "wrk is needed: apt-get install wrk"

start_bench_postgres
python bench/scale_year.py "$@"
