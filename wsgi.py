"""WSGI entry point: the only module that builds an application at import time.

Serve with ``gunicorn wsgi:app``; use the CLI with ``flask --app wsgi ...``.
"""

from routing import create_app
from routing.cli import quiet_when_run_from_cli

with quiet_when_run_from_cli():
    app = create_app()
