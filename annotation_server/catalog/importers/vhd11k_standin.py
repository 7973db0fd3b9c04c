"""Generated stand-ins for a VHD11K release: same files, columns, quirks and similar sizes.

The real release cannot be shipped with the project, so benchmarks and tests import this:
`harmful_image_<N>_ann.csv` + `harmful_images_<N>.zip` (JPEG and PNG files of realistic
pixel sizes under `all_<N>_evenHarmfulUnharmful/`) and `harmful_video_<M>_ann.csv` +
`harmful_videos_<M>.zip` (short H.264 clips rendered by ffmpeg). Rows carry the quirks a
reader must survive: ISO-8859-1 rows among UTF-8 ones, "None" arguments, `error`
decisions, provider refusals and multi-line arguments.
"""

from __future__ import annotations

import csv
import io
import json
import random
import struct
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from .vhd11k_text import ARGUMENT_COLUMNS, PATH_COLUMNS

COLUMNS = (  # the order the published annotator writes them
    "decision",
    "harmfulType",
    "affirmativeDebater_argument_0",
    "affirmativeDebater_argument_1",
    "negativeDebater_argument_0",
    "negativeDebater_argument_1",
    "critic",
)
KEYWORDS = ("kkk", "knife_in_hand", "culinary_knife_in_hand", "toy", "noose", "blood")
HARMFUL_PHRASES = (
    "threatening messages",
    "bloody scene",
    "scary image",
    "depicting someone suffering",
    "potential of sex intent",
    "smoking scene",
    "violent protest scene",  # in no table: stays unmapped
)
HARMLESS_PHRASES = ("neutral expression", "artistic expression", "lack of direct message")
REFUSAL = {"image": "API refuse to answer", "video": "API refuses request"}
# (source filter, width, height): distinct base clips; each video adds its own trailer box.
CLIP_SOURCES = (
    ("testsrc", 320, 240),
    ("testsrc2", 320, 240),
    ("smptebars", 256, 144),
    ("rgbtestsrc", 320, 180),
    ("mandelbrot", 240, 240),
    ("life", 320, 240),
)
FRAME_DATE = (2024, 5, 30, 0, 0, 0)


@dataclass
class StandinSummary:
    folder: Path
    images: int = 0
    videos: int = 0
    latin1_rows: list[tuple[str, int]] = field(default_factory=list)  # (file, row number)
    files: dict[str, int] = field(default_factory=dict)  # name → bytes


def write_standin(
    dest: Path,
    *,
    images: int,
    videos: int,
    seed: int = 0,
    fmt: str = "csv",
    progress: bool = False,
    workers: int = 2,
) -> StandinSummary:
    """Write a release folder at `dest` with `images` images and `videos` videos."""
    dest.mkdir(parents=True, exist_ok=True)
    summary = StandinSummary(folder=dest)
    if images:
        names = list(_image_names(images, random.Random(seed)))
        folder = f"all_{images}_evenHarmfulUnharmful/"
        zip_path = dest / f"harmful_images_{images}.zip"
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as zf:
            # Encoding runs in threads (Pillow's encoders release the GIL); writing stays in order.
            with ThreadPoolExecutor(max_workers=workers) as pool:
                blobs = pool.map(
                    lambda i: _image_bytes(names[i], seed * 1_000_003 + i), range(images)
                )
                bar = tqdm(
                    blobs, total=images, desc="stand-in images", unit="img", disable=not progress
                )
                for name, data in zip(names, bar, strict=True):
                    zf.writestr(zipfile.ZipInfo(folder + name, FRAME_DATE), data)
        summary.images = images
        _write_annotations(dest, "image", names, seed, fmt, summary)
    if videos:
        names = list(_video_names(videos, random.Random(seed + 1)))
        zip_path = dest / f"harmful_videos_{videos}.zip"
        with tempfile.TemporaryDirectory() as tmp:
            clips = _base_clips(Path(tmp), min(videos, len(CLIP_SOURCES)))
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as zf:
            bar = tqdm(names, desc="stand-in videos", unit="video", disable=not progress)
            for i, name in enumerate(bar):
                data = clips[i % len(clips)] + _free_box(f"{seed}:{i}:{name}".encode())
                zf.writestr(zipfile.ZipInfo(name, FRAME_DATE), data)
        summary.videos = videos
        _write_annotations(dest, "video", names, seed, fmt, summary)
    for path in sorted(dest.iterdir()):
        summary.files[path.name] = path.stat().st_size
    return summary


def _image_names(count: int, rng: random.Random) -> Iterator[str]:
    """Crawled (keyword) and generated (sdxl) names in the release's patterns, all distinct."""
    for i in range(count):
        if i % 2:
            yield f"sdxl_harmful_{i:05d}_seed{2024 + rng.randrange(6)}.png"
        else:
            keyword = KEYWORDS[rng.randrange(len(KEYWORDS))]
            yield f"{keyword}_{rng.randrange(100):03d}_{i:05d}.jpeg"


