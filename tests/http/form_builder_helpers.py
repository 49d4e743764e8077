"""Helpers for form-builder webhook tests: the recorded payloads, the mappings, signatures and bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[2]
#: The builders' recorded payloads (their sources: README.md there).
SAMPLES = REPO / "tests" / "data" / "form_builders"
#: The documented example mappings (docs/form-builders.md) and the tests' own.
MAPPING_DIRS = (REPO / "docs" / "form-mappings", SAMPLES / "mappings")

TYPEFORM_SECRET = "3f1d9a8e6c2b47f0a5d4e3c2b1a09f8e7d6c5b4a"  # 40 hex characters, as Typeform's guide makes them
OTHER_TYPEFORM_SECRET = "0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c"
JOTFORM_TOKEN = "Jq8vXw2LrT5nYb7kMz3pHc6sFd9gAe4u"
GENERIC_TOKEN = "Gn4rTq8wVy2mKx6bLz9pJc3sHd7fAe5u"
WORDPRESS_TOKEN = "Wp5sLk9vQz3nTx7bMy2rHc8dFg4jAe6u"
#: The environment the mappings' secret_env names.
SECRETS = {
    "TYPEFORM_INTAKE_SECRET": TYPEFORM_SECRET,
    "TYPEFORM_EXAMPLE_SECRET": TYPEFORM_SECRET,
    "JOTFORM_INTAKE_TOKEN": JOTFORM_TOKEN,
    "JOTFORM_EXAMPLE_TOKEN": JOTFORM_TOKEN,
    "GENERIC_JSON_TOKEN": GENERIC_TOKEN,
    "WORDPRESS_FORM_TOKEN": WORDPRESS_TOKEN,
}


def mappings_folder(tmp_path: Path) -> Path:
    """A folder holding every mapping of the docs and the tests, as ROUTING_FORM_MAPPINGS names one."""
    folder = tmp_path / "form-mappings"
    folder.mkdir()
    for directory in MAPPING_DIRS:
        for path in directory.glob("*.toml"):
            shutil.copy(path, folder / path.name)
    return folder


def sample(name: str) -> bytes:
    """A recorded payload, byte for byte."""
    return (SAMPLES / name).read_bytes()


def typeform_signature(body: bytes, secret: str = TYPEFORM_SECRET) -> str:
    """``Typeform-Signature`` as Typeform's guide computes it: sha256= and the base64 HMAC-SHA256 of the body."""
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def typeform_headers(body: bytes, secret: str = TYPEFORM_SECRET) -> dict[str, str]:
    """The headers Typeform sends with ``body``."""
    return {"Content-Type": "application/json", "Typeform-Signature": typeform_signature(body, secret)}


def multipart(fields: dict[str, str], boundary: str = "------------------------jotform0001") -> tuple[bytes, str]:
    """``fields`` as a multipart/form-data body (as Jotform posts them) and its Content-Type."""
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    return body, f"multipart/form-data; boundary={boundary}"


def jotform_fields(name: str) -> dict[str, str]:
    """A recorded Jotform delivery's form fields."""
    return json.loads(sample(name))


def urlencoded(pairs: list[tuple[str, str]]) -> bytes:
    """Form fields (repeated names allowed) urlencoded."""
    return urlencode(pairs).encode()
