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

start_bench_postgres
python bench/rulebook_replay.py "$@"
