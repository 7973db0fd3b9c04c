"""What an image file's bytes are: nothing but its picture (so the source can serve as its
own rendition, catalog/images.py, instead of being decoded and encoded again), or, when
Pillow's decoders do not recognise them, what kind of file they are (for the refusal).

Pillow's `info` names the metadata it understands; a file can carry more (an unknown JPEG
APP segment, a PNG text chunk Pillow skips, bytes after the end of the picture, a second
file glued on). So the file's own structure is walked, and only the parts needed to draw the
picture are allowed: JPEG markers SOI, SOF*, DHT, DAC, DQT, DRI, SOS, RST*, EOI, APP0 JFIF and
APP14 Adobe (colour transform); PNG chunks IHDR, PLTE, tRNS, sRGB, pHYs, IDAT, IEND; WebP's
simple format (one VP8 or VP8L chunk, no VP8X). Anything else, or any byte after the end,
makes the answer False, and the image is re-encoded from its pixels as always.

No Django here; pure functions on bytes.
"""

from __future__ import annotations

import struct

ACCEPTED_TEXT = "JPEG, PNG, WebP or GIF"

_JPEG_FRAME = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_TABLES = {0xC4, 0xCC, 0xDB, 0xDD}  # DHT, DAC, DQT, DRI
_JPEG_APP = {0xE0: b"JFIF\x00", 0xEE: b"Adobe"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"sRGB", b"pHYs", b"IDAT", b"IEND"}


def is_bare(data: bytes, fmt: str) -> bool:
    """True when `data`, a file of Pillow format `fmt`, holds only what draws its picture."""
    walk = {"JPEG": _bare_jpeg, "PNG": _bare_png, "WEBP": _bare_webp}.get(fmt)
    try:
        return bool(walk and walk(data))
    except (IndexError, ValueError, struct.error):  # ValueError: bytes.index found none
        return False  # cut short: not for this path (the decoder has its own say)


def _bare_jpeg(data: bytes) -> bool:
    if data[:2] != b"\xff\xd8":
        return False
    i, end = 2, len(data)
    while i < end:
        if data[i] != 0xFF:
            return False
        while data[i] == 0xFF:  # fill bytes before a marker
            i += 1
        marker = data[i]
        i += 1
        if marker == 0xD9:  # EOI: the picture ends here, and so must the file
            return i == end
        if 0xD0 <= marker <= 0xD7:
            continue
        length = struct.unpack(">H", data[i : i + 2])[0]
        if length < 2:
            return False
        segment = data[i + 2 : i + length]
        if marker in _JPEG_APP:
            if not segment.startswith(_JPEG_APP[marker]):
                return False
        elif marker not in _JPEG_FRAME and marker not in _JPEG_TABLES and marker != 0xDA:
            return False  # APP1 (EXIF, XMP), APP2 (ICC), APP13, COM, …
        i += length
        if marker == 0xDA:
            i = _after_scan(data, i)
    return False  # no EOI


def _after_scan(data: bytes, i: int) -> int:
    """The index of the marker that ends the entropy-coded data starting at `i`."""
    while True:
        i = data.index(b"\xff", i)
        following = data[i + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            i += 1 if following == 0xFF else 2  # stuffed byte, restart marker, fill
            continue
        return i


def _bare_png(data: bytes) -> bool:
    if not data.startswith(_PNG_SIGNATURE):
        return False
    i, end = len(_PNG_SIGNATURE), len(data)
    while i < end:
        length, kind = struct.unpack(">I4s", data[i : i + 8])
        if kind not in _PNG_CHUNKS:
            return False  # tEXt, iTXt, zTXt, eXIf, iCCP, tIME, acTL, private chunks, …
        i += 12 + length
        if kind == b"IEND":
            return i == end
    return False


def _bare_webp(data: bytes) -> bool:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    riff_size = struct.unpack("<I", data[4:8])[0]
    chunk, size = data[12:16], struct.unpack("<I", data[16:20])[0]
    # The simple format: one image chunk (padded to even), filling the RIFF exactly.
    return chunk in (b"VP8 ", b"VP8L") and riff_size + 8 == len(data) == 20 + size + (size & 1)


_CONVERT = f"; only {ACCEPTED_TEXT} images are accepted (convert it to PNG or JPEG)"
_DAMAGED = " file: its header cannot be read"
# (offset, bytes there, what the file is); the first match wins.
_SIGNATURES = (
    (0, b"\xff\xd8\xff", "a damaged JPEG" + _DAMAGED),
    (0, b"\x89PNG\r\n\x1a\n", "a damaged PNG" + _DAMAGED),
    (0, b"GIF8", "a damaged GIF" + _DAMAGED),
    (8, b"WEBP", "a damaged WebP" + _DAMAGED),
    (0, b"II*\x00", "a TIFF image" + _CONVERT),
    (0, b"MM\x00*", "a TIFF image" + _CONVERT),
    (0, b"8BPS", "a Photoshop document" + _CONVERT),
    (0, b"\x00\x00\x01\x00", "an icon file" + _CONVERT),
    (0, b"\xff\x0a", "a JPEG XL image" + _CONVERT),
    (4, b"JXL ", "a JPEG XL image" + _CONVERT),
    (0, b"qoif", "a QOI image" + _CONVERT),
    *((4, b"ftyp" + brand, "a HEIC photo" + _CONVERT) for brand in (b"heic", b"heix", b"mif1")),
    *((4, b"ftyp" + brand, "an AVIF image" + _CONVERT) for brand in (b"avif", b"avis")),
    (4, b"ftyp", "a video file, not an image"),
    (0, b"%PDF", "a PDF document, not an image"),
    (0, b"PK\x03\x04", "a zip archive, not an image"),
)


def sniff_reason(head: bytes) -> str:
    """Why bytes Pillow's four decoders do not recognise are refused, in a person's words."""
    for offset, magic, reason in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return reason
    if head[:2] == b"BM" and len(head) > 18 and head[14] in (12, 40, 52, 56, 64, 108, 124):
        return "a BMP image" + _CONVERT
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text:
        return "an SVG drawing, which is not accepted (it can carry scripts); export it as PNG"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "a web page (HTML), not an image"
    if _looks_like_text(head):
        return "a text file, not an image"
    return f"not an image file ({ACCEPTED_TEXT}), or one damaged beyond recognition"


def _looks_like_text(head: bytes) -> bool:
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of the sample is still text.
        try:
            decoded = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(char.isprintable() or char in "\t\r\n\f" for char in decoded)
