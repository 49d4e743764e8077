"""WSGI entry point: the only module that builds an application at import time.

Serve with ``gunicorn wsgi:app``; use the CLI with ``flask --app wsgi ...``.
"""

from routing import create_app

app = create_app()
