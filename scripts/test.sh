#!/usr/bin/env bash
# The one command that sets up and runs the whole test suite on a fresh machine:
#   .venv with requirements-dev.txt -> ruff -> throwaway PostgreSQL -> pytest "$@".
# The PostgreSQL server lives in a temp dir and is always stopped and removed on exit.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
# shellcheck source=scripts/_common.sh
source scripts/_common.sh
# shellcheck source=scripts/_fhir_server.sh
source scripts/_fhir_server.sh
# shellcheck source=scripts/_browser.sh
source scripts/_browser.sh

ensure_venv dev
export PATH="$VENV/bin:$PATH"   # so tests that spawn `flask`/`python` get the venv's

log "ruff check"
ruff check .

# ---------------------------------------------------------------- PostgreSQL
# shellcheck source=scripts/_postgres.sh
source scripts/_postgres.sh

# Always clean up: normal exit, failure (set -e), Ctrl-C, kill. INT/TERM turn into an
# exit so that the EXIT trap does the work exactly once.
# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  stop_postgres
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_postgres
export TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
export ROUTING_REQUIRE_POSTGRES=1

# The FHIR scheduler tests run a real FHIR server (Node.js); pytest starts and stops it.
ensure_fhir_server_deps
# The staff console's end-to-end tests drive Debian's chromium (Playwright, no browser download).
ensure_chromium
ensure_axe_core

# ---------------------------------------------------------------- pytest
log "pytest $*"
rc=0
python -m pytest "$@" || rc=$?
if [[ $rc == 5 ]]; then
  # pytest's "no tests collected" must not pass as green.
  log "pytest collected no tests: failing"
fi
exit "$rc"
