"""The Lambda package as deployed, run the way Lambda runs it: for the IaC tests.

``build_unpacked`` builds the real zip (``iac/scripts/build_lambda_zip.py``, its third-party
code the versions of ``locks/lambda.txt`` installed by pip from hash-checked wheels, cached
under the tox env dir so pip runs once per set of inputs) and unpacks it. The deployed zip's
wheels are for Lambda's CPython 3.12: the harness runs them with a CPython 3.12 where the
machine has one (pyenv's here), else builds the same locked versions for the interpreter it has.
``LambdaWorker`` is one long-lived interpreter per
function, started with ``python -I -S`` (isolated: no PYTHONPATH, no user or site
packages, so not the development venv either) with only the unpacked package put on
``sys.path``: the project's editable install, moto and torch cannot be reached from it. Each
call sends one event and gets the handler's answer back as JSON, as Lambda would.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.iac.terraform import REPO


def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_lambda_zip", REPO / "iac/scripts/build_lambda_zip.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def deps_cache_dir() -> Path:
    """In the tox env dir when tox runs the tests (tox sets TOX_ENV_DIR), else under .tox/."""
    return Path(os.environ.get("TOX_ENV_DIR") or REPO / ".tox") / "lambda-deps"


def build_unpacked(zip_path: Path, unpack_to: Path) -> Path:
    """Build the full package to ``zip_path`` and unpack it; returns the unpacked folder."""
    builder().build(zip_path, with_dependencies=True, deps_cache=deps_cache_dir(), python=harness_python())
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(unpack_to)
    return unpack_to


# Runs inside the isolated interpreter: stdlib only until the package is on sys.path.
_DRIVER = r"""
import importlib, json, os, sys, traceback
sys.path.insert(0, sys.argv[1])
answers = os.fdopen(os.dup(1), "w")  # the handler's prints go to stderr, never into the answers
os.dup2(2, 1)

class Context:
    def __init__(self, name):
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + name
        self.memory_limit_in_mb = 1024
        self.aws_request_id = "00000000-0000-0000-0000-000000000000"
        self.log_group_name = "/aws/lambda/" + name
        self.log_stream_name = "local"
    def get_remaining_time_in_millis(self):
        return 60000

handlers = {}
for line in sys.stdin:
    call = json.loads(line)
    try:
        if call.get("probe"):
            found = {}
            for name in call["probe"]:
                try:
                    importlib.import_module(name)
                    found[name] = "imported"
                except ImportError as exc:
                    found[name] = type(exc).__name__ + ": " + str(exc)
            answer = {"result": {"imports": found, "sys_path": sys.path}}
        else:
            target = call["handler"]
            if target not in handlers:
                module, _, function = target.rpartition(".")
                handlers[target] = getattr(importlib.import_module(module), function)
            answer = {"result": handlers[target](call["event"], Context(call.get("function", "fn")))}
    except Exception as exc:
        answer = {"error": {"errorType": type(exc).__name__, "errorMessage": str(exc),
                            "stackTrace": traceback.format_exc()}}
    answers.write(json.dumps(answer, default=str) + "\n")
    answers.flush()
"""


@functools.cache
def lambda_cpython() -> str | None:
    """A working CPython of Lambda's version on this machine (on PATH, or one of pyenv's), if any."""
    wanted = builder().LAMBDA_PYTHON
    pyenv = sorted(Path.home().glob(f".pyenv/versions/{wanted}.*/bin/python{wanted}"))
    for candidate in [shutil.which(f"python{wanted}"), *map(str, pyenv)]:
        # pyenv's shim is on PATH even where that version is not selected: it must really run.
        if candidate and subprocess.run([candidate, "-I", "-c", "import ssl"], capture_output=True).returncode == 0:
            return candidate
    return None


def harness_python() -> str:
    """The CPython the harness runs the package with: Lambda's where this machine has it (then the
    harness runs the very wheels that deploy), else the one running the tests (the same locked
    versions, built for it)."""
    if lambda_cpython() is not None:
        return str(builder().LAMBDA_PYTHON)
    print(f"no CPython {builder().LAMBDA_PYTHON} here: the Lambda package is built for this interpreter")
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def lambda_interpreter() -> str:
    """A CPython of the version the package's native wheels were installed for."""
    return lambda_cpython() or sys.executable


class LambdaError(RuntimeError):
    """The handler raised: Lambda's errorType and errorMessage."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error['errorType']}: {error['errorMessage']}\n{error.get('stackTrace', '')}")
        self.error = error


class LambdaWorker:
    """One function's interpreter, kept warm between calls (a cold start costs ~2 s here)."""

    def __init__(self, package: Path, env: dict[str, str], name: str = "fn") -> None:
        self.name = name
        base = {k: os.environ[k] for k in ("PATH", "HOME", "TMPDIR", "LANG") if k in os.environ}
        self.process = subprocess.Popen(
            [lambda_interpreter(), "-I", "-S", "-c", _DRIVER, str(package)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=base | env,
            text=True,
        )
        self._lock = threading.Lock()

    def _ask(self, call: dict[str, Any], timeout_s: float) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        with self._lock:
            self.process.stdin.write(json.dumps(call) + "\n")
            self.process.stdin.flush()
            timer = threading.Timer(timeout_s, self.process.kill)
            timer.start()
            try:
                line = self.process.stdout.readline()
            finally:
                timer.cancel()
        if not line:
            raise RuntimeError(f"the {self.name} interpreter ended (exit {self.process.poll()}); see stderr")
        answer = json.loads(line)
        if "error" in answer:
            raise LambdaError(answer["error"])
        return answer["result"]

    def invoke(self, handler: str, event: Any, timeout_s: float = 120) -> Any:
        return self._ask({"handler": handler, "event": event, "function": self.name}, timeout_s)

    def probe_imports(self, modules: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = self._ask({"probe": modules}, timeout_s=120)
        return result

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def http_api_event(
    method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None, query: str = ""
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as the $default route delivers it."""
    all_headers = {"host": "api.example.test", "x-forwarded-proto": "https"} | (headers or {})
    raw = json.dumps(body) if body is not None else None
    if raw is not None:
        all_headers.setdefault("content-type", "application/json")
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.test",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "test"},
            "requestId": "r",
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "body": raw,
        "isBase64Encoded": False,
    }  # fmt: skip
