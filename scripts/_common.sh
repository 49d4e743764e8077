# shellcheck shell=bash
# Shared helpers for scripts/test.sh and scripts/serve.sh. Sourced, not run.
# Expects to be sourced from the repo root (both scripts cd there first).

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
is_root() { [[ $(id -u) -eq 0 ]]; }

VENV=$PWD/.venv
export PIP_DISABLE_PIP_VERSION_CHECK=1

# apt_install PKG...: only possible as root on Debian/Ubuntu; returns 1 otherwise.
# `apt-get update` runs once per script run (a fresh machine has no package lists).
_apt_updated=
apt_install() {
  is_root && command -v apt-get >/dev/null || return 1
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z $_apt_updated ]]; then
    log "apt-get update"
    apt-get update -qq >/dev/null
    _apt_updated=1
  fi
  log "apt-get install $*"
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Prints the path of a Python >= 3.11: $PYTHON if set, else python3.11, else python3.
find_python() {
  local cand
  for cand in "${PYTHON:-}" python3.11 python3; do
    if [[ -n $cand ]] && command -v "$cand" >/dev/null &&
        "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$cand"
      return 0
    fi
  done
  return 1
}

# sha256 over the concatenated contents of the given files.
req_hash() {
  "$VENV/bin/python" -c '
import hashlib, sys
h = hashlib.sha256()
for name in sys.argv[1:]:
    with open(name, "rb") as f:
        h.update(f.read())
print(h.hexdigest())' "$@"
}

# ensure_venv dev|runtime
# Creates .venv if needed and installs requirements-dev.txt (dev) or requirements.txt
# (runtime). A stamp file in .venv records the hash of the requirement files that were
# installed, so re-runs skip pip. A dev install also covers runtime (requirements-dev.txt
# includes requirements.txt), so it writes the runtime stamp as well; a runtime install
# leaves the dev stamp alone, which stays valid as long as requirements.txt is unchanged
# (the dev hash covers both files).
ensure_venv() {
  local kind=$1 py out ver want stamp
  local -a files
  case $kind in
    dev) files=(requirements.txt requirements-dev.txt) ;;
    runtime) files=(requirements.txt) ;;
    *) die "ensure_venv: unknown kind '$kind'" ;;
  esac

  # Recreate a venv that is missing, half-created, or whose interpreter is gone/too old.
  if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    py=$(find_python) || die "Python 3.11+ not found (tried \$PYTHON, python3.11, python3); install python3.11"
    rm -rf "$VENV"
    log "creating .venv with $py"
    if ! out=$("$py" -m venv "$VENV" 2>&1); then
      # Debian's python3.X lacks ensurepip until python3.X-venv is installed.
      rm -rf "$VENV"
      ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
      apt_install "python$ver-venv" \
        || die "could not create .venv with $py (install python$ver-venv, or run as root):"$'\n'"$out"
      "$py" -m venv "$VENV"
    fi
  fi

  want=$(req_hash "${files[@]}")
  stamp=$VENV/.routing-$kind.sha256
  if [[ -f $stamp && $(<"$stamp") == "$want" ]]; then
    return 0
  fi
  log "installing ${files[-1]} into .venv"
  rm -f "$stamp"
  "$VENV/bin/python" -m pip install -q -r "${files[-1]}"
  printf '%s\n' "$want" >"$stamp"
  if [[ $kind == dev ]]; then
    req_hash requirements.txt >"$VENV/.routing-runtime.sha256"
  fi
}
