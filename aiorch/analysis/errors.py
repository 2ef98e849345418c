"""Errors of the application service, each with the HTTP status the API answers it with."""

from __future__ import annotations

import re

# An endpoint in a message (botocore's "Could not connect to the endpoint URL: "http://127.0.0.1:8123/"").
_ENDPOINT = re.compile(r"""["']?\b[a-z][a-z0-9+.-]*://[^\s"']+["']?""", re.IGNORECASE)


def without_endpoints(message: str) -> str:
    """``message`` with every URL replaced by "the service": where internal services listen is no
    business of whoever reads an error answer (503s above all)."""
    return _ENDPOINT.sub("the service", message)


class AnalysisError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(AnalysisError):
    status_code = 400


class NotFoundError(AnalysisError):
    status_code = 404


class Unprocessable(AnalysisError):
    """Well formed, but this deployment cannot do it as asked (the model it names is not installed)."""

    status_code = 422


class IdempotencyConflict(AnalysisError):
    status_code = 409


class StillRunning(AnalysisError):
    """A running execution cannot be deleted: it is cancelled first."""

    status_code = 409


class TooManyRunning(AnalysisError):
    status_code = 429

    def __init__(self, message: str, retry_after_s: int = 10) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QueueFull(TooManyRunning):
    """The queue is past its bound: 429 for the user's own bound, 503 for everyone's; Retry-After."""

    def __init__(self, message: str, retry_after_s: int, status_code: int) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.status_code = status_code


class BudgetSpent(TooManyRunning):
    """The user's monthly budget has no room for this run: 429, a quota of the month rather than a fault,
    with Retry-After at the month's end (when the budget resets)."""


class StatesUnavailable(AnalysisError):
    status_code = 503

    def __init__(self, message: str) -> None:
        super().__init__(without_endpoints(message))


class StorageFull(AnalysisError):
    """The disk (or quota) under storage or the index is full: nothing was stored."""

    status_code = 507
