"""``run_service(settings)``: the local states service in this process, until SIGTERM/SIGINT."""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import socket
import threading
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from aiorch.settings import Settings
from aiorch.states import states_client
from workflows.definition import render_definition
from workflows.local import LOCAL_VALUES, moto_fixes
from workflows.local.client import service_file
from workflows.local.dispatch import DispatchError, import_handler, load_dispatch
from workflows.local.hooks import LocalDispatchHooks
from workflows.local.jobs import JobRunner, job_stage_writer
from workflows.local.watchdog import Watchdog, running_records

log = logging.getLogger(__name__)

LOCAL_ROLE_ARN = "arn:aws:iam::123456789012:role/aiorch-local-states"
SUPERVISE_EVERY_S = 1.0  # how often the main thread checks the service's own threads


class ServiceStartError(RuntimeError):
    """The service cannot start (port taken, bad dispatch file, moto refused the definition...)."""


def _check_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServiceStartError(f"cannot listen on {host}:{port}: {exc}") from exc


def _turn_on_execution(endpoint: str) -> None:
    # Must come before the state machine is created: moto then serves Step Functions
    # from its ASL-executing backend.
    body = json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def create_state_machine(settings: Settings, states: Any) -> str:
    definition = render_definition(LOCAL_VALUES, settings)
    answer = states.create_state_machine(
        name=settings.state_machine_name, definition=definition, roleArn=LOCAL_ROLE_ARN, type="STANDARD"
    )
    arn: str = answer["stateMachineArn"]
    return arn


def run_service(settings: Settings, stop: threading.Event | None = None) -> None:
    from moto.server import ThreadedMotoServer

    stop = stop or threading.Event()
    state_dir = settings.data_dir / "states"
    state_dir.mkdir(parents=True, exist_ok=True)
    _check_port_free(settings.states_host, settings.states_port)
    # The interpreter sends its Lambda/Batch calls to localhost:MOTO_PORT; our hooks answer them first.
    os.environ["MOTO_PORT"] = str(settings.states_port)

    try:
        dispatch = load_dispatch(settings)
        status_change = import_handler(dispatch.status_change_handler)
    except (ImportError, DispatchError) as exc:
        raise ServiceStartError(f"dispatch configuration: {exc}") from exc
    moto_fixes.apply()
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    events = boto3.DEFAULT_SESSION.events
    for module in dispatch.extra_hooks:
        importlib.import_module(module).register(events, settings)
    runner = JobRunner(settings)
    runner.on_job_status = job_stage_writer(settings)  # a job queued or started: its execution's stage
    LocalDispatchHooks(
        dispatch, runner, region=settings.aws_region, lambda_timeout_s=settings.lambda_timeout_s
    ).install(events)

    interrupted = running_records(settings)  # died with the previous service: moto kept them in memory only
    server = ThreadedMotoServer(ip_address=settings.states_host, port=settings.states_port, verbose=False)
    server.start()
    watchdog = None
    try:
        _turn_on_execution(settings.resolved_states_endpoint_url)
        states = states_client(settings)
        arn = create_state_machine(settings, states)
        runner.start()
        watchdog = Watchdog(settings, runner, states, status_change, interrupted=interrupted)
        watchdog.start()
        _write_service_file(service_file(settings), settings, arn)
        log.info("local states service on %s, state machine %s", settings.resolved_states_endpoint_url, arn)
        _stop_on_signals(stop)
        while not stop.wait(SUPERVISE_EVERY_S):
            if not _supervise(server, runner, watchdog):
                raise ServiceStartError("the local states service's HTTP server stopped: exiting so it is restarted")
    finally:
        if watchdog is not None:
            watchdog.stop()
            try:  # while moto still answers: the history is read from it
                recorded = watchdog.interrupt_running()
                log.info("stopping: %d running executions recorded INTERRUPTED with their history", recorded)
            except Exception:
                log.exception("recording the running executions at shutdown failed; the next start does it")
        runner.shutdown()
        server.stop()
        service_file(settings).unlink(missing_ok=True)


def _supervise(server: Any, runner: JobRunner, watchdog: Watchdog) -> bool:
    """Restart a dead dispatcher or watchdog thread; False when the HTTP server's thread is gone, which
    no thread restart mends: the service then exits, and whoever supervises it (``aiorch serve``)
    starts a new one."""
    runner.ensure_running()
    watchdog.ensure_running()
    thread = getattr(server, "_thread", None)
    return thread is None or thread.is_alive()


def _write_service_file(path: Path, settings: Settings, arn: str) -> None:
    info = {
        "pid": os.getpid(),
        "host": settings.states_host,
        "port": settings.states_port,
        "endpoint_url": settings.resolved_states_endpoint_url,
        "state_machine_arn": arn,
        "started_at": datetime.now(UTC).isoformat(),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=1), encoding="utf-8")
    tmp.replace(path)


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
