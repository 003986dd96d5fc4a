"""Typed errors: one class per error code of the API, all under :class:`StagewiseError`.

The API answers every failure with one of a closed set of codes (``extensions.code`` in GraphQL,
``error.code`` on the REST endpoints). Catch the class of the code you can handle::

    try:
        client.query("query($id: ID!) { run(id: $id) { status } }", id=run_id)
    except stagewise.NotFound:
        ...
"""

from __future__ import annotations

from typing import Any, Dict, Optional


class StagewiseError(Exception):
    """A request the API refused, or that did not reach it.

    Attributes:
        code: the API's error code (``BAD_USER_INPUT``, ``NOT_FOUND``, ...), or ``TRANSPORT``
            when no answer came back (connection refused, timeout, not a JSON answer).
        message: the API's message.
        details: the rest of the error's extensions (e.g. ``line`` for a malformed NDJSON line),
            plus ``status`` (the HTTP status) when there was one.
    """

    code = "INTERNAL"

    def __init__(
        self,
        message: str,
        code: Optional[str] = None,
        details: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: Dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class BadUserInput(StagewiseError):
    """The request is wrong (invalid id, bad filter, malformed NDJSON line...): fix it."""

    code = "BAD_USER_INPUT"


class NotFound(StagewiseError):
    """The object named does not exist."""

    code = "NOT_FOUND"


class Conflict(StagewiseError):
    """The request clashes with the current state (e.g. cancelling a finished run)."""

    code = "CONFLICT"


class Unauthenticated(StagewiseError):
    """No API key, or an unknown or revoked one."""

    code = "UNAUTHENTICATED"


class Forbidden(StagewiseError):
    """The key lacks the scope (READ, WRITE, ADMIN) this request needs."""

    code = "FORBIDDEN"


class Internal(StagewiseError):
    """The server failed; its logs hold the details under the request id."""

    code = "INTERNAL"


class TransportError(StagewiseError):
    """No usable answer: the connection failed, timed out, or the reply was not the API's."""

    code = "TRANSPORT"


_BY_CODE = {
    cls.code: cls for cls in (BadUserInput, NotFound, Conflict, Unauthenticated, Forbidden, Internal)
}


def error_from(code: Optional[str], message: str, details: Optional[Dict[str, Any]] = None):
    """The exception for an API error code (:class:`StagewiseError` for a code it does not know)."""
    cls = _BY_CODE.get(code or "INTERNAL", StagewiseError)
    return cls(message, code=code or "INTERNAL", details=details)
