"""The body size limit for chunked requests: over the limit is a 413, never a body silently cut short.

Werkzeug refuses a ``Content-Length`` over ``MAX_CONTENT_LENGTH`` at once. A chunked body has no length,
so werkzeug reads it up to the limit and stops there without looking further: a signed 70 KiB delivery
reached the signature check cut at 64 KiB and was answered "signature does not match". Here the stream
looks one byte past the limit: if the body goes on, the answer is 413.
"""

from __future__ import annotations

from typing import IO

from flask import Flask, Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream


class _CappedStream(LimitedStream):
    """A stream of at most ``limit`` bytes that raises 413 when the body goes on past it."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit, is_max=True)
        self._source = stream

    def on_exhausted(self) -> None:
        # At the limit: the end of the body is fine; one more byte means the body is too large.
        if self._source.read(1):
            raise RequestEntityTooLarge()

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted:
            self.on_exhausted()
        return data


class BoundedRequest(Request):
    """Flask's request, with chunked bodies over ``max_content_length`` refused (413) like long ones."""

    @cached_property
    def stream(self) -> IO[bytes]:
        """The body stream; for a chunked body (the server ends the stream), one capped at the limit."""
        limit = self.max_content_length
        if limit is not None and self.content_length is None and self.environ.get("wsgi.input_terminated"):
            return _CappedStream(self.environ["wsgi.input"], limit)
        return super().stream


def init_app(app: Flask) -> None:
    """Use :class:`BoundedRequest` for every request of ``app``."""
    app.request_class = BoundedRequest