def _video_names(count: int, rng: random.Random) -> Iterator[str]:
    for i in range(count):
        kind = i % 4
        if kind == 0:
            yield f"Real_{KEYWORDS[rng.randrange(len(KEYWORDS))]}_{i:04d}.mp4"
        else:
            yield f"{('AniDiffSDXL', 'AniDiffv3', 'HiGen')[kind - 1]}_{i:04d}.mp4"


def _image_bytes(name: str, seed: int) -> bytes:
    """A photo-like picture (smooth colour fields plus grain) at a realistic pixel size.

    Crawled JPEGs range from thumbnails to 1600 px; generated PNGs are 1024 px squares
    downscaled by the release to about 512. Grain keeps every file's bytes distinct.
    """
    rng = np.random.default_rng(seed)
    if name.endswith(".png"):
        width = height = 512
    else:
        width = int(rng.choice((480, 640, 800, 1024, 1280, 1600)))
        height = int(width * rng.choice((0.5625, 0.75, 1.0, 1.333)))
    coarse = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    picture = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
    pixels = np.asarray(picture, dtype=np.int16)
    pixels += rng.integers(-6, 7, size=pixels.shape, dtype=np.int16)
    picture = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    if name.endswith(".png"):
        picture.save(out, "PNG", compress_level=1)
    else:
        picture.save(out, "JPEG", quality=85)
    return out.getvalue()


def _base_clips(tmp: Path, count: int) -> list[bytes]:
    """A few distinct two-second H.264 clips from ffmpeg's test sources."""
    clips = []
    for source, width, height in CLIP_SOURCES[:count]:
        target = tmp / f"{source}.mp4"
        lavfi = f"{source}=size={width}x{height}:rate=10"  # -t 2 ends the endless ones
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                lavfi,
                "-t",
                "2",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                str(target),
            ],
            check=True,
            stdin=subprocess.DEVNULL,
        )
        clips.append(target.read_bytes())
    return clips


def _free_box(payload: bytes) -> bytes:
    """An mp4 `free` box: players skip it, and it makes each copy's bytes (sha256) unique."""
    return struct.pack(">I4s", 8 + len(payload), b"free") + payload


def _write_annotations(dest: Path, media_type: str, names: list[str], seed, fmt, summary) -> None:
    count = len(names)
    path = dest / f"harmful_{media_type}_{count}_ann.{fmt}"
    rng = random.Random(seed + (2 if media_type == "video" else 3))
    rows = [_row(media_type, name, i, rng) for i, name in enumerate(names)]
    header = (PATH_COLUMNS[media_type], *COLUMNS)
    # Rows whose text has Latin-1 letters are stored as ISO-8859-1 bytes, as in the release.
    latin1 = {i for i, row in enumerate(rows) if "café" in row["critic"]}
    with open(path, "wb") as out:
        if fmt == "json":
            out.write(b"[\n")
            for i, row in enumerate(rows):
                text = json.dumps(row, ensure_ascii=False) + (",\n" if i + 1 < count else "\n")
                out.write(text.encode("iso-8859-1" if i in latin1 else "utf-8"))
                if i in latin1:
                    summary.latin1_rows.append((path.name, i + 1))
            out.write(b"]\n")
            return
        line = 1
        out.write(_csv_line(header).encode("utf-8"))
        for i, row in enumerate(rows):
            text = _csv_line([row[c] for c in header])
            if i in latin1:
                summary.latin1_rows.append((path.name, line + 1))
            out.write(text.encode("iso-8859-1" if i in latin1 else "utf-8"))
            line += text.count("\n")


def _csv_line(values) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def _row(media_type: str, name: str, i: int, rng: random.Random) -> dict[str, str]:
    row = {PATH_COLUMNS[media_type]: name, "critic": "None"}
    if i % 50 == 49:
        row.update(decision="error", harmfulType="error")
        row.update({c: "None" for _, _, c in ARGUMENT_COLUMNS})
        return row
    if i % 40 == 39:
        row.update(decision="yes", harmfulType=REFUSAL[media_type])
        row.update({c: "None" for _, _, c in ARGUMENT_COLUMNS})
        return row
    harmful = rng.random() < 0.5
    phrases = HARMFUL_PHRASES if harmful else HARMLESS_PHRASES
    row.update(decision="yes" if harmful else "no", harmfulType=rng.choice(phrases))
    for role, round_, column in ARGUMENT_COLUMNS:
        missing = round_ == 1 and i % 7 == 3  # the debate ended early for this side
        row[column] = "None" if missing else _argument(role, rng)
    if i % 23 == 5:
        row["critic"] = "The café scene reads as staged; the négative side's reasons hold."
    elif i % 5 == 0:
        row["critic"] = "Both sides argue from the same details — the judge’s call stands."
    return row


def _argument(role: str, rng: random.Random) -> str:
    side = "harmful" if role == "affirmative" else "not harmful"
    reasons = [
        f"{n}. The {rng.choice(('setting', 'object', 'gesture', 'colour'))} shown is {side} "
        f"because " + " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(40, 80))) + "."
        for n in (1, 2, 3)
    ]
    return f"I argue the content is {side}.\n" + "\n".join(reasons)


_WORDS = (
    "context viewers minors depiction scene suggests may could audience intent "
    "image frame sequence shows figure hand object light background clear harm norm"
).split()
