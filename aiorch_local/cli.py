"""The ``aiorch`` command: process images, inspect executions, serve the local stack.

Every command reaches Step Functions through the same boto3 client the API
uses (the local states service by default), so what works here works in AWS.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import click

from aiorch.contracts import ExecutionStatus, Operation
from aiorch.settings import Settings, get_settings


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _parse_option(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{text!r}: expected KEY=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def _service(settings: Settings) -> Any:
    from aiorch.analysis import AnalysisService

    if not settings.states_endpoint_url:
        from workflows.local.client import ensure_service

        ensure_service(settings)
    return AnalysisService(settings)


@click.group()
@click.version_option(package_name="aiorch")
def cli() -> None:
    """Image-AI workflows (the operations of aiorch/registry/) on Step Functions, or on this machine."""


@cli.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
# detect_text: inpaint's OCR job alone; --out then gets its result.json (the boxes found and dropped).
@click.option(
    "--operation",
    "-o",
    type=click.Choice([o.value for o in Operation]),
    required=True,
    help="The operation to run; GET /operations describes each and its options.",
)
@click.option(
    "--mask",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A mask image, for one image and an operation that accepts one (accepts_mask in GET /operations).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="One image: copy the result here, and what ran (the job's metadata.json) to the same path plus '.json' "
    "(X.png.json). Several: a folder, each result named after its original, its metadata beside it.",
)
@click.option("--option", "options", multiple=True, help="KEY=VALUE (values parsed as JSON when they can be).")
@click.option("--timeout", type=float, default=3600.0, show_default=True, help="Seconds to wait.")
def process(
    images: tuple[Path, ...],
    operation: str,
    mask: Path | None,
    out: Path | None,
    options: tuple[str, ...],
    timeout: float,
) -> None:
    """Run IMAGES through the state machine and wait for the results. One image is one execution;
    several (or a folder of them) are one batch: one execution, its images in chunks, one job per chunk.
    The exit code is 0 when every image succeeded."""
    from aiorch.analysis import AnalysisError

    settings = get_settings()
    parsed = dict(_parse_option(o) for o in options)
    files = _image_files(images)
    if len(files) > settings.batch_max_images:
        _fail(f"{len(files)} images; one batch takes at most {settings.batch_max_images}")
    batch = len(files) > 1 or any(p.is_dir() for p in images)
    if batch and mask is not None:
        _fail("a mask belongs to one image: a batch of inpaints masks the text OCR finds in each")
    try:
        service = _service(settings)
        user = settings.local_user
        uploads: list[str] = []
        refused: dict[int, str] = {}  # a batch's images refused at the upload (damaged, not an image...)
        for number, file in enumerate(files):
            try:
                uploads.append(service.store_upload(user, file.read_bytes(), original_name=file.name).key)
            except AnalysisError as exc:
                if not batch:
                    raise
                refused[number] = exc.message
        if batch and not uploads:
            _fail(f"none of the {len(files)} images can be uploaded; image 1: {refused[0]}")
        if batch:
            record = service.submit(user, operation, None, None, parsed, upload_keys=uploads)
        else:
            mask_key = service.store_upload(user, mask.read_bytes()).key if mask else None
            record = service.submit(user, operation, uploads[0], mask_key, parsed)
    except AnalysisError as exc:
        _fail(exc.message)
        return
    click.echo(f"execution {record.execution_id}")
    view = _follow(service, user, record.execution_id, operation, timeout)
    click.echo(f"status {view.status.value}")
    if batch:
        _batch_outcome(service, view, out, [f.name for f in files], refused)
        return
    if view.status is not ExecutionStatus.SUCCEEDED:
        reason = view.error.message if view.error else "no reason was recorded"
        _fail(f"{view.status.value.lower()}: {reason}")
    if view.outcome:  # the result is not simply the operation's change: say so in its words
        click.echo(f"outcome {view.outcome}")
    result_key = view.results[0].key
    path = _local_path(service, result_key)
    click.echo(f"result {path or result_key}")
    if out is not None:
        _copy_result(service, result_key, out)


def _image_files(paths: tuple[Path, ...]) -> list[Path]:
    """The files named, a folder's images in name order (by their extension; the upload reads the bytes)."""
    from aiorch.analysis.media import CONTENT_TYPES

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower().lstrip(".") in CONTENT_TYPES)
            images = [p for p in found if CONTENT_TYPES[p.suffix.lower().lstrip(".")].startswith("image/")]
            if not images:
                _fail(f"{path} holds no images")
            files.extend(images)
        else:
            files.append(path)
    return files


