"""A source that is already a web-safe picture and nothing else is its own rendition (no
second encode); anything more in the file — metadata Pillow names or not, bytes after the
picture, a size over the rendition's — sends it through the encoder as before."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from annotation_server.catalog.image_streams import is_bare
from annotation_server.catalog.images import ImageOptions, process_image


def _photo(size=(640, 480)) -> Image.Image:
    image = Image.new("RGB", size)
    for x in range(0, size[0], 16):
        image.paste((x % 256, 90, 255 - x % 256), (x, 0, x + 16, size[1]))
    return image


def _bytes(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _process(tmp_path, name: str, data: bytes, **options):
    source = tmp_path / name
    source.write_bytes(data)
    return process_image(source, tmp_path / "out", options=ImageOptions(**options))


@pytest.mark.parametrize(
    ("name", "fmt", "params"),
    [
        ("a.jpeg", "JPEG", {"quality": 85}),
        ("p.jpeg", "JPEG", {"quality": 85, "progressive": True}),
        ("a.webp", "WEBP", {"quality": 80}),
        ("a.png", "PNG", {}),
    ],
)
def test_a_bare_source_is_its_own_rendition(tmp_path, name, fmt, params):
    data = _bytes(_photo(), fmt, **params)
    assert is_bare(data, fmt)
    result = _process(tmp_path, name, data)
    assert result.rendition.read_bytes() == data
    assert result.metadata["rendition"]["as_is"] is True
    assert (result.rendition_width, result.rendition_height) == (640, 480)
    with Image.open(result.thumbnail) as thumb:
        assert thumb.size == (320, 240)  # the thumbnail is still made


def _jpeg_with_segment(marker: int, payload: bytes) -> bytes:
    data = _bytes(_photo(), "JPEG", quality=85)
    segment = bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload
    return data[:2] + segment + data[2:]


@pytest.mark.parametrize(
    "data",
    [
        _jpeg_with_segment(0xE3, b"vendor secrets"),  # an APP segment Pillow does not name
        _jpeg_with_segment(0xE0, b"JFXX\x00thumbnail"),  # an APP0 that is not JFIF
        _bytes(_photo(), "JPEG", quality=85) + b"PK\x03\x04 a zip glued on",
        _bytes(_photo(), "JPEG", quality=85, comment=b"shot at home"),
    ],
    ids=["unknown-app", "jfxx", "trailing-zip", "comment"],
)
def test_anything_beside_the_picture_is_encoded_away(tmp_path, data):
    assert not is_bare(data, "JPEG")
    result = _process(tmp_path, "a.jpeg", data)
    out = result.rendition.read_bytes()
    assert result.metadata["rendition"]["as_is"] is False and result.rendition.suffix == ".webp"
    for secret in (b"vendor secrets", b"thumbnail", b"PK\x03\x04", b"shot at home"):
        assert secret not in out


def test_png_text_chunks_and_big_or_oversized_sources_are_encoded(tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a prompt, seed 2024")
    texted = _bytes(_photo(), "PNG", pnginfo=info)
    assert not is_bare(texted, "PNG")
    assert _process(tmp_path, "t.png", texted).metadata["rendition"]["as_is"] is False

    large = _bytes(_photo((2000, 1000)), "JPEG", quality=85)
    assert is_bare(large, "JPEG")
    result = _process(tmp_path, "l.jpeg", large)
    assert result.metadata["rendition"]["as_is"] is False
    assert max(result.rendition_width, result.rendition_height) == 1600


def test_jpeg_renditions_keep_a_jpeg_but_encode_a_webp_source(tmp_path):
    jpeg = _bytes(_photo(), "JPEG", quality=85)
    assert _process(tmp_path, "a.jpeg", jpeg, rendition_format="jpeg").rendition.read_bytes() == (
        jpeg
    )
    webp = _process(tmp_path, "a.webp", _bytes(_photo(), "WEBP"), rendition_format="jpeg")
    assert webp.rendition.suffix == ".jpg" and webp.metadata["rendition"]["as_is"] is False


def test_cut_short_files_are_never_bare():
    data = _bytes(_photo(), "JPEG", quality=85)
    for cut in (data[:100], data[:-2], data[: len(data) // 2]):
        assert not is_bare(cut, "JPEG")
    png = _bytes(_photo(), "PNG")
    assert not is_bare(png[:-12], "PNG") and not is_bare(png[:40], "PNG")
