"""Image decoding and encoding for the jobs: bytes in, float32 RGB out, and back.

Every input, whatever its mode, becomes float32 RGB HxWx3 in [0, 1] with the
EXIF orientation applied; an alpha channel travels beside it (float32 HxW),
and an RGB ICC profile is kept so the result can carry it. The pixel limit is
checked from the header, before any pixel is decoded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageCms

from jobs.contract import JobFailure

# Output formats: the name users pass in options → (Pillow format, file extension, content type).
OUTPUT_FORMATS: dict[str, tuple[str, str, str]] = {
    "png": ("PNG", "png", "image/png"),
    "jpeg": ("JPEG", "jpg", "image/jpeg"),
    "jpg": ("JPEG", "jpg", "image/jpeg"),
    "webp": ("WEBP", "webp", "image/webp"),
}
DEFAULT_QUALITY = 95

_EXIF_ORIENTATION_TAG = 0x0112
_SIXTEEN_BIT_GRAY_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}


@dataclass
class DecodedImage:
    rgb: np.ndarray  # float32 HxWx3 in [0, 1], upright (EXIF orientation applied)
    alpha: np.ndarray | None  # float32 HxW in [0, 1], or None when the input had no transparency
    icc_profile: bytes | None  # an RGB profile to write back, or None (sRGB)
    format: str  # the container format, lower case: "png", "jpeg", ...
    bytes: int
    source_mode: str  # Pillow's mode before conversion: "CMYK", "P", "I;16", ...
    notes: list[str] = field(default_factory=list)  # conversions worth telling the user about

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def decode_image(data: bytes, max_pixels: int) -> DecodedImage:
    """Decode an image file's bytes; refuse non-images, damaged files and too many pixels."""
    image = _open_checked(data, max_pixels)
    notes: list[str] = []
    if getattr(image, "n_frames", 1) > 1:
        notes.append("only the first frame of an animated image was used")
    try:
        rgb, alpha, icc = _to_rgb_float(image, data, notes)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise JobFailure(
            f"The image file is damaged or incomplete and could not be decoded ({exc}).", "BadImage"
        ) from exc
    orientation = _exif_orientation(image)
    rgb = apply_orientation(rgb, orientation)
    if alpha is not None:
        alpha = apply_orientation(alpha, orientation)
    if orientation not in (1, None):
        notes.append(f"EXIF orientation {orientation} applied")
    return DecodedImage(
        rgb=np.ascontiguousarray(rgb, dtype=np.float32),
        alpha=None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32),
        icc_profile=icc,
        format=(image.format or "unknown").lower(),
        bytes=len(data),
        source_mode=image.mode,
        notes=notes,
    )


def decode_mask(data: bytes, max_pixels: int) -> np.ndarray:
    """A user mask as bool HxW: True = fill this pixel.

    With real transparency, painted (non-transparent) pixels are the mask;
    otherwise any non-zero pixel is.
    """
    decoded = decode_image(data, max_pixels)
    if decoded.alpha is not None and decoded.alpha.min() < 1.0:
        return decoded.alpha > 0
    return decoded.rgb.max(axis=2) > 0


# zlib level 1: a 2048x2048 photo encodes in 0.59 s instead of 3.0 s at Pillow's default 6, for a file
# about 20% larger (python -m bench png; docs/benchmarks.md). Level 0 (stored) would triple the size.
PNG_COMPRESS_LEVEL = 1


def encode_image(
    rgb: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    format: str = "png",
    quality: int | None = None,
    icc_profile: bytes | None = None,
) -> bytes:
    """Encode float32 RGB (and optional alpha) in [0, 1] as PNG, JPEG or WebP bytes.

    JPEG has no alpha channel, so a transparent image is flattened onto white.
    """
    pil_format = output_format(format)[0]
    check_output_options(format, quality)
    if alpha is not None and pil_format == "JPEG":
        rgb = rgb * alpha[..., None] + (1.0 - alpha[..., None])
        alpha = None
    pixels = to_uint8(rgb)
    if alpha is not None:
        pixels = np.dstack([pixels, to_uint8(alpha)])
    image = Image.fromarray(pixels, "RGBA" if alpha is not None else "RGB")
    save_args: dict[str, object] = {}
    if icc_profile:
        save_args["icc_profile"] = icc_profile
    if pil_format in ("JPEG", "WEBP"):
        save_args["quality"] = int(quality or DEFAULT_QUALITY)
    if pil_format == "PNG":
        save_args["compress_level"] = PNG_COMPRESS_LEVEL
    out = io.BytesIO()
    image.save(out, pil_format, **save_args)
    return out.getvalue()


