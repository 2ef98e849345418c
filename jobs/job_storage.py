"""Where a job reads its input and writes its files: the --output prefix, the input and mask URIs, and
error.json."""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass

from aiorch.contracts import JobError
from aiorch.settings import Settings
from aiorch.storage import NotFound, Storage, open_uri
from jobs.contract import JobFailure


@dataclass
class JobOutput:
    """Where one job writes: a storage and the prefix inside it."""

    storage: Storage
    prefix: str
    uri: str | None = None  # as the job was given it: a file:// prefix's storage root hides the key layout

    def key(self, name: str) -> str:
        return self.prefix + name

    def write_error(self, failure: JobFailure, job: str | None) -> None:
        error = JobError(type=failure.type, message=failure.message, job=job)
        self.storage.put_json(self.key("error.json"), error.model_dump(mode="json"))


def open_output(uri: str, settings: Settings) -> JobOutput:
    if not uri.endswith("/"):
        raise JobFailure(f"--output must be a prefix ending in '/', not {uri!r}.", "BadRequest")
    try:
        storage, prefix = open_uri(uri, s3_endpoint_url=settings.s3_endpoint_url, region=settings.aws_region)
    except ValueError as exc:
        raise JobFailure(str(exc), "BadRequest") from exc
    return JobOutput(storage, prefix, uri)


def read_uri(uri: str, what: str, settings: Settings) -> bytes:
    try:
        storage, key = open_uri(uri, s3_endpoint_url=settings.s3_endpoint_url, region=settings.aws_region)
        return storage.get_bytes(key)
    except NotFound:
        raise JobFailure(f"The {what} file was not found: {uri}", "NotFound") from None
    except ValueError as exc:
        raise JobFailure(f"The {what} location is not usable: {exc}", "BadRequest") from exc


def write_error_quietly(output: JobOutput, failure: JobFailure, job: str | None) -> None:
    try:
        output.write_error(failure, job)
    except Exception:  # the exit code still tells the caller; do not hide the first failure
        traceback.print_exc(file=sys.stderr)
