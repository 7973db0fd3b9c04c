"""Benchmark: import of a VHD11K-shaped release against a bare Pillow loop over its images.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotation .venv/bin/python \
        tests/benchmarks/bench_vhd11k_import.py [--images 10000 --videos 1000] [--folder DIR]

The release is the generated stand-in (`make_vhd11k_standin`: the published file names,
columns and member layout, images and clips of the release's sizes), written once into
`--folder` and reused. Three phases, each in a fresh child process so each peak memory (max
RSS) is its own:

- **baseline**: one loop that reads every image member from the zip and, with Pillow, opens
  it, verifies it, decodes it and writes a 320 px JPEG thumbnail (what "validate and
  thumbnail" costs with the same library and no platform around it);
- **import**: `batch_import` of the release folder into a throw-away PostgreSQL database
  (reading the annotation file, hashing and storing every member straight from the zips,
  writing items and the release's labels), media processing not queued;
- **process**: the media task's own function (`image_process`) run on every image the
  import stored: validation, EXIF-stripped rendition and thumbnail, the row made ready; in
  `--processes` children at once (default 2, the worker pool's size on this 2-core machine;
  `--processes 1` is the one-process figure).

It prints each phase's seconds and peak RSS, and the ratio of import + process to the
baseline (the target: at most 1.5x, peak memory at most 500 MB).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_baseline(folder: Path) -> dict:
    from PIL import Image

    start, count = time.perf_counter(), 0
    for zip_path in sorted(folder.glob("harmful_images_*.zip")):
        with zipfile.ZipFile(zip_path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                data = archive.read(info)
                with Image.open(io.BytesIO(data)) as image:
                    image.verify()
                with Image.open(io.BytesIO(data)) as image:
                    image.load()
                    image.thumbnail((320, 320))
                    image.convert("RGB").save(io.BytesIO(), "JPEG", quality=85)
                count += 1
    return {"seconds": time.perf_counter() - start, "images": count}


def _django(media: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")
    os.environ["MEDIA_ROOT"] = media
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench")
    import django

    django.setup()


def _bench_db(connection) -> str:
    """The throw-away database: named after DATABASE_URL's, so runs on one server against
    different databases never drop each other's."""
    return f"{connection.settings_dict['NAME']}_vhd11k"


def phase_import(folder: Path, media: str) -> dict:
    _django(media)
    from django.db import connection

    from annotation_server.batches.services import batch_import

    connection.settings_dict.setdefault("TEST", {})["NAME"] = _bench_db(connection)
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    start = time.perf_counter()
    result = batch_import(path=folder, name="vhd11k-bench", enqueue_transcode=False)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "items": result.pairs_created, "files": result.files_copied}


def phase_process(media: str, part: int, parts: int) -> dict:
    _django(media)
    from django.db import connection

    connection.settings_dict["NAME"] = _bench_db(connection)
    from annotation_server.catalog.models import MediaType, Video
    from annotation_server.catalog.tasks import image_process

    images = Video.objects.filter(media_type=MediaType.IMAGE)
    pks = list(images.order_by("pk").values_list("pk", flat=True))[part::parts]
    start = time.perf_counter()
    for pk in pks:
        image_process(video_pk=pk)
    return {"seconds": time.perf_counter() - start, "images": len(pks)}


def phase_drop(media: str) -> dict:
    """The states the images ended in, then the throw-away database dropped."""
    _django(media)
    from django.db import connection
    from django.db.models import Count

    name = connection.settings_dict["NAME"] = _bench_db(connection)
    from annotation_server.catalog.models import MediaType, Video

    images = Video.objects.filter(media_type=MediaType.IMAGE)
    states = dict(images.values_list("status").annotate(n=Count("id")))
    connection.close()
    connection.creation.destroy_test_db(name, verbosity=0, keepdb=False)
    return {"states": states}


def _command(phase: str, folder: Path, media: str, *extra: str) -> list[str]:
    return [sys.executable, __file__, "--phase", phase, "--folder", str(folder), "--media", media,
            *extra]  # fmt: skip


def _children(commands: list[list[str]]) -> list[dict]:
    """Run the commands at once; each one's last line of output (its JSON figures)."""
    running = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in commands]
    results = []
    for child in running:
        out, _ = child.communicate()
        if child.returncode:
            raise SystemExit(f"{' '.join(child.args)} failed ({child.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _child(phase: str, folder: Path, media: str) -> dict:
    return _children([_command(phase, folder, media)])[0]


def _standin(folder: Path, images: int, videos: int) -> None:
    marker = folder / "standin.json"
    wanted = {"images": images, "videos": videos}
    if marker.is_file() and json.loads(marker.read_text()) == wanted:
        return
    # In a child: a process's peak RSS carries over to the children it starts afterwards.
    subprocess.run(
        [sys.executable, __file__, "--phase", "standin", "--folder", str(folder),
         "--images", str(images), "--videos", str(videos)],
        check=True,
    )  # fmt: skip


def phase_standin(folder: Path, images: int, videos: int) -> dict:
    _django(tempfile.mkdtemp(prefix="bench-media-"))
    from annotation_server.catalog.importers.vhd11k_standin import write_standin

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    write_standin(folder, images=images, videos=videos, seed=11, progress=True)
    (folder / "standin.json").write_text(json.dumps({"images": images, "videos": videos}))
    return {"seconds": 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--videos", type=int, default=1_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/bench-vhd11k-standin"))
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--phase", choices=["standin", "baseline", "import", "process", "drop"])
    parser.add_argument("--media")
    parser.add_argument("--part", type=int, default=0)
    args = parser.parse_args()
    if args.phase:
        run = {
            "baseline": lambda: phase_baseline(args.folder),
            "import": lambda: phase_import(args.folder, args.media),
            "process": lambda: phase_process(args.media, args.part, args.processes),
            "drop": lambda: phase_drop(args.media),
            "standin": lambda: phase_standin(args.folder, args.images, args.videos),
        }[args.phase]
        figures = run()
        figures["peak_mb"] = round(_peak_mb(), 1)
        print(json.dumps(figures))
        return

    _standin(args.folder, args.images, args.videos)
    size = sum(p.stat().st_size for p in args.folder.glob("*.zip")) / 1e6
    print(f"release: {args.images:,} images + {args.videos:,} videos, zips {size:,.0f} MB")
    with tempfile.TemporaryDirectory(prefix="bench-media-") as media:
        baseline = _child("baseline", args.folder, media)
        imported = _child("import", args.folder, media)
        start = time.perf_counter()
        parts = _children(
            [
                _command("process", args.folder, media, "--part", str(i),
                         "--processes", str(args.processes))
                for i in range(args.processes)
            ]
        )  # fmt: skip
        processed = {
            "seconds": time.perf_counter() - start,
            "peak_mb": max(p["peak_mb"] for p in parts),
            "images": sum(p["images"] for p in parts),
            "processes": args.processes,
        }
        processed["states"] = _child("drop", args.folder, media)["states"]
    for name, figures in (("baseline", baseline), ("import", imported), ("process", processed)):
        rest = {k: v for k, v in figures.items() if k not in ("seconds", "peak_mb")}
        print(f"{name:9} {figures['seconds']:8.1f} s  peak {figures['peak_mb']:6.0f} MB  {rest}")
    total = imported["seconds"] + processed["seconds"]
    print(
        f"import + process {total:.1f} s = {total / baseline['seconds']:.2f}x the bare loop; "
        f"import alone {imported['seconds'] / baseline['seconds']:.2f}x; "
        f"peak {max(imported['peak_mb'], processed['peak_mb']):.0f} MB"
    )


if __name__ == "__main__":
    main()
