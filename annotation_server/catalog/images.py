"""The image pipeline's pure core: validate a still image, make its web rendition and thumbnail.

No Django here: a path and limits in, an ImageResult out, or ImageRejected (the file's fault,
reason shown to admins as is) / TranscodeTransient (the machine's: full disk, no memory). They
are the video pipeline's errors, so the task treats a failed image like a failed video.

Only Pillow's JPEG, PNG, WebP and GIF decoders ever see the bytes (`formats=`), none of which
calls out to another program; the size is read from the header and refused above the pixel
limit before any pixel is decoded. The outputs are encoded from bare pixel buffers (oriented,
in sRGB), so no EXIF, GPS, XMP, ICC profile, comment or PNG text reaches a browser.
"""

from __future__ import annotations

import errno
import io
import os
import re
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

from annotation_server.catalog.image_streams import is_bare, sniff_reason
from annotation_server.catalog.transcoding.errors import TranscodeRejected, TranscodeTransient
from annotation_server.catalog.transcoding.probe import human_bytes

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
_RENDITION_FORMATS = {"webp": ("WEBP", ".webp"), "jpeg": ("JPEG", ".jpg")}
# Sources that may serve as their own rendition (`_served_as_is`), with their file suffix.
_AS_IS_SUFFIX = {"JPEG": ".jpg", "WEBP": ".webp", "PNG": ".png"}
_AS_IS_MODES = {"JPEG": {"RGB", "L"}, "WEBP": {"RGB", "RGBA"}, "PNG": {"RGB", "RGBA", "L"}}
# A PNG is lossless and often large: only a small one is sent to browsers as it is.
_AS_IS_PNG_BYTES = 512 * 1024
_TRANSIENT_ERRNOS = {errno.ENOSPC, errno.ENOMEM, errno.EMFILE, errno.EAGAIN, errno.EIO}
# Exceptions Pillow's decoders raise on malformed input; anything else is a bug to surface.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)
_SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that turn the picture by 90°
_SRGB = ImageCms.createProfile("sRGB")


class ImageRejected(TranscodeRejected):
    """The file cannot become an image rendition; `reason` is shown to admins as is."""


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 64 * 1024 * 1024
    max_pixels: int = 64_000_000


@dataclass(frozen=True)
class ImageOptions:
    rendition_max_size: int = 1600  # longest side of the rendition, in pixels
    rendition_format: str = "webp"  # "webp" or "jpeg"
    quality: int = 82
    thumbnail_size: int = 320


@dataclass(frozen=True)
class ImageResult:
    width: int  # as displayed: after the EXIF orientation
    height: int
    format: str  # the source's real format ("JPEG", "PNG", "WEBP", "GIF"), whatever its name
    rendition: Path
    thumbnail: Path
    rendition_width: int
    rendition_height: int
    rendition_size: int
    metadata: dict = field(default_factory=dict)  # probe-like facts; no personal metadata


