"""``aiorch weights``: install the registry's published weights on a connected machine, and say what is installed.

    aiorch weights list                      # each model: installed or not, its file, size, sha256 ok or not
    aiorch weights pull big-lama             # download into the weights folder, sha256-checked
    aiorch weights pull drunet --sha256 HEX  # an entry without a published sha256 takes the user's

Downloads go to ``Settings.resolved_weights_dir`` (AIORCH_WEIGHTS_DIR, default <data_dir>/models), where every
job looks (``aiorch.weights.find_weights``). A download is written to ``<file>.part`` and renamed only once its
sha256 matches: an interrupted one keeps its ``.part`` and the next pull resumes it with an HTTP Range request;
a file whose sha256 does not match is deleted. Nothing is ever downloaded when a job runs.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

import click

from aiorch.settings import Settings, get_settings
from aiorch.weights import PACKAGE, REGISTRY, WeightsEntry, package_installed

CHUNK = 1 << 20
TIMEOUT_S = 30.0
USER_AGENT = "aiorch-weights-pull"


class PullError(Exception):
    """A download that did not install a file, in plain words."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expected_sha256(entry: WeightsEntry, given: str | None) -> str:
    given = given.strip().lower() if given else None
    if given is not None and (len(given) != 64 or any(c not in "0123456789abcdef" for c in given)):
        raise PullError(f"--sha256 must be 64 hexadecimal digits, not {given!r}")
    if entry.sha256 and given and given != entry.sha256:
        raise PullError(f"{entry.name}'s published sha256 is {entry.sha256}; --sha256 {given} differs from it")
    if entry.sha256 is None and given is None:
        raise PullError(
            f"{entry.name} has no published sha256 in the registry, and no file is installed unchecked: "
            f"pass --sha256 with the checksum from a source you trust (aiorch weights pull {entry.name} --sha256 HEX)"
        )
    return entry.sha256 or str(given)


def pull(
    entry: WeightsEntry,
    folder: Path,
    sha256: str,
    url: str,
    *,
    show_progress: bool = True,
    timeout_s: float = TIMEOUT_S,
) -> Path:
    """Download ``url`` into ``folder/entry.file`` through ``<file>.part`` (resumed when present), check its
    sha256, and rename it into place. Raises PullError; a mismatching file is deleted, an interrupted one
    keeps its ``.part`` (no ``.part`` is created before the first byte arrives)."""
    target = folder / entry.file
    if target.is_file() and sha256_of(target) == sha256:
        return target
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": USER_AGENT, **({"Range": f"bytes={offset}-"} if offset else {})}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # the .part already holds the whole file
            return _install(part, target, sha256)
        raise PullError(f"{url} answered HTTP {error.code} {error.reason}: nothing was installed") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        kept = f"; {part} keeps {offset} bytes, and the next pull resumes there" if offset else ""
        raise PullError(f"could not reach {url} ({reason}): nothing was installed{kept}") from None
    with response:
        resumed = response.status == 206
        if not resumed:
            offset = 0  # the server sent the whole file (it ignored the Range): start over
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        folder.mkdir(parents=True, exist_ok=True)
        with part.open("ab" if resumed else "wb") as out:
            _copy(response, out, offset, total, entry.name, show_progress, url, part)
    return _install(part, target, sha256)


def _copy(
    response: IO[bytes], out: IO[bytes], offset: int, total: int | None, name: str, show: bool, url: str, part: Path
) -> None:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, TimeRemainingColumn(), disable=not show, transient=True) as bar:
        task = bar.add_task(name, total=total, completed=offset)
        try:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                bar.advance(task, len(chunk))
        except OSError as error:  # the connection broke mid-way: the .part stays, to be resumed
            out.flush()
            raise PullError(
                f"the download from {url} broke off ({error}); {part} keeps {out.tell()} bytes and the next pull "
                "resumes there"
            ) from None
    if total is not None and out.tell() < total:
        raise PullError(
            f"the download from {url} ended at {out.tell()} of {total} bytes; {part} keeps them and the next pull "
            "resumes there"
        )


def _install(part: Path, target: Path, sha256: str) -> Path:
    got = sha256_of(part)
    if got != sha256:
        part.unlink()
        raise PullError(
            f"the downloaded {target.name} has sha256 {got}, not the expected {sha256}: it was deleted, "
            "nothing was installed"
        )
    os.replace(part, target)
    return target


def describe(entry: WeightsEntry, settings: Settings) -> dict[str, Any]:
    """One registry entry as `weights list` shows it: installed, file, size, sha256 state."""
    if entry.source == "package":
        if not package_installed():
            return {"installed": False, "file": f"package {PACKAGE}", "bytes": None, "sha256": "-"}
        from jobs.weights.loaders import package_models_dir

        path = package_models_dir() / f"{entry.file}.bin"
    else:
        configured = getattr(settings, entry.setting) if entry.setting else None
        path = Path(configured) if configured else settings.resolved_weights_dir / entry.file
    if not path.is_file():
        return {"installed": False, "file": str(path), "bytes": None, "sha256": "-"}
    got = sha256_of(path)
    state = "not published: " + got[:12] if entry.sha256 is None else ("ok" if got == entry.sha256 else "MISMATCH")
    return {"installed": True, "file": str(path), "bytes": path.stat().st_size, "sha256": state}


@click.group()
def weights() -> None:
    """Model weights: what is installed, and `pull` to install a published file (sha256-checked)."""


@weights.command("list")
def weights_list() -> None:
    """Each registered model: installed or not, its file, its size and whether its sha256 is the published one."""
    settings = get_settings()
    click.echo(f"weights folder {settings.resolved_weights_dir}")
    for name, entry in sorted(REGISTRY.items()):
        shown = describe(entry, settings)
        size = f"{shown['bytes'] / 1e6:.1f} MB" if shown["bytes"] is not None else "-"
        state = "installed" if shown["installed"] else "missing"
        hint = "" if shown["installed"] or not entry.url else f"  (aiorch weights pull {name})"
        click.echo(f"{name:<24} {state:<9} {size:>9}  sha256 {shown['sha256']:<10} {shown['file']}{hint}")


@weights.command("pull")
@click.argument("name", type=click.Choice(sorted(n for n, e in REGISTRY.items() if e.url)))
@click.option("--sha256", "sha256", default=None, help="The file's sha256, for an entry without a published one.")
@click.option("--url", default=None, help="Download from this mirror instead of the registry's URL.")
def weights_pull(name: str, sha256: str | None, url: str | None) -> None:
    """Download the registered model NAME into the weights folder, resuming a broken download, and
    install it only when its sha256 matches."""
    settings = get_settings()
    entry = REGISTRY[name]
    try:
        expected = expected_sha256(entry, sha256)
        source = url or str(entry.url)
        path = pull(entry, settings.resolved_weights_dir, expected, source, show_progress=sys.stderr.isatty())
    except PullError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"installed {name}: {path} (sha256 {expected})")