def _follow(service: Any, user: str, execution_id: str, operation: str, timeout: float) -> Any:
    """Poll until the execution ends, with a progress bar on a terminal; its final view."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
        console=None,
    ) as bar:
        task = bar.add_task(operation, total=100)
        while True:
            view = service.get_status(user, execution_id)
            if view.images:  # a batch: the images that have ended, and its percent (its images fill it)
                finished = sum(i.status not in ("PENDING", "RUNNING") for i in view.images)
                description = f"{operation}: {finished}/{len(view.images)} images"
                bar.update(task, completed=view.progress.percent, description=description)
            else:
                label = view.progress.stage or view.current_state or "starting"
                bar.update(task, completed=view.progress.percent, description=f"{operation}: {label}")
            if view.status.is_final:
                return view
            if time.monotonic() > deadline:
                _fail(f"gave up waiting after {timeout:.0f} s; the execution is still running")
            time.sleep(0.3)


def _copy_result(service: Any, result_key: str, out: Path) -> None:
    """The result to ``out``, its metadata beside it (``out`` + '.json'), each path printed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    path = _local_path(service, result_key)
    if path is not None:
        shutil.copyfile(path, out)
    else:
        out.write_bytes(service.storage.get_bytes(result_key))
    click.echo(f"copied to {out}")
    metadata_out = metadata_path_for(out)
    metadata_key = result_key.rsplit("/", 1)[0] + "/metadata.json"
    metadata_out.write_bytes(service.storage.get_bytes(metadata_key))
    click.echo(f"metadata {metadata_out}")


def _batch_outcome(service: Any, view: Any, out: Path | None, names: list[str], refused: dict[int, str]) -> None:
    """One line per image, in the order given (its result, or why it failed: at the upload or in the
    execution); with ``out`` a folder of the results."""
    failed = 0
    ran = iter(view.images)  # the images that were uploaded, in order
    for number, given in enumerate(names, start=1):
        if number - 1 in refused:
            failed += 1
            click.echo(f"image {number} {given}: FAILED {refused[number - 1]} (refused at the upload)")
            continue
        image = next(ran)
        name = image.original_name or given
        if image.status == "SUCCEEDED" and image.results:
            result = image.results[0]
            click.echo(f"image {number} {name}: SUCCEEDED {_local_path(service, result.key) or result.key}")
            if out is not None:
                _copy_result(service, result.key, out / result.filename)
        else:
            failed += 1
            reason = image.error.message if image.error else "it did not run"
            click.echo(f"image {number} {name}: {image.status} {reason}")
    if failed:
        _fail(f"{failed} of {len(names)} images did not succeed")


def metadata_path_for(out: Path) -> Path:
    """Where ``process --out`` puts the metadata: beside the result, its name plus '.json'."""
    return out.with_name(out.name + ".json")


def progress_line(view: Any) -> str:
    """One line, the same facts the API's progress gives: state, job stage, percent, time so far and left."""
    p = view.progress
    parts = [view.current_state or "starting"]
    if p.stage and p.stage != view.current_state:
        parts.append(f"{p.stage} {p.done}/{p.total}" if p.total > 1 else p.stage)
    parts.append(f"{p.percent:.1f}%")
    if p.elapsed_s is not None:
        parts.append(f"elapsed {p.elapsed_s:.1f} s")
    if p.remaining_s is not None:
        parts.append(f"about {p.remaining_s:.0f} s left")
    return " · ".join(parts)


def _local_path(service: Any, key: str) -> Path | None:
    from aiorch.storage import LocalStorage

    return service.storage.path(key) if isinstance(service.storage, LocalStorage) else None