def process_image(
    source: Path,
    out_dir: Path,
    *,
    stem: str = "image",
    limits: ImageLimits | None = None,
    options: ImageOptions | None = None,
) -> ImageResult:
    """Validate `source` and write `out_dir/<stem><.webp|.jpg>` and `out_dir/<stem>.thumb.jpg`.

    Raises ImageRejected with a reason a person can act on for any file that is not a usable
    JPEG, PNG, WebP or GIF (an animated one gives its first frame), and TranscodeTransient
    when writing fails for lack of disk or memory.
    """
    limits, options = limits or ImageLimits(), options or ImageOptions()
    if options.rendition_format not in _RENDITION_FORMATS:
        raise ValueError(f"unknown rendition format {options.rendition_format!r}")
    size = _checked_size(source, limits)
    # Pillow's own bomb check, as an error, backs up the explicit one in _open.
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with _open(source, limits) as image:
            animated = _load(image, options)
            metadata = _describe(image, size, animated)
            picture = _fit(image, options)
    rendition_format, suffix = _RENDITION_FORMATS[options.rendition_format]
    thumbnail = out_dir / f"{stem}.thumb.jpg"
    as_is = _served_as_is(source, metadata, picture, options)
    if as_is is not None:
        # Already a web-safe size and format with nothing but pixels: decoding proved it
        # whole, and encoding it again would cost more than the rest of the task together.
        rendition = out_dir / f"{stem}{_AS_IS_SUFFIX[metadata['format']]}"
        _write_atomically(rendition, lambda temp: temp.write_bytes(as_is))
    else:
        rendition = out_dir / f"{stem}{suffix}"
        if rendition_format == "JPEG":
            picture = _flatten(picture)
        _write(picture, rendition, rendition_format, options.quality)
    # A box reduction, then bicubic: at 320 px it looks like Lanczos in a fraction of the time.
    small = _flatten(_fitted(picture, options.thumbnail_size, Image.Resampling.BICUBIC, 1.0))
    _write(small, thumbnail, "JPEG", 80)
    width, height, rendition_size = *picture.size, rendition.stat().st_size
    metadata["rendition"] = {"format": rendition.suffix[1:], "width": width, "height": height,
                             "as_is": as_is is not None}  # fmt: skip
    metadata["thumbnail"] = {"width": small.width, "height": small.height}
    return ImageResult(metadata["width"], metadata["height"], metadata["format"], rendition,
                       thumbnail, width, height, rendition_size, metadata)  # fmt: skip


def _served_as_is(
    source: Path, facts: dict, picture: Image.Image, options: ImageOptions
) -> bytes | None:
    """The source's bytes when they can be the rendition as they are: a still JPEG (any
    rendition format: every browser shows it), WebP or small PNG (when renditions are WebP),
    within the rendition size, upright, 8-bit, without metadata of any kind (its structure
    walked: image_streams.is_bare) and without a colour profile to apply; else None."""
    fmt = facts["format"]
    if (
        fmt not in _AS_IS_SUFFIX
        or (fmt != "JPEG" and options.rendition_format != "webp")
        or (fmt == "PNG" and facts["size"] > _AS_IS_PNG_BYTES)
        or facts["animated"]
        or facts["metadata_removed"]
        or facts.get("orientation")
        or facts.get("bit_depth")
        or facts["mode"] not in _AS_IS_MODES[fmt]
        or picture.size != (facts["width"], facts["height"])  # it had to be made smaller
    ):
        return None
    data = source.read_bytes()
    return data if is_bare(data, fmt) else None


def _checked_size(source: Path, limits: ImageLimits) -> int:
    try:
        size = source.stat().st_size
    except FileNotFoundError as exc:
        raise ImageRejected("the uploaded file is missing from storage") from exc
    if size == 0:
        raise ImageRejected("file is empty")
    if size > limits.max_bytes:
        raise ImageRejected(
            f"larger than the {human_bytes(limits.max_bytes)} limit ({human_bytes(size)})"
        )
    return size


