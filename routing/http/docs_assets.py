"""Swagger UI's static files, served from the swagger-ui-bundle package (no CDN needed)."""

from __future__ import annotations

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs_assets", __name__)


@bp.get("/docs/assets/<path:filename>")
def asset(filename: str):
    """A Swagger UI asset (JavaScript, CSS, images)."""
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
