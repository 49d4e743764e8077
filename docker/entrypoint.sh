#!/bin/sh
# Container entrypoint: bring the database schema to head, then serve.
# Any arguments replace the server command (after migrating), e.g.
#   docker run IMAGE flask --app wsgi schedule seed --days 7
set -eu

flask --app wsgi db upgrade

if [ "$#" -gt 0 ]; then
    exec "$@"
fi

# Every worker must sign the console's cookie with the same key: set ROUTING_SECRET_KEY (from the
# orchestrator's secret store). Without it, one is made for this container, and sessions end with it.
if [ -z "${ROUTING_SECRET_KEY:-}" ]; then
    echo "warning: ROUTING_SECRET_KEY is not set; console sessions will not survive a restart" >&2
    ROUTING_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')
    export ROUTING_SECRET_KEY
fi

# gunicorn's usual default of 2 x cores + 1, counting the CPUs this container may use.
cores=$(nproc 2>/dev/null || echo 1)
workers=${GUNICORN_WORKERS:-$((2 * cores + 1))}

# --worker-tmp-dir: heartbeat files on tmpfs, not the (possibly slow) overlay filesystem.
# --no-control-socket: gunicorn >= 25 would try to create ~/.gunicorn, and the routing
# user has no writable home. No --access-logfile: gunicorn's access line carries the raw query string
# and referer (patient data can ride in them); the app logs one JSON line per request instead.
exec gunicorn \
    --bind 0.0.0.0:8000 \
    --workers "$workers" \
    --worker-tmp-dir /dev/shm \
    --no-control-socket \
    wsgi:app
