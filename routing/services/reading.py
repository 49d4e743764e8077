"""Services that only read: their transaction ends with them, so views never end one themselves."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.orm import Session

P = ParamSpec("P")
R = TypeVar("R")


def read_only(function: Callable[P, R]) -> Callable[P, R]:
    """Mark a service that only reads, with the session as its first argument.

    The session's transaction (begun by the first read) is rolled back when the service returns or
    raises: there is nothing to keep, and the pooled connection is not left idle in a transaction.
    Call it with no transaction of your own open, and return plain values, not ORM rows (a rollback
    expires them).
    """

    @functools.wraps(function)
    def reading(*args: P.args, **kwargs: P.kwargs) -> R:
        session = args[0]
        assert isinstance(session, Session), f"{function.__name__}: the session comes first"
        try:
            return function(*args, **kwargs)
        finally:
            session.rollback()

    return reading
