"""Strict JSON bodies for every endpoint: a body that is not JSON is a 400 problem, never a 500."""

from __future__ import annotations

import json
from typing import Any

from routing.http.problems import Problem


def load_json(raw: bytes) -> Any:
    """``raw`` parsed as strict JSON (no NaN or Infinity); a 400 problem saying what is wrong otherwise."""
    try:
        # NaN and Infinity are not JSON (and the database refuses them): refuse them as JSON parsers should.
        return json.loads(raw, parse_constant=_not_json, parse_float=_finite_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = f" at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        raise Problem(400, f"The body is not valid JSON{where}.", slug="malformed-body") from None
    except RecursionError:  # nested past Python's recursion limit: no form or event is shaped like that
        raise Problem(400, "The JSON body is nested too deeply.", slug="malformed-body") from None
    except ValueError as error:  # NaN/Infinity, 1e999, or an integer of thousands of digits
        raise Problem(400, f"The body is not valid JSON: {error}.", slug="malformed-body") from None


def _not_json(constant: str) -> float:
    raise ValueError(f"{constant} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is too large a number")
    return value
