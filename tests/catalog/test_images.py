"""The image pipeline's pure core on real files made with Pillow: what an admin sees for each
kind of upload, and that nothing of the source's metadata reaches the outputs."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from annotation_server.catalog.images import (
    ImageLimits,
    ImageOptions,
    ImageRejected,
    process_image,
)

RED, BLUE = (220, 20, 20), (20, 20, 220)
# Chunk and marker names under which each format stores metadata.
WEBP_METADATA = (b"EXIF", b"ICCP", b"XMP ")
JPEG_METADATA = (b"Exif\x00\x00", b"ICC_PROFILE", b"http://ns.adobe.com/xap", b"\xff\xfe")


def _exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "SecretCam"  # Make
    exif[0xA431] = "SN-123456"  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 3.25)})
    return exif


def _icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _halves(size=(200, 100), left=RED, right=BLUE, mode="RGB") -> Image.Image:
    image = Image.new(mode, size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(width: int, height: int, idat: bytes) -> bytes:
    """A PNG whose header claims width×height pixels over a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "out"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _save(tmp_path: Path, name: str, image: Image.Image, fmt: str, **params) -> Path:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return _write(tmp_path, name, buffer.getvalue())


def _rejected(path: Path, out: Path, **kwargs) -> str:
    with pytest.raises(ImageRejected) as caught:
        process_image(path, out, **kwargs)
    assert not out.exists() or not any(out.iterdir())  # nothing half-made is left
    return caught.value.reason


def _assert_no_metadata(result) -> None:
    rendition = result.rendition.read_bytes()
    thumbnail = result.thumbnail.read_bytes()
    assert not any(tag in rendition for tag in WEBP_METADATA)
    assert not any(tag in thumbnail for tag in JPEG_METADATA)
    for data in (rendition, thumbnail):
        assert b"SecretCam" not in data and b"SN-123456" not in data
    for path in (result.rendition, result.thumbnail):
        with Image.open(path) as image:
            assert not image.getexif()
            assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)


def test_phone_jpeg_is_turned_upright_and_loses_exif_gps_icc_and_comment(tmp_path, out):
    # Stored sideways (200×100, red left, blue right); orientation 6 says "turn 90° clockwise".
    source = _save(tmp_path, "phone.jpg", _halves(), "JPEG", exif=_exif_with_gps(6),
                   icc_profile=_icc(), comment=b"SecretCam comment")  # fmt: skip
    result = process_image(source, out, stem="p")

    assert (result.width, result.height, result.format) == (100, 200, "JPEG")
    with Image.open(result.rendition) as rendition:
        assert rendition.format == "WEBP" and rendition.size == (100, 200)
        top, bottom = rendition.getpixel((50, 10)), rendition.getpixel((50, 190))
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]  # the left edge is now on top
    _assert_no_metadata(result)
    assert {"exif", "gps", "icc_profile", "comment"} <= set(result.metadata["metadata_removed"])
    assert result.metadata["orientation"] == 6
    assert "SecretCam" not in json.dumps(result.metadata)  # kinds only, never values


def test_png_text_chunks_and_xmp_are_dropped_and_transparency_kept(tmp_path, out):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "SecretCam")
    info.add_text("Comment", "SecretCam", zip=True)
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>SecretCam</x:xmpmeta>")
    image = _halves(mode="RGBA", left=(*RED, 255), right=(0, 0, 0, 0))
    source = _save(tmp_path, "sticker.png", image, "PNG", pnginfo=info, icc_profile=_icc())
    result = process_image(source, out)

    _assert_no_metadata(result)
    assert {"text", "xmp", "icc_profile"} <= set(result.metadata["metadata_removed"])
    with Image.open(result.rendition) as rendition:
        assert rendition.mode == "RGBA"
        assert rendition.getpixel((190, 50))[3] == 0 and rendition.getpixel((10, 50))[3] == 255
    with Image.open(result.thumbnail) as thumbnail:  # JPEG: transparent parts on white
        assert thumbnail.getpixel((thumbnail.width - 2, 10)) > (240, 240, 240)


