"""``python -m workflows.local serve|stop``: run or stop the local states service."""

from __future__ import annotations

import argparse
import logging
import sys

from aiorch.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workflows.local", description=__doc__)
    parser.add_argument("command", choices=["serve", "stop"])
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "stop":
        from workflows.local.client import stop_service

        return 0 if stop_service(settings) else 1
    from workflows.local.service import ServiceStartError, run_service

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise
    try:
        run_service(settings)
    except ServiceStartError as exc:
        print(f"local states service: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