def encode_mask(mask: np.ndarray) -> bytes:
    """A bool (or 0..1) HxW mask as a grayscale PNG: 255 = masked."""
    out = io.BytesIO()
    Image.fromarray(np.where(mask > 0, 255, 0).astype(np.uint8), "L").save(
        out, "PNG", compress_level=PNG_COMPRESS_LEVEL
    )
    return out.getvalue()


THUMBNAIL_NAME = "thumbnail.webp"
THUMBNAIL_MAX_SIDE = 256
THUMBNAIL_QUALITY = 80
# Pixels taken per thumbnail pixel (each way) before the filtered resize: enough against aliasing.
_THUMBNAIL_OVERSAMPLE = 4


@dataclass(frozen=True)
class Thumbnail:
    data: bytes  # WebP
    width: int
    height: int


def thumbnail_size(width: int, height: int, max_side: int = THUMBNAIL_MAX_SIDE) -> tuple[int, int]:
    """The size at most ``max_side`` on the longer side, same aspect ratio, never larger than the image."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def encode_thumbnail(
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    opaque: bool = False,
    icc_profile: bytes | None = None,
    max_side: int = THUMBNAIL_MAX_SIDE,
    quality: int = THUMBNAIL_QUALITY,
) -> Thumbnail:
    """A small WebP of a result (float32 RGB HxWx3, or a HxW mask) for galleries, so no browser has to
    scale a 64 MP result. ``alpha`` may have another size than ``pixels`` (it is scaled on its own);
    ``opaque`` flattens it onto white, as a JPEG result is.

    Cheap on any size: a strided view picks about 4 pixels per thumbnail pixel each way, and only that
    small copy is converted and filtered (Lanczos) down; the full-size result is never converted again.
    """
    height, width = pixels.shape[:2]
    size = thumbnail_size(width, height, max_side)
    picked = _pick(pixels, size)
    if picked.ndim == 2:  # a mask
        picked = np.repeat((np.asarray(picked, dtype=np.float32) > 0).astype(np.float32)[..., None], 3, axis=2)
    small = Image.fromarray(to_uint8(picked), "RGB").resize(size, Image.Resampling.LANCZOS)
    if alpha is not None:
        small_alpha = Image.fromarray(to_uint8(_pick(alpha, size)), "L").resize(size, Image.Resampling.LANCZOS)
        if opaque:
            small = Image.composite(small, Image.new("RGB", size, (255, 255, 255)), small_alpha)
        else:
            small.putalpha(small_alpha)
    save_args: dict[str, object] = {"quality": quality, "method": 4}
    if icc_profile:
        save_args["icc_profile"] = icc_profile
    out = io.BytesIO()
    small.save(out, "WEBP", **save_args)
    return Thumbnail(out.getvalue(), size[0], size[1])


def _pick(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Every step-th row and column, leaving at least ``_THUMBNAIL_OVERSAMPLE`` per target pixel."""
    step_y = max(1, pixels.shape[0] // (size[1] * _THUMBNAIL_OVERSAMPLE))
    step_x = max(1, pixels.shape[1] // (size[0] * _THUMBNAIL_OVERSAMPLE))
    return pixels[::step_y, ::step_x]


def check_output_options(format: str, quality: object) -> None:
    """Refuse an unknown format or a quality outside 1-100 (before any work is done)."""
    output_format(format)
    if quality is None:
        return
    if isinstance(quality, bool) or not isinstance(quality, int | float) or not 1 <= quality <= 100:
        raise JobFailure(f"Option 'quality' must be a number from 1 to 100, not {quality!r}.", "BadRequest")


def output_format(name: str) -> tuple[str, str, str]:
    """(Pillow format, extension, content type) for an output format name; clear error if unknown."""
    try:
        return OUTPUT_FORMATS[str(name).lower()]
    except KeyError:
        raise JobFailure(f"Unknown output format {name!r}: use one of png, jpeg or webp.", "BadRequest") from None


def to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(values, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def apply_orientation(pixels: np.ndarray, orientation: int | None) -> np.ndarray:
    """Turn pixels upright for an EXIF orientation value (1-8), as Pillow's exif_transpose does."""
    swap = (1, 0, *range(2, pixels.ndim))  # transpose rows and columns, keep channels
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1]
    if orientation == 5:
        return pixels.transpose(swap)
    if orientation == 6:
        return np.rot90(pixels, k=-1)
    if orientation == 7:
        return pixels.transpose(swap)[::-1, ::-1]
    if orientation == 8:
        return np.rot90(pixels, k=1)
    return pixels


# --- internals ---------------------------------------------------------------------------------------


def _open_checked(data: bytes, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and enforce the pixel limit before decoding."""
    if not data:
        raise JobFailure("The input file is empty.", "BadImage")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise JobFailure(
            f"The image has too many pixels (the limit is {max_pixels:,}); it was refused unread.",
            "ImageTooLarge",
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        if _looks_like_an_image(data):
            raise JobFailure(
                "The image file is damaged or incomplete: its header could not be read.", "BadImage"
            ) from exc
        raise JobFailure(
            "The input is not an image this service can read (PNG, JPEG, WebP, TIFF, BMP, GIF...).",
            "BadImage",
        ) from exc
    width, height = image.size
    if width * height > max_pixels:
        raise JobFailure(
            f"The image is {width}x{height} = {width * height:,} pixels; the limit for this operation "
            f"is {max_pixels:,}. Use a smaller image.",
            "ImageTooLarge",
        )
    if width == 0 or height == 0:
        raise JobFailure("The image has no pixels.", "BadImage")
    return image


_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


def _looks_like_an_image(data: bytes) -> bool:
    """True when the bytes start like a known image format (so a decode failure means damage)."""
    return data.startswith(_IMAGE_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _exif_orientation(image: Image.Image) -> int | None:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION_TAG)
    except Exception:  # a damaged EXIF block is no reason to refuse the pixels
        return None
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else None


def _icc_color_space(profile: bytes | None) -> bytes | None:
    # The ICC header names the profile's colour space at bytes 16-20: b"RGB ", b"CMYK", b"GRAY".
    return profile[16:20] if profile and len(profile) >= 20 else None


def _to_rgb_float(
    image: Image.Image, data: bytes, notes: list[str]
) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image.load()
    icc = image.info.get("icc_profile") or None
    mode = image.mode

    if _is_16bit_color_png(data):
        # Pillow reads 16-bit RGB(A) PNGs as 8 bits; OpenCV keeps all 16.
        rgb, alpha = _decode_16bit_color_png(data)
        notes.append("16-bit colour PNG decoded at full precision")
        return rgb, alpha, icc if _icc_color_space(icc) == b"RGB " else None

    if mode in _SIXTEEN_BIT_GRAY_MODES:
        gray = np.asarray(image, dtype=np.float32) / 65535.0
        notes.append(f"{mode} grayscale converted to RGB")
        return np.repeat(np.clip(gray, 0, 1)[..., None], 3, axis=2), None, None
    if mode == "F":
        gray = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
        return np.repeat(gray[..., None], 3, axis=2), None, None

    has_alpha = mode in _ALPHA_MODES or "transparency" in image.info
    if icc is not None and _icc_color_space(icc) in (b"CMYK", b"GRAY") and mode in ("CMYK", "L", "LA"):
        image, icc = _icc_to_srgb(image, icc, notes)
    elif mode not in ("RGB", "RGBA"):
        notes.append(f"{mode} converted to RGB")
    if _icc_color_space(icc) != b"RGB ":
        icc = None  # a profile that does not describe RGB pixels cannot go on an RGB result
    pixels = np.asarray(image.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32) / 255.0
    if has_alpha:
        return pixels[..., :3], pixels[..., 3], icc
    return pixels, None, icc


def _icc_to_srgb(image: Image.Image, icc: bytes, notes: list[str]) -> tuple[Image.Image, bytes | None]:
    """Convert CMYK or gray pixels to sRGB through their own profile (the result is then plain sRGB)."""
    source_alpha = image.getchannel("A") if image.mode == "LA" else None
    base = image.convert("L") if image.mode == "LA" else image
    try:
        converted = ImageCms.profileToProfile(
            base, ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        notes.append(f"{image.mode} converted to RGB without its ICC profile (the profile was unusable)")
        return image, None
    assert converted is not None
    notes.append(f"{image.mode} converted to sRGB through its ICC profile")
    if source_alpha is not None:
        converted.putalpha(source_alpha)
    return converted, None


def _is_16bit_color_png(data: bytes) -> bool:
    # PNG IHDR: signature (8) + length (4) + "IHDR" (4) + width (4) + height (4) + bit depth + colour type.
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 25 and data[24] == 16 and data[25] in (2, 6)


def _decode_16bit_color_png(data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    import cv2

    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.ndim != 3:
        raise ValueError("the 16-bit PNG could not be decoded")
    pixels = pixels.astype(np.float32) / 65535.0
    rgb = pixels[..., 2::-1] if pixels.shape[2] >= 3 else pixels
    alpha = pixels[..., 3] if pixels.shape[2] == 4 else None
    return rgb, alpha
