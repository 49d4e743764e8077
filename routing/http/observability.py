"""Request ids, JSON logs without patient data, and Prometheus metrics (issue 7; being built)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Attach request ids, JSON request logs and the /metrics endpoint to ``app``."""