def _open(source: Path, limits: ImageLimits) -> Image.Image:
    """Read the header only, and refuse what must never be decoded."""
    try:
        image = Image.open(source, formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError as exc:
        with source.open("rb") as handle:
            raise ImageRejected(sniff_reason(handle.read(1024))) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(_bomb_reason(str(exc), limits)) from exc
    except MemoryError as exc:
        raise TranscodeTransient("out of memory while reading the image header") from exc
    except _DECODE_ERRORS as exc:
        raise ImageRejected(_damage_reason(exc, None, header=True)) from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise ImageRejected("the picture has no size (its header says 0 pixels wide or high)")
    if width * height > limits.max_pixels:
        image.close()
        raise ImageRejected(_too_many_pixels(width * height, limits, f"{width}×{height}, "))
    return image


def _too_many_pixels(pixels: int, limits: ImageLimits, dims: str = "") -> str:
    return (
        f"the picture is too large: {dims}{pixels / 1e6:,.1f} megapixels, over the "
        f"{limits.max_pixels / 1e6:,.0f} MP limit; scale it down and upload it again"
    )


def _bomb_reason(message: str, limits: ImageLimits) -> str:
    # Pillow says "Image size (N pixels) exceeds limit of M pixels, could be decompression bomb".
    found = re.search(r"\((\d+) pixels\)", message)
    pixels = int(found.group(1)) if found else limits.max_pixels + 1
    return _too_many_pixels(pixels, limits)


def _load(image: Image.Image, options: ImageOptions) -> bool:
    """Decode the first frame in full, the check that the file is whole; True if animated.

    Everything that may read pixel data runs after this (a PNG's EXIF can sit behind its
    pixels), so no decoding error can be mistaken for unreadable metadata.
    """
    if image.format == "JPEG":
        # Lets libjpeg decode a large photo at 1/2, 1/4 or 1/8 scale: less memory and time.
        image.draft(None, (options.rendition_max_size,) * 2)
    # Looks for a second frame without decoding it; then the first frame is the one loaded.
    animated = bool(_safely(lambda: getattr(image, "is_animated", False)))
    try:
        image.seek(0)
        image.load()
    except MemoryError as exc:
        raise TranscodeTransient("out of memory while decoding the image") from exc
    except _DECODE_ERRORS as exc:
        raise ImageRejected(_damage_reason(exc, image.format)) from exc
    return animated


def _describe(image: Image.Image, size: int, animated: bool) -> dict:
    """What is worth storing about the source: sizes and kinds, never metadata values."""
    exif = _safely(image.getexif) or None
    orientation = exif.get(ExifTags.Base.Orientation) if exif else None
    width, height = image.size
    if orientation in _SWAPS_AXES:
        width, height = height, width
    facts: dict = {
        "kind": "image",
        "format": image.format,
        "mode": image.mode,
        "width": width,
        "height": height,
        "size": size,
        "animated": animated,
        "has_alpha": _has_alpha(image),
        "metadata_removed": _metadata_kinds(image, exif),
    }
    if orientation and orientation != 1:
        facts["orientation"] = orientation
    if image.mode.startswith("I;16") or image.info.get("bits") == 16:
        facts["bit_depth"] = 16
    return facts


def _safely(read):
    """Metadata that cannot be parsed is ignored: it is stripped anyway."""
    try:
        return read()
    except (*_DECODE_ERRORS, KeyError, AttributeError):
        return None


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


# Pillow `info` keys that describe how to draw the pixels, not who made them or where.
_NOT_METADATA = {
    "dpi", "gamma", "transparency", "aspect", "background", "duration", "loop", "version",
    "extension", "interlace", "progressive", "progression", "jfif", "jfif_version",
    "jfif_unit", "jfif_density", "adobe", "adobe_transform", "srgb", "chromaticity", "bits",
    "compression", "mp", "mpoffset", "default_image", "blend", "disposal", "mode", "dqt",
}  # fmt: skip
_METADATA_KEYS = {"XML:com.adobe.xmp": "xmp"} | {
    key: key for key in ("exif", "xmp", "icc_profile", "comment", "photoshop")
}


def _metadata_kinds(image: Image.Image, exif: Image.Exif | None) -> list[str]:
    """Which kinds of metadata the source carried (and the outputs do not)."""
    kinds = ["exif"] if exif else []
    if exif and _safely(lambda: exif.get_ifd(ExifTags.IFD.GPSInfo)):
        kinds.append("gps")
    for key, value in image.info.items():
        kind = _METADATA_KEYS.get(key) or (None if key in _NOT_METADATA else "text")
        if kind and value and kind not in kinds:
            kinds.append(kind)
    return kinds


def _fit(image: Image.Image, options: ImageOptions) -> Image.Image:
    """The loaded frame's pixels, oriented, in sRGB, fitted into the rendition size."""
    icc = image.info.get("icc_profile")
    picture = _resizable(image)
    # The box is square and the long side is what is bounded, so fitting before turning the
    # picture gives the same size as after, on far fewer pixels.
    picture = _fitted(picture, options.rendition_max_size)
    ImageOps.exif_transpose(picture, in_place=True)
    return _to_srgb(picture, icc)


def _fitted(picture: Image.Image, longest: int, resample=Image.Resampling.LANCZOS, gap=2.0):
    """`picture` fitted into longest × longest, never enlarged (a new image when resized)."""
    scale = longest / max(picture.size)
    if scale >= 1:
        return picture
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    # reducing_gap: an integer box reduction first, then the filter on few pixels.
    return picture.resize(size, resample, reducing_gap=gap)


def _damage_reason(exc: Exception, fmt: str | None, *, header: bool = False) -> str:
    kind = {"WEBP": "WebP"}.get(fmt or "", fmt or "image")
    if "truncat" in str(exc).lower() or isinstance(exc, EOFError):
        where = "inside its header" if header else "before the picture is complete"
        return f"the {kind} file is cut short: it ends {where} (download or export it again)"
    part = "header" if header else "image data"
    return f"the {kind} {part} is damaged and cannot be decoded ({_short(exc)})"


def _short(exc: Exception) -> str:
    return (str(exc) or type(exc).__name__)[:160]


def _resizable(image: Image.Image) -> Image.Image:
    """A mode that resamples well: 8 bits per channel, alpha kept where there is any."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "CMYK"):
        return image  # resized in place: no second full-size copy
    if mode in ("P", "PA", "LA", "La", "RGBa"):
        return image.convert("RGBA" if _has_alpha(image) else "RGB")
    if mode.startswith("I"):
        wide = image.convert("I")
        low, high = wide.getextrema()
        # 16-bit samples are scaled to 8 bits; Pillow's plain conversion would clip them.
        return (wide.point(lambda v: v * (1 / 256)) if high > 255 else wide).convert("L")
    if mode == "1":
        return image.convert("L")
    return image.convert("RGB")


def _to_srgb(picture: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB or RGBA in sRGB; the source's colour profile is applied, then dropped."""
    alpha = picture.getchannel("A") if picture.mode == "RGBA" else None
    base = picture.convert("RGB") if alpha is not None else picture
    converted = None
    if icc:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if "srgb" not in (ImageCms.getProfileDescription(profile) or "").lower():
                converted = ImageCms.profileToProfile(base, profile, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None  # an unusable profile: the plain conversion below is close enough
    rgb = converted if converted is not None else base.convert("RGB")
    if alpha is not None and alpha.getextrema()[0] < 255:
        rgb.putalpha(alpha)
    return rgb


def _flatten(picture: Image.Image) -> Image.Image:
    """JPEG has no alpha: transparent parts go on white, as most pages would show them."""
    if picture.mode != "RGBA":
        return picture
    canvas = Image.new("RGB", picture.size, (255, 255, 255))
    canvas.paste(picture, mask=picture.getchannel("A"))
    return canvas


def _write(picture: Image.Image, target: Path, fmt: str, quality: int) -> None:
    """Encode bare pixels (no info, no EXIF) into a temp file, renamed into place when done."""
    clean = Image.frombytes(picture.mode, picture.size, picture.tobytes())
    params: dict = {"quality": quality}
    if fmt == "WEBP":
        params["method"] = 2  # ~3× faster than the default 4 for ~5 % more bytes
    else:
        # Progressive: a large rendition shows whole, then sharpens, while it loads.
        params.update(optimize=True, progressive=picture.width * picture.height > 200_000)
    _write_atomically(target, lambda temp: clean.save(temp, fmt, **params))


def _write_atomically(target: Path, write) -> None:
    """`write(temp)` into a temp file beside `target`, renamed into place when done."""
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write(temp)
        os.replace(temp, target)
    except OSError as exc:
        if exc.errno in _TRANSIENT_ERRNOS:
            raise TranscodeTransient(f"could not write {target.name}: {exc}") from exc
        raise
    finally:
        temp.unlink(missing_ok=True)
