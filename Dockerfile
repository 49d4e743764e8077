FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Unprivileged runtime user; the code stays root-owned (read-only to it).
RUN groupadd --system routing \
 && useradd --system --gid routing --home-dir /app --no-create-home --shell /usr/sbin/nologin routing

WORKDIR /app

# Dependencies in their own layer: rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY alembic.ini gunicorn.conf.py wsgi.py ./
COPY routing/ routing/
COPY schemas/ schemas/
COPY migrations/ migrations/
COPY docker/ docker/

# instance/ holds the default SQLite database: the only place the app writes.
# chmod: don't depend on the exec bit surviving the build context.
RUN mkdir -p instance \
 && chown routing:routing instance \
 && chmod 0755 docker/entrypoint.sh

USER routing
EXPOSE 8000

# slim has no curl; urlopen raises (non-zero exit) on connection errors and HTTP >= 400.
# Default: web server and one booking worker in this container (docker/entrypoint.sh); `web` or
# `worker` as the command runs one role per container (compose, Kubernetes).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
