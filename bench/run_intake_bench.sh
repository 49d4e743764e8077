#!/usr/bin/env bash
# Intake benchmark on a throwaway PostgreSQL (installs wrk from Debian's packages when run as root).
# Arguments go to bench/intake_bench.py, e.g. --seconds 20.
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
python bench/intake_bench.py "$@"
