"""Upstream-style ways of running a Real-ESRGAN model, to compare our tiler against.

Written after the behaviour of upstream Real-ESRGAN's ``RealESRGANer`` (tile_process
and the whole-image path), not copied from it: the whole image and a full-size
output live on the GPU, tiles run one at a time, each tile's padded border is cut
away with no blending, the model runs in fp16 in the default (NCHW) layout under
``torch.no_grad``, and the result is copied to the host at the end.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def upstream_tiled(
    model: torch.nn.Module, image: np.ndarray, scale: int, device: torch.device, tile: int = 256, pad: int = 10
) -> np.ndarray:
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    with torch.no_grad():
        source = torch.from_numpy(image).permute(2, 0, 1)[None].to(device, dtype)
        _, channels, height, width = source.shape
        output = source.new_zeros((1, channels, height * scale, width * scale))
        for row in range(math.ceil(height / tile)):
            for col in range(math.ceil(width / tile)):
                y0, x0 = row * tile, col * tile
                y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
                py0, px0 = max(y0 - pad, 0), max(x0 - pad, 0)
                py1, px1 = min(y1 + pad, height), min(x1 + pad, width)
                result = model(source[:, :, py0:py1, px0:px1])
                oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
                output[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = result[
                    :, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
                ]
        return output[0].float().clamp_(0, 1).permute(1, 2, 0).cpu().numpy()


def whole_image(model: torch.nn.Module, image: np.ndarray, device: torch.device) -> np.ndarray:
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    with torch.no_grad():
        source = torch.from_numpy(image).permute(2, 0, 1)[None].to(device, dtype)
        return model(source)[0].float().clamp_(0, 1).permute(1, 2, 0).cpu().numpy()
