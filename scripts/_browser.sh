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
