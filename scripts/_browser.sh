# shellcheck shell=bash
# The browser tests' dependency: Debian's chromium (tests/browser drives it with Playwright; Playwright's
# own browser downloads are never used). Sourced after _common.sh (needs log, is_root, apt_install),
# from the repo root; not run. The playwright Python package comes from requirements-dev.txt.

CHROMIUM_BIN=/usr/bin/chromium

# ensure_chromium: installs Debian's chromium when /usr/bin/chromium is missing and we are root;
# otherwise leaves it missing (the browser tests then skip, or fail under CI=true).
ensure_chromium() {
  if [[ -x $CHROMIUM_BIN ]]; then
    return 0
  fi
  if apt_install chromium && [[ -x $CHROMIUM_BIN ]]; then
    log "installed $("$CHROMIUM_BIN" --version 2>/dev/null || echo chromium)"
    return 0
  fi
  if is_root; then
    log "apt-get install chromium failed: the browser tests will skip (and fail under CI=true)"
  else
    log "$CHROMIUM_BIN not found and cannot install chromium (not root): the browser tests will skip"
  fi
  return 0
}

BROWSER_TESTS_DIR=$PWD/tests/browser

# ensure_axe_core: tests/browser/node_modules/axe-core from the committed package-lock.json (npm ci), which
# the browser tests inject into every console page. Needs npm (ensure_fhir_server_deps installs it);
# without it the accessibility tests skip, or fail under CI=true.
ensure_axe_core() {
  if [[ -f $BROWSER_TESTS_DIR/node_modules/.package-lock.json ]]; then
    return 0
  fi
  if ! command -v npm >/dev/null; then
    log "npm not found: the accessibility (axe-core) browser tests will skip"
    return 0
  fi
  log "npm ci in tests/browser (axe-core)"
  (cd "$BROWSER_TESTS_DIR" && npm ci --no-audit --no-fund --loglevel=error) \
    || die "npm ci in tests/browser failed"
}
