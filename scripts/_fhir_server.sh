# shellcheck shell=bash
# The test FHIR server's dependencies (tests/fhir_server: Medplum's FHIR router on Node.js).
# Sourced after _common.sh (needs log, die, is_root, apt_install), from the repo root; not run.
# The server itself is started and stopped by the pytest fixture in tests/scheduling/conftest.py.

FHIR_SERVER_DIR=$PWD/tests/fhir_server

# ensure_fhir_server_deps: node and npm on PATH, and tests/fhir_server/node_modules installed from the
# committed package-lock.json. Installs Debian's nodejs and npm when node is missing and we are root;
# otherwise leaves node missing (the FHIR tests then skip, or fail under CI=true).
ensure_fhir_server_deps() {
  if ! command -v node >/dev/null; then
    apt_install nodejs npm || {
      log "node not found and cannot install it (not root?): the FHIR scheduler tests will skip"
      return 0
    }
  fi
  command -v npm >/dev/null || apt_install npm || die "node is installed but npm is not; install npm"
  # npm writes node_modules/.package-lock.json last: without it the install is missing or incomplete.
  if [[ ! -f $FHIR_SERVER_DIR/node_modules/.package-lock.json ]]; then
    log "npm ci in tests/fhir_server (node $(node --version))"
    (cd "$FHIR_SERVER_DIR" && npm ci --no-audit --no-fund --loglevel=error) \
      || die "npm ci in tests/fhir_server failed"
  fi
}