@cli.group()
def executions() -> None:
    """Inspect executions (the execution index plus Step Functions' history)."""


@executions.command("list")
@click.option("--user", default=None, help="Default: the local user.")
@click.option("--limit", default=20, show_default=True)
def executions_list(user: str | None, limit: int) -> None:
    """Newest first: id, operation, status, start time."""
    from aiorch.analysis import AnalysisService

    settings = get_settings()
    service = AnalysisService(settings)
    records, _ = service.index.page(user or settings.local_user, limit)
    if not records:
        click.echo("no executions yet")
    for r in records:
        click.echo(f"{r.execution_id}  {r.operation:<8} {r.status.value:<11} {r.created_at:%Y-%m-%d %H:%M:%S}Z")


@executions.command("show")
@click.argument("execution_id")
@click.option("--user", default=None, help="Default: the local user.")
def executions_show(execution_id: str, user: str | None) -> None:
    """For ops: each state entered and left with times, job progress and exit, error and cause, and the cost."""
    from aiorch.analysis import AnalysisError, AnalysisService
    from aiorch.pricing import cost_words

    settings = get_settings()
    service = AnalysisService(settings)
    user = user or settings.local_user
    try:
        view = None
        no_report = "the states service no longer holds this execution"
        view = service.get_status(user, execution_id)
        record = service.index.get(user, execution_id)
        report = service.state_report(record) if record else None
    except AnalysisError as exc:
        if view is None:
            _fail(exc.message)
            return
        report, no_report = None, exc.message  # no history, said in plain words below

    def clock(when: Any) -> str:
        return f"{when:%H:%M:%S.%f}"[:-3] if when else "…"

    click.echo(f"execution {view.execution_id}  {view.operation}  {view.status.value}")
    click.echo(f"started  {view.started_at:%Y-%m-%d} {clock(view.started_at)}Z")
    if view.finished_at:
        click.echo(f"finished {view.finished_at:%Y-%m-%d} {clock(view.finished_at)}Z  ({view.duration_s} s)")
    if report is None:
        click.echo(f"(no state history: {no_report})")
    else:
        for run in report.states:
            line = f"  {run.name:<15} {clock(run.entered_at)} → {clock(run.exited_at)}  {run.outcome}"
            if run.exited_at:
                line += f"  ({(run.exited_at - run.entered_at).total_seconds():.2f} s)"
            if run.attempts > 1:
                line += f"  [{run.attempts} attempts]"
            if run.job_id:
                line += f"  job {run.job_id}"
            click.echo(line)
            for failure in run.failures:
                click.echo(f"      error: {failure.error}: {(failure.cause or '')[:300]}")
        if report.error or report.cause:
            click.echo(f"execution error: {report.error}: {(report.cause or '')[:300]}")
    for job, meta in view.metadata.items():
        click.echo(f"  job {job}: model={meta.get('model')} weights={meta.get('weights')} device={meta.get('device')}")
    if not view.status.is_final:
        click.echo(f"progress {progress_line(view)}")
    if view.error:
        click.echo(f"error {view.error.type}: {view.error.message}")
    if view.outcome:
        click.echo(f"outcome {view.outcome}")
    if view.status.is_final:
        click.echo(f"cost {cost_words(view.cost, view.estimated_cost_usd)}")
    elif view.estimated_cost_usd is not None:
        click.echo(f"cost estimated ${view.estimated_cost_usd:.4f} (recorded when it ends)")
    for link in view.results:
        path = _local_path(service, link.key)
        click.echo(f"result {path or link.key}")


@executions.command("cancel")
@click.argument("execution_id")
@click.option("--user", default=None, help="Default: the local user.")
def executions_cancel(execution_id: str, user: str | None) -> None:
    """Stop a running execution and its job; it stays in the history as ABORTED."""
    from aiorch.analysis import AnalysisError, AnalysisService

    settings = get_settings()
    try:
        view = AnalysisService(settings).cancel(user or settings.local_user, execution_id)
    except AnalysisError as exc:
        _fail(exc.message)
        return
    click.echo(f"execution {view.execution_id}  {view.status.value}")


