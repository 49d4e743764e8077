"""One JSON object per log line, built so that patient data cannot reach the log.

The service handles health data, so the formatter does not trust what it is given:

* **Arguments** (``record.args``) are interpolated only for our own loggers (``routing.*``), whose calls
  pass ids, counts and exception *type names*; even there an exception object is rendered as its type
  name. For other libraries (werkzeug, urllib3, SQLAlchemy...) every argument that is not a number or a
  UUID is replaced by ``<redacted>``: their messages interpolate URLs, query strings and SQL parameters.
* **Exceptions** (``exc_info``) are rendered as the type and the frames (``file:line:function``), never
  the exception text nor ``record.exc_text`` nor ``stack_info``, which repeat messages and source lines.
* **Extra fields** (``extra={...}``) are kept only when their name is in :data:`EXTRA_FIELDS`, the
  reviewed list of fields that hold ids, states and measurements. Add a name there only after checking
  that no caller can put patient data in it.

:func:`install` (called by :func:`routing.config.configure_logging`) puts the formatter on a stderr
handler of the root logger and pins chatty libraries to WARNING, so a ``LOG_LEVEL=DEBUG`` cannot turn
on SQLAlchemy's statement echo (which logs bound parameters) or werkzeug's access lines (query strings).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import traceback
import uuid
from collections.abc import Mapping
from typing import Any

from routing.observability.request_id import current_request_id

#: ``extra`` field names that may appear in a log line (ids, states and measurements only).
EXTRA_FIELDS = frozenset(
    {
        "event",
        "method",
        "route",
        "status",
        "duration_ms",
        "remote_addr",
        "inquiry_id",
        "urgency",
        "scheduler",
        "result",
        "attempts",
        "action",
        "staff_id",
        "event_type",
        "error_id",
        # FHIR subscription notifications and the reconciliation poll: codes, "Subscription/<id>", counts.
        "notification_type",
        "subscription",
        "event_count",
        "changes",
        "acted",
        # The outbox: ids, the channel's name, and an attempt's result (an HTTP status or error kind: the
        # seam's DeliveryResult.detail, which never holds a body, a URL or patient data).
        "event_id",
        "channel",
        "delivery_id",
        "detail",
        "latency_ms",
    }
)
#: Loggers whose calls we review (ours); only their arguments are interpolated as given.
TRUSTED_PREFIX = "routing"
#: Libraries kept at WARNING whatever LOG_LEVEL says: below it they log SQL parameters, URLs and requests.
QUIET_LOGGERS = ("sqlalchemy", "werkzeug", "urllib3", "alembic")
REDACTED = "<redacted>"

_SAFE_ARG_TYPES = (int, float, bool, type(None), uuid.UUID)


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON: time, level, logger, message, request id, vetted extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON object on one line, without exception text or untrusted arguments."""
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": render_message(record),
        }
        # Stamped at creation by our record factory; read now only for records made before it was installed.
        request_id = record.__dict__["request_id"] if "request_id" in record.__dict__ else current_request_id()
        if request_id:
            line["request_id"] = request_id
        for name in sorted(EXTRA_FIELDS.intersection(record.__dict__)):
            line[name] = _plain(record.__dict__[name])
        if record.exc_info and record.exc_info[1] is not None:
            line["exc"] = describe_exception(record.exc_info[1])
        return json.dumps(line, ensure_ascii=False, default=str)


def render_message(record: logging.LogRecord) -> str:
    """The message with only safe arguments interpolated (see the module docstring)."""
    msg = record.msg
    if not isinstance(msg, str):
        # log.error(error) would print the exception text; name the type instead.
        return f"<{type(msg).__name__}>"
    if not record.args:
        return msg
    trusted = record.name == TRUSTED_PREFIX or record.name.startswith(TRUSTED_PREFIX + ".")
    args = record.args
    try:
        if isinstance(args, Mapping):
            return msg % {key: _safe_arg(value, trusted) for key, value in args.items()}
        return msg % tuple(_safe_arg(value, trusted) for value in args)
    except (TypeError, ValueError, KeyError):
        # A "%d" that now receives "<redacted>": the template alone still says what happened.
        return msg


def describe_exception(error: BaseException) -> dict[str, Any]:
    """The exception's type and frames (``file:line:function``), without its message or source lines."""
    frames = [f"{frame.filename}:{frame.lineno}:{frame.name}" for frame in traceback.extract_tb(error.__traceback__)]
    described: dict[str, Any] = {"type": _type_name(error), "frames": frames}
    cause = error.__cause__ or error.__context__
    if cause is not None:
        described["cause"] = _type_name(cause)
    return described


def install(level: str) -> None:
    """Log JSON to stderr from the root logger, ``routing`` at ``level``, noisy libraries at WARNING.

    When the host process already configured the root logger (pytest, an embedding application) its
    handlers are left alone, as ``logging.basicConfig`` would. Safe to call more than once.
    """
    _install_request_id_factory()
    root = logging.getLogger()
    if not root.handlers:
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    logging.getLogger(TRUSTED_PREFIX).setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class StderrHandler(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stderr`` is now (test runners swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        """The current ``sys.stderr``."""
        return sys.stderr


def _install_request_id_factory() -> None:
    # Stamped when the record is made, on the thread that handles the request, so every handler
    # (ours, pytest's, an embedding app's) sees the id, even one that formats later elsewhere.
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_adds_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id()
        return record

    factory._adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _safe_arg(value: Any, trusted: bool) -> Any:
    if isinstance(value, BaseException):
        return _type_name(value)
    if trusted or isinstance(value, _SAFE_ARG_TYPES):
        return value
    return REDACTED


def _type_name(error: BaseException) -> str:
    kind = type(error)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    return str(value)
