#!/bin/sh
# Container entrypoint: bring the database schema to head, seed demo slots (embedded scheduler only,
# unless ROUTING_DEMO_SLOTS=off), then run the web server and a booking worker side by side.
# Arguments replace that (after migrating), e.g. one role per container in compose or Kubernetes:
#   docker run IMAGE web        # gunicorn only (settings: gunicorn.conf.py; GUNICORN_WORKERS)
#   docker run IMAGE worker     # one booking worker only
#   docker run IMAGE flask --app wsgi staff create "Dr Lee"
set -eu

# Every process of this container writes its metrics here (tmpfs), so /metrics adds them all up.
# Emptied after the set-up commands, so counters begin at zero with the long-running processes.
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/dev/shm/routing-metrics}"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

flask --app wsgi db upgrade
flask --app wsgi schedule seed --days 7 --if-demo-slots

rm -rf "$PROMETHEUS_MULTIPROC_DIR"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

# Every worker must sign the console's cookie with the same key: set ROUTING_SECRET_KEY (from the
# orchestrator's secret store). Without it, one is made for this container, and sessions end with it.
if [ -z "${ROUTING_SECRET_KEY:-}" ]; then
    echo "warning: ROUTING_SECRET_KEY is not set; console sessions will not survive a restart" >&2
    ROUTING_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')
    export ROUTING_SECRET_KEY
fi


web() {
    # Settings in gunicorn.conf.py (WORKDIR /app) (gevent workers, 2 x CPUs + 1 unless GUNICORN_WORKERS).
    exec gunicorn -c gunicorn.conf.py --bind 0.0.0.0:8000 wsgi:app
}

case "${1:-both}" in
    web) web ;;
    worker) exec flask --app wsgi worker ;;
    both) ;;
    *) exec "$@" ;;
esac

# Both in one container: if either stops, stop the other and exit non-zero, so the orchestrator
# restarts the container rather than leave half the service running.
gunicorn -c gunicorn.conf.py --bind 0.0.0.0:8000 wsgi:app &
web_pid=$!
flask --app wsgi worker &
worker_pid=$!
# shellcheck disable=SC2317,SC2329  # (runs from the traps)
stop_both() {
    kill -TERM "$web_pid" "$worker_pid" 2>/dev/null || true
    wait "$web_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
}
trap 'stop_both; exit 143' TERM
trap 'stop_both; exit 130' INT

# POSIX sh has no `wait -n`: poll the two children.
while kill -0 "$web_pid" 2>/dev/null && kill -0 "$worker_pid" 2>/dev/null; do
    sleep 1
done
if kill -0 "$web_pid" 2>/dev/null; then
    echo "error: the booking worker stopped; stopping the web server" >&2
else
    echo "error: the web server stopped; stopping the booking worker" >&2
fi
stop_both
exit 1
