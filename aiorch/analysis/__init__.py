"""The application service the CLI and the API share, with its errors, views and media tables.

One module each: ``errors`` (with HTTP codes), ``views`` (what it answers),
``media`` (accepted formats, header sniffing), ``progress`` (the arithmetic),
``service`` (``AnalysisService``, the I/O: its ``commands`` over its ``queries``).
"""

from aiorch.analysis.errors import (
    AnalysisError,
    BadRequest,
    BudgetSpent,
    IdempotencyConflict,
    NotFoundError,
    QueueFull,
    StatesUnavailable,
    StillRunning,
    TooManyRunning,
)
from aiorch.analysis.media import CONTENT_TYPES, EXTENSION_FOR_CONTENT_TYPE, EXTENSIONS, content_type_for, sniff_image
from aiorch.analysis.progress import JOB_FOR_STATE, progress_view
from aiorch.analysis.service import AnalysisService
from aiorch.analysis.views import ErrorView, ExecutionView, ProgressView, ResultLink, UploadInfo

__all__ = [
    "CONTENT_TYPES",
    "EXTENSIONS",
    "EXTENSION_FOR_CONTENT_TYPE",
    "JOB_FOR_STATE",
    "AnalysisError",
    "AnalysisService",
    "BadRequest",
    "BudgetSpent",
    "ErrorView",
    "ExecutionView",
    "IdempotencyConflict",
    "NotFoundError",
    "ProgressView",
    "QueueFull",
    "ResultLink",
    "StatesUnavailable",
    "StillRunning",
    "TooManyRunning",
    "UploadInfo",
    "content_type_for",
    "progress_view",
    "sniff_image",
]