def test_webp_source(tmp_path, out):
    source = _save(tmp_path, "in.webp", _halves(), "WEBP", exif=_exif_with_gps())
    result = process_image(source, out)
    assert (result.format, result.width, result.height) == ("WEBP", 200, 100)
    _assert_no_metadata(result)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])  # GIF, animated WebP, APNG
def test_animation_gives_its_first_frame(tmp_path, out, fmt):
    frames = [Image.new("RGB", (60, 40), colour) for colour in (RED, (20, 200, 20), BLUE)]
    source = _save(tmp_path, f"anim.{fmt}", frames[0], fmt, save_all=True,
                   append_images=frames[1:], duration=100, loop=0)  # fmt: skip
    result = process_image(source, out)
    assert result.metadata["animated"] is True
    with Image.open(result.rendition) as rendition:
        assert not getattr(rendition, "is_animated", False)
        pixel = rendition.convert("RGB").getpixel((30, 20))
    assert pixel[0] > 180 and pixel[1] < 60  # red, the first frame


def test_cmyk_jpeg_becomes_rgb_with_the_right_colour(tmp_path, out):
    source = _save(tmp_path, "print.jpg", Image.new("CMYK", (80, 80), (0, 255, 255, 0)), "JPEG")
    result = process_image(source, out)
    with Image.open(result.rendition) as rendition:
        assert rendition.mode == "RGB"
        red, green, blue = rendition.getpixel((40, 40))
    assert red > 200 and green < 60 and blue < 60


