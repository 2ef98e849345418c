"""``aiorch verify FILE``: what made a result file, and whether this deployment did (aiorch/provenance.py).

Prints the provenance in words, then one verdict line; exits 0 only for "made by this deployment; pixels
unchanged". The key is this deployment's (Settings.provenance_key or its key file); verifying never
creates one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from aiorch import provenance
from aiorch.settings import get_settings

EXIT_NOT_VERIFIED = 1


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify(file: Path) -> None:
    """Say what made FILE (operation, options, model, weights, device, version, execution) and whether this
    deployment made it with these pixels. Exits non-zero unless it did."""
    from jobs.provenance import provenance_key

    checked = provenance.verify(file.read_bytes(), provenance_key(get_settings(), create=False))
    if checked.record is not None:
        for line in describe(checked.record):
            click.echo(line)
    click.echo(checked.verdict.value)
    if checked.verdict is provenance.Verdict.unsigned and checked.pixels_match is False:
        click.echo("(and its pixels differ from those it was written with)")
    if not checked.verdict.verified:
        raise SystemExit(EXIT_NOT_VERIFIED)


def describe(record: dict[str, Any]) -> list[str]:
    """The record in words, one fact a line."""
    weights = record.get("weights") or []
    version = record.get("version") or {}
    options = record.get("options") or {}
    return [
        f"operation     {record.get('operation') or 'unknown'}",
        f"options       {json.dumps(options, sort_keys=True) if options else 'none (the defaults)'}",
        f"model         {record.get('model') or 'none'}{' (a fallback)' if record.get('fallback') else ''}",
        *([f"weights       {w.get('name')} sha256 {w.get('sha256')}" for w in weights] or ["weights       none"]),
        f"device        {record.get('device') or 'unknown'}",
        f"version       aiorch {version.get('package', 'unknown')}, commit {version.get('commit', 'unknown')}",
        f"execution     {record.get('execution_id') or 'unknown (not run as an execution)'}",
        f"made at       {record.get('created') or 'unknown'}",
    ]
