#!/usr/bin/env bash
# The one command that sets up and runs the service locally on the embedded defaults
# (SQLite under instance/ unless DATABASE_URL is set; embedded scheduler with demo slots).
# HOST and PORT choose the bind address (default 127.0.0.1:8000); GUNICORN_WORKERS the web processes
# (default 2). Runs the web server (gunicorn, settings in gunicorn.conf.py) and one booking worker;
# if either stops, the other is stopped too and the script exits non-zero. Ctrl-C stops both.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
# shellcheck source=scripts/_common.sh
source scripts/_common.sh

ensure_venv runtime
export PATH="$VENV/bin:$PATH"

HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
export GUNICORN_WORKERS=${GUNICORN_WORKERS:-2}

# 0.0.0.0 / [::] are bind addresses, not something to open in a browser.
case $HOST in
  0.0.0.0 | '[::]') url_host=127.0.0.1 ;;
  *) url_host=$HOST ;;
esac
base_url="http://$url_host:$PORT"

# Say so plainly, before migrating anything, rather than let gunicorn retry and fail.
if ! python - "$HOST" "$PORT" <<'PY'
import socket, sys
host, port = sys.argv[1].strip("[]"), int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
with socket.socket(family) as sock:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does: TIME_WAIT is no conflict
    try:
        sock.bind((host, port))
    except OSError:
        sys.exit(1)
PY
then
  die "port $PORT on $HOST is already in use (another server running?); choose another with PORT=..."
fi

# The console's session cookie must be signed with one key by both workers; on this machine a key made
# for this run will do (sessions end when it stops). Plain HTTP on loopback: no Secure-only cookie.
if [[ -z ${ROUTING_SECRET_KEY:-} ]]; then
  ROUTING_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')
  export ROUTING_SECRET_KEY
fi
case $HOST in
  127.* | localhost | '[::1]') export ROUTING_COOKIE_SECURE=${ROUTING_COOKIE_SECURE:-off} ;;
esac

mkdir -p instance
log "applying database migrations"
flask --app wsgi db upgrade
log "seeding demo schedule (idempotent; ROUTING_DEMO_SLOTS=off to skip)"
flask --app wsgi schedule seed --days 7 --if-demo-slots

# Every process of this run (web workers and the booking worker) writes its metrics here, so /metrics
# adds them all up; fresh for each run, so counters start at zero with the processes.
PROMETHEUS_MULTIPROC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/routing-metrics.XXXXXX")
export PROMETHEUS_MULTIPROC_DIR

web='' worker=''
# shellcheck disable=SC2317  # (runs from the EXIT trap)
stop_all() {
  local pid
  for pid in $web $worker; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $web $worker; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$PROMETHEUS_MULTIPROC_DIR"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Each in a session of its own (when setsid is there): Ctrl-C reaches only this script, which then stops
# both with SIGTERM, the graceful stop (gunicorn's quick stop on SIGINT prints gevent tracebacks).
own_session=()
command -v setsid >/dev/null && own_session=(setsid)
"${own_session[@]}" gunicorn -c gunicorn.conf.py --bind "$HOST:$PORT" wsgi:app &
web=$!
# Books inquiries left pending (scheduler down, a web worker killed mid-request) with no one watching.
"${own_session[@]}" flask --app wsgi worker &
worker=$!

log "waiting for $base_url/healthz"
for _ in $(seq 1 300); do
  if ! kill -0 "$web" 2>/dev/null; then
    die "gunicorn stopped before answering (see its messages above)"
  fi
  if python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
      "$base_url/healthz" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$base_url/healthz" \
  2>/dev/null || die "$base_url/healthz did not answer within a minute"

echo
echo "routing is running at $base_url (API docs: $base_url/docs)"
echo "staff console: $base_url/console (token: .venv/bin/flask --app wsgi staff create \"Your Name\")"
echo "booking worker running; press Ctrl-C to stop"
echo

# Whichever stops first, the other follows (the EXIT trap) and the script fails: a web server without
# its worker (or a worker without a web server) is not the service.
# Polled rather than `wait -n`: bash's `wait -n` misses a job that ended before it was called (a
# worker killed the moment the service came up), and would then wait forever.
while kill -0 "$web" 2>/dev/null && kill -0 "$worker" 2>/dev/null; do
  sleep 1
done
status=0
if kill -0 "$web" 2>/dev/null; then
  wait "$worker" || status=$?
  log "the booking worker stopped (exit $status); stopping the web server"
else
  wait "$web" || status=$?
  log "the web server stopped (exit $status); stopping the booking worker"
fi
exit $((status == 0 ? 1 : status))