def test_palette_png_with_transparency_keeps_it(tmp_path, out):
    image = Image.new("P", (40, 40), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(0, (0, 0, 20, 40))
    source = _save(tmp_path, "pal.png", image, "PNG", transparency=0)
    with Image.open(process_image(source, out).rendition) as rendition:
        assert rendition.mode == "RGBA"
        assert rendition.getpixel((5, 5))[3] == 0 and rendition.getpixel((35, 5))[:1] == (255,)


def test_sixteen_bit_grey_png_is_scaled_not_clipped(tmp_path, out):
    source = _save(tmp_path, "deep.png", Image.new("I;16", (32, 32), 40000), "PNG")
    result = process_image(source, out)
    assert result.metadata["bit_depth"] == 16
    with Image.open(result.rendition) as rendition:
        grey = rendition.convert("L").getpixel((16, 16))
    assert abs(grey - 40000 // 256) <= 3  # clipping would give 255


def test_large_photo_is_fitted_into_the_rendition_and_thumbnail_sizes(tmp_path, out):
    source = _save(tmp_path, "big.jpg", _halves((4000, 2500)), "JPEG", quality=70)
    result = process_image(source, out)
    assert (result.width, result.height) == (4000, 2500)
    assert (result.rendition_width, result.rendition_height) == (1600, 1000)
    assert result.metadata["thumbnail"] == {"width": 320, "height": 200}
    assert result.rendition_size == result.rendition.stat().st_size


def test_small_image_is_never_enlarged_and_png_named_jpg_is_read_as_png(tmp_path, out):
    source = _save(tmp_path, "mislabelled.jpg", _halves((64, 48)), "PNG")
    result = process_image(source, out)
    assert (result.format, result.rendition_width, result.rendition_height) == ("PNG", 64, 48)


def test_jpeg_renditions_on_request(tmp_path, out):
    image = _halves(mode="RGBA", left=(*RED, 255), right=(0, 0, 0, 0))
    source = _save(tmp_path, "a.png", image, "PNG")
    result = process_image(source, out, options=ImageOptions(rendition_format="jpeg"))
    assert result.rendition.suffix == ".jpg"
    with Image.open(result.rendition) as rendition:
        assert rendition.format == "JPEG" and rendition.getpixel((190, 50)) > (240, 240, 240)


def test_decompression_bomb_is_refused_from_its_header(tmp_path, out):
    source = _write(tmp_path, "bomb.png", _png_header_only(100_000, 100_000, zlib.compress(b"")))
    reason = _rejected(source, out)
    assert reason.startswith("the picture is too large: 10,000.0 megapixels, over the 64 MP")


def test_too_many_pixels_is_refused_before_decoding(tmp_path, out):
    # Garbage pixel data: only a refusal from the header gives a size reason, not a damage one.
    source = _write(tmp_path, "wide.png", _png_header_only(2000, 1000, b"garbage"))
    reason = _rejected(source, out, limits=ImageLimits(max_pixels=1_000_000))
    assert reason.startswith("the picture is too large: 2.0 megapixels, over the 1 MP limit")


def test_gif_with_a_huge_canvas_is_refused(tmp_path, out):
    source = _save(tmp_path, "small.gif", Image.new("P", (4, 4)), "GIF")
    data = bytearray(source.read_bytes())
    data[6:10] = struct.pack("<HH", 65535, 65535)  # the logical screen size
    reason = _rejected(_write(tmp_path, "huge.gif", bytes(data)), out)
    assert "megapixels, over the 64 MP limit" in reason


@pytest.mark.parametrize("fmt,name", [("JPEG", "cut.jpg"), ("PNG", "cut.png")])
def test_truncated_file_says_it_is_cut_short(tmp_path, out, fmt, name):
    whole = _save(tmp_path, f"whole.{fmt}", Image.effect_noise((300, 300), 60), fmt).read_bytes()
    source = _write(tmp_path, name, whole[: len(whole) // 2])
    assert f"the {fmt} file is cut short" in _rejected(source, out)


@pytest.mark.parametrize(
    "name,data,expected",
    [
        ("empty.jpg", b"", "file is empty"),
        ("page.png", b"<!DOCTYPE html><html><script>alert(1)</script></html>",
         "a web page (HTML), not an image"),
        ("notes.jpg", "hello, this is a text file. Grüße\n".encode(), "a text file, not an image"),
        ("logo.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>',
         "an SVG drawing, which is not accepted (it can carry scripts); export it as PNG"),
        ("noise.jpg", bytes(range(256)) * 16, "not an image file (JPEG, PNG, WebP or GIF)"),
        ("header.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "a damaged PNG file"),
        ("doc.jpg", b"%PDF-1.7\n", "a PDF document, not an image"),
        ("clip.jpg", b"\x00\x00\x00\x20ftypisom" + b"\x00" * 40, "a video file, not an image"),
        ("photo.jpg", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40, "a HEIC photo; only JPEG"),
    ],
)  # fmt: skip
def test_files_that_are_not_usable_images(tmp_path, out, name, data, expected):
    assert _rejected(_write(tmp_path, name, data), out).startswith(expected)


def test_other_image_formats_name_what_they_are(tmp_path, out):
    source = _save(tmp_path, "scan.jpg", _halves(), "TIFF")
    assert _rejected(source, out).startswith("a TIFF image; only JPEG, PNG, WebP or GIF")
    source = _save(tmp_path, "old.png", _halves(), "BMP")
    assert _rejected(source, out).startswith("a BMP image")


def test_size_limit_and_missing_file(tmp_path, out):
    source = _save(tmp_path, "a.png", Image.effect_noise((200, 200), 50), "PNG")
    reason = _rejected(source, out, limits=ImageLimits(max_bytes=10_000))
    assert reason.startswith("larger than the 9.8 KB limit")
    assert _rejected(tmp_path / "gone.png", out) == "the uploaded file is missing from storage"


def test_one_process_handles_every_hostile_file_then_a_good_one(tmp_path, out):
    hostile = [
        _png_header_only(100_000, 100_000, b""),
        _png_header_only(3, 3, b"\x78\x9c" + b"\xff" * 50),
        b"\xff\xd8\xff\xe0" + bytes(200),
        b"GIF89a" + struct.pack("<HH", 10, 10) + bytes(30),
        b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(20),
    ]
    for index, data in enumerate(hostile):
        _rejected(_write(tmp_path, f"h{index}.img", data), out)
    good = _save(tmp_path, "good.png", _halves(), "PNG")
    assert process_image(good, out).rendition.exists()
