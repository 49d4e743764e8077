#!/usr/bin/env bash
# The one command that sets up and runs the service locally on the embedded defaults
# (SQLite under instance/ unless DATABASE_URL is set; embedded scheduler with demo slots).
# HOST and PORT choose the bind address (default 127.0.0.1:8000).
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
# shellcheck source=scripts/_common.sh
source scripts/_common.sh

ensure_venv runtime
export PATH="$VENV/bin:$PATH"

HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}

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
log "seeding demo schedule (idempotent)"
flask --app wsgi schedule seed --days 7

# 0.0.0.0 / [::] are bind addresses, not something to open in a browser.
case $HOST in
  0.0.0.0 | '[::]') url_host=127.0.0.1 ;;
  *) url_host=$HOST ;;
esac
echo
echo "routing is running at http://$url_host:$PORT (API docs: http://$url_host:$PORT/docs)"
echo "staff console: http://$url_host:$PORT/console (token: .venv/bin/flask --app wsgi staff create \"Your Name\")"
echo "press Ctrl-C to stop"
echo

# --no-control-socket: gunicorn >= 25 otherwise puts a control socket in ~/.gunicorn,
# shared by every instance run by the same user.
# No gunicorn access log: the app writes one JSON line per request, without query strings.
exec gunicorn --bind "$HOST:$PORT" --workers 2 --no-control-socket wsgi:app
