"""Errors of the application service, each with the HTTP status the API answers it with."""

from __future__ import annotations


class AnalysisError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(AnalysisError):
    status_code = 400


class NotFoundError(AnalysisError):
    status_code = 404


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


class StatesUnavailable(AnalysisError):
    status_code = 503


class StorageFull(AnalysisError):
    """The disk (or quota) under storage or the index is full: nothing was stored."""

    status_code = 507