@executions.command("delete")
@click.argument("execution_id")
@click.option("--user", default=None, help="Default: the local user.")
def executions_delete(execution_id: str, user: str | None) -> None:
    """Remove an ended execution and its results from the history (the upload stays)."""
    from aiorch.analysis import AnalysisError, AnalysisService

    settings = get_settings()
    try:
        AnalysisService(settings).delete(user or settings.local_user, execution_id)
    except AnalysisError as exc:
        _fail(exc.message)
        return
    click.echo(f"deleted {execution_id}")


@executions.command("retry")
@click.argument("execution_id")
@click.option("--user", default=None, help="Default: the local user.")
def executions_retry(execution_id: str, user: str | None) -> None:
    """Start a failed or aborted execution again with the same inputs and options (a batch: only its
    images that did not succeed), as a new execution linked to this one."""
    from aiorch.analysis import AnalysisError
    from aiorch.analysis.retry import retry

    settings = get_settings()
    try:
        record = retry(_service(settings), user or settings.local_user, execution_id)
    except AnalysisError as exc:
        _fail(exc.message)
        return
    click.echo(f"execution {record.execution_id}  {record.status.value}  retry of {execution_id}")


@cli.group()
def states() -> None:
    """The local states service (Step Functions on this machine)."""


@states.command("start")
def states_start() -> None:
    """Start it in the background unless it is already running."""
    from workflows.local.client import ensure_service

    settings = get_settings()
    ensure_service(settings)
    click.echo(f"states service at {settings.resolved_states_endpoint_url}")


@states.command("stop")
def states_stop() -> None:
    """Stop it (its running jobs are ended and recorded as interrupted on the next start)."""
    from workflows.local.client import stop_service

    click.echo("stopped" if stop_service(get_settings()) else "not running")


@states.command("status")
def states_status() -> None:
    from workflows.local.client import service_is_up

    settings = get_settings()
    up = service_is_up(settings)
    click.echo(f"{'running' if up else 'not running'} at {settings.resolved_states_endpoint_url}")
    if not up:
        sys.exit(1)


@cli.command()
@click.option("--host", default=None, help="Default: 127.0.0.1 (settings.api_host).")
@click.option("--port", type=int, default=None, help="Default: 8000 (settings.api_port).")
def serve(host: str | None, port: int | None) -> None:
    """Start the local stack (states service, API and front end) and serve until stopped."""
    settings = get_settings()
    from aiorch_local.server import serve as serve_api

    serve_api(settings, host or settings.api_host, port or settings.api_port)


@cli.command()
def pair() -> None:
    """Print a new pairing link (and its QR code): opened on a phone or another browser, it signs that
    device in as the local user. It works once, for 10 minutes, while `aiorch serve` runs."""
    from aiorch_local import pairing
    from lambdas.api.auth import uses_local_issuer

    settings = get_settings()
    if not uses_local_issuer(settings):
        _fail("this installation signs in through Cognito (auth_issuer is set): there is nothing to pair")
    click.echo(pairing.pairing_message(pairing.issue_link(settings)))


@cli.command()
@click.option("--user", default=None, help="Default: the local user.")
def token(user: str | None) -> None:
    """Print a signed token for a local user (scripts and tests); the token is the last line."""
    from lambdas.api.auth import issue_local_token

    settings = get_settings()
    click.echo(issue_local_token(settings, user or settings.local_user))


def _register_optional_groups() -> None:
    from aiorch_local.verify_cli import verify
    from aiorch_local.webhooks_cli import webhooks
    from aiorch_local.weights_cli import weights

    cli.add_command(weights)
    cli.add_command(webhooks)
    cli.add_command(verify)
    try:
        from aiorch_local.analytics_cli import analytics
    except ImportError:  # the analytics extra (duckdb, sqlglot) is not installed
        return
    cli.add_command(analytics)


_register_optional_groups()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # one line, no traceback, for anything unforeseen
        _fail(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
