"""Run the API and the built front end on one machine (``aiorch serve`` calls ``serve``).

Also runnable as ``python -m aiorch_local.server [--host H] [--port P]``
(the end-to-end tests start it that way, with AIORCH_* settings in the environment).
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from aiorch.settings import Settings, get_settings
from lambdas.api.app import create_app, is_loopback

log = logging.getLogger(__name__)


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Start the states service if it is not running, then serve the API and the front end."""
    from workflows.local.client import ensure_service, service_is_up, stop_service

    # The app decides automatic sign-in from the address it really listens on.
    settings = settings.model_copy(
        update={"api_host": host or settings.api_host, "api_port": port or settings.api_port}
    )
    started_here = not service_is_up(settings)
    ensure_service(settings)
    if not is_loopback(settings.api_host):
        log.warning("listening on %s: automatic sign-in is off; use `aiorch token`", settings.api_host)
    try:
        uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_level="info")
    finally:
        # Stopping `aiorch serve` stops what it started (running jobs are recorded as
        # interrupted on the next start); a service someone else started keeps running.
        if started_here:
            stop_service(settings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    serve(get_settings(), args.host, args.port)


if __name__ == "__main__":
    main()
