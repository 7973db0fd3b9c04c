"""The VHD11K reader on hand-made releases: shapes, encodings, hostile zips, the phrase table."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from annotation_server.catalog.importers.vhd11k import load_phrase_table, read_release
from annotation_server.catalog.importers.vhd11k_standin import write_standin
from annotation_server.catalog.importers.vhd11k_zip import (
    MemberTooLarge,
    copy_member,
    copy_member_to_path,
)

HEADER = [
    "imagePath",
    "decision",
    "harmfulType",
    "affirmativeDebater_argument_0",
    "affirmativeDebater_argument_1",
    "negativeDebater_argument_0",
    "negativeDebater_argument_1",
    "critic",
]
FOLDER = "all_10000_evenHarmfulUnharmful/"
NO_ARGUMENTS = {c: "None" for c in HEADER[3:7]}
TAXONOMY = Path(__file__).parents[2] / "annotation_server/catalog/taxonomies/vhd11k.json"


def row(name, decision="yes", harmful_type="bloody scene", critic="None", **args):
    values = {
        "affirmativeDebater_argument_0": "A0: it shows blood.\n1. red\n2. wound",
        "affirmativeDebater_argument_1": "A1: still harmful.",
        "negativeDebater_argument_0": "N0: it is paint.",
        "negativeDebater_argument_1": "N1: art.",
        **args,
    }
    return {
        "imagePath": name,
        "decision": decision,
        "harmfulType": harmful_type,
        "critic": critic,
        **values,
    }


def write_csv(path: Path, rows, *, latin1=(), header=HEADER):
    """One CSV, the rows at the indexes in `latin1` stored as ISO-8859-1 bytes."""
    with open(path, "wb") as out:
        for i, values in enumerate([dict(zip(header, header, strict=True)), *rows]):
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerow([values.get(c, "") for c in header])
            out.write(buf.getvalue().encode("iso-8859-1" if i - 1 in latin1 else "utf-8"))


def write_zip(path: Path, members: dict[str, bytes], *, folder=FOLDER):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(folder + name, data)


def release(tmp_path: Path, rows, members=None, *, latin1=(), fmt="csv") -> Path:
    names = [r["imagePath"].replace("\\", "/").rsplit("/", 1)[-1] for r in rows]
    members = {n: f"bytes of {n}".encode() for n in names} if members is None else members
    write_zip(tmp_path / "harmful_images_10000.zip", members)
    ann = tmp_path / f"harmful_image_10000_ann.{fmt}"
    if fmt == "csv":
        write_csv(ann, rows, latin1=latin1)
    else:
        ann.write_text(json.dumps(rows), encoding="utf-8")
    return tmp_path


def messages(result):
    return [str(issue) for issue in result.issues]


def test_csv_rows_become_items_with_every_argument_and_the_verdict(tmp_path):
    rows = [
        row("kkk_00005.jpeg"),
        row("toy_051_0077.jpeg", "no", "lack of direct message", critic="A fair call."),
        row("sdxl_harmful_00001_seed2024.png", "error", "error", **NO_ARGUMENTS),
    ]
    result = read_release(release(tmp_path, rows))
    assert result.issues == []
    first, second, third = result.items
    assert (first.item_id, first.media_type, first.member) == (
        "kkk_00005.jpeg",
        "image",
        FOLDER + "kkk_00005.jpeg",
    )
    assert first.label.source == "vhd11k"
    assert first.label.harmful is True and second.label.harmful is False
    assert third.label.harmful is None and third.label.decision == "error"
    assert [(a.role, a.round, a.text) for a in first.label.arguments] == [
        ("affirmative", 0, "A0: it shows blood.\n1. red\n2. wound"),
        ("negative", 0, "N0: it is paint."),
        ("affirmative", 1, "A1: still harmful."),
        ("negative", 1, "N1: art."),
    ]
    assert [a.text for a in third.label.arguments] == [None] * 4
    assert first.label.critic is None and second.label.critic == "A fair call."
    assert first.label.raw["harmfulType"] == "bloody scene"
    assert (first.line, second.line) == (2, 5)  # a multi-line argument spans lines 2–4


def test_json_records_read_as_the_csv_ones(tmp_path):
    rows = [row("kkk_00005.jpeg"), row("toy_1.jpeg", "no", "neutral expression")]
    (tmp_path / "csv").mkdir()
    (tmp_path / "json").mkdir()
    from_csv = read_release(release(tmp_path / "csv", rows))
    from_json = read_release(release(tmp_path / "json", rows, fmt="json"))
    assert from_json.issues == []
    assert [i.label for i in from_json.items] == [i.label for i in from_csv.items]
    assert [i.line for i in from_json.items] == [1, 2]  # JSON: the object's position


def test_iso_8859_1_rows_are_decoded_and_reported(tmp_path):
    rows = [
        row("a.jpeg", critic="UTF-8 — fine, café"),
        row("b.jpeg", critic="Latin-1 café scene, naïve"),
        row("c.jpeg"),
    ]
    result = read_release(release(tmp_path, rows, latin1={1}))
    assert result.issues == []
    assert [i.label.critic for i in result.items] == [
        "UTF-8 — fine, café",
        "Latin-1 café scene, naïve",
        None,
    ]
    line = result.items[1].line
    assert result.fallback_rows == [("harmful_image_10000_ann.csv", line)]
    [note] = [n for n in result.notes if n.line]
    assert (note.line, note.field) == (line, "critic") and "ISO-8859-1" in note.message


def test_a_full_path_in_the_row_is_found_by_its_file_name(tmp_path):
    rows = [row("/eva_data6/images/all/kkk_1.jpeg"), row("C:\\data\\toy_2.jpeg")]
    result = read_release(release(tmp_path, rows))
    assert result.issues == []
    assert [i.item_id for i in result.items] == ["kkk_1.jpeg", "toy_2.jpeg"]


def _hostile_zip(path: Path, case: str) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(FOLDER + "ok.jpeg", b"fine")
        if case == "traversal":
            zf.writestr("../../evil.jpeg", b"x")
        elif case == "absolute":
            zf.writestr(zipfile.ZipInfo("/etc/evil.jpeg"), b"x")
        elif case == "symlink":
            info = zipfile.ZipInfo(FOLDER + "link.jpeg")
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
        elif case == "duplicate":
            with pytest.warns(UserWarning, match="Duplicate name"):
                zf.writestr(FOLDER + "ok.jpeg", b"other bytes")


@pytest.mark.parametrize(
    "case, reason",
    [
        ("traversal", "'..'"),
        ("absolute", "absolute name"),
        ("symlink", "symlink"),
        ("duplicate", "more than once"),
    ],
)
def test_hostile_members_refuse_the_release_with_a_reason(tmp_path, case, reason):
    write_csv(tmp_path / "harmful_image_10000_ann.csv", [row("ok.jpeg")])
    _hostile_zip(tmp_path / "harmful_images_10000.zip", case)
    result = read_release(tmp_path)
    [issue] = result.issues
    assert issue.file == "harmful_images_10000.zip" and reason in issue.message


def test_a_row_whose_file_is_not_in_the_zip_is_named(tmp_path):
    path = release(tmp_path, [row("a.jpeg"), row("gone.jpeg")], {"a.jpeg": b"a"})
    result = read_release(path)
    assert messages(result) == [
        "harmful_image_10000_ann.csv:5: imagePath: gone.jpeg is not in harmful_images_10000.zip"
    ]


def test_the_same_name_in_two_folders_is_ambiguous(tmp_path):
    write_csv(tmp_path / "harmful_image_10000_ann.csv", [row("x.jpeg")])
    with zipfile.ZipFile(tmp_path / "harmful_images_10000.zip", "w") as zf:
        zf.writestr("one/x.jpeg", b"1")
        zf.writestr("two/x.jpeg", b"2")
    [issue] = read_release(tmp_path).issues
    assert issue.line == 2 and "more than once (one/x.jpeg, two/x.jpeg)" in issue.message


def test_zip_bombs_and_oversized_members_are_refused(tmp_path):
    write_csv(tmp_path / "harmful_image_10000_ann.csv", [row("bomb.png"), row("big.jpeg")])
    with zipfile.ZipFile(tmp_path / "harmful_images_10000.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(FOLDER + "bomb.png", bytes(20 * 1024 * 1024))  # 20 MB of zeros → ~20 KB
        zf.writestr(FOLDER + "big.jpeg", bytes(3000))
    result = read_release(tmp_path, max_member_bytes=64 * 1024 * 1024)
    assert any("zip bomb" in m and "bomb.png" in m for m in messages(result))
    result = read_release(tmp_path, max_member_bytes=2000)
    assert any("big.jpeg: declares 3000 bytes" in m for m in messages(result))


def test_copy_streams_a_member_with_its_sha256_and_stops_at_the_cap(tmp_path):
    data = bytes(range(256)) * 400
    path = tmp_path / "m.zip"
    write_zip(path, {"a.jpeg": data})
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(FOLDER + "a.jpeg")
        out = io.BytesIO()
        assert copy_member(archive, info, out) == (hashlib.sha256(data).hexdigest(), len(data))
        assert out.getvalue() == data
        target = tmp_path / "copy.jpeg"
        with pytest.raises(MemberTooLarge, match="more than 1000 bytes"):
            copy_member_to_path(archive, info, target, max_bytes=1000)
        assert not target.exists()


def test_names_stored_as_utf8_without_the_flag_are_found(tmp_path, monkeypatch):
    name = "Real_café_0001.mp4"
    original = zipfile.ZipInfo._encodeFilenameFlags

    def without_utf8_flag(info):  # what the release's zip tool wrote: UTF-8 bytes, no flag
        encoded, flags = original(info)
        return info.filename.encode("utf-8"), flags & ~0x800

    monkeypatch.setattr(zipfile.ZipInfo, "_encodeFilenameFlags", without_utf8_flag)
    with zipfile.ZipFile(tmp_path / "harmful_videos_1000.zip", "w") as zf:
        zf.writestr(name, b"video")
    monkeypatch.undo()
    header = ["videoPath", *HEADER[1:]]
    write_csv(
        tmp_path / "harmful_video_1000_ann.csv", [{**row(""), "videoPath": name}], header=header
    )
    result = read_release(tmp_path)
    assert result.issues == []
    [item] = result.items
    assert (item.item_id, item.media_type) == (name, "video")
    with zipfile.ZipFile(item.zip_path) as archive:
        assert archive.read(item.member) == b"video"


def test_the_phrase_table_maps_known_phrases_and_leaves_the_rest_unmapped(tmp_path):
    rows = [
        row("a.jpeg", harmful_type="Bloody scene."),  # case and final period ignored
        row("b.jpeg", harmful_type="a phrase nobody listed"),
        row("c.jpeg", harmful_type="smoking scene"),  # listed, undecided (null)
        row("d.jpeg", "no", "lack of direct message"),
        row("e.jpeg", "yes", "API refuse to answer", **NO_ARGUMENTS),
    ]
    items = read_release(release(tmp_path, rows)).items
    labels = [(i.label.category_keys, i.label.mapped) for i in items]
    assert labels == [
        (("distressing_content",), True),
        ((), False),
        ((), False),
        ((), True),
        ((), True),
    ]
    assert items[1].label.harmful_type == "a phrase nobody listed"  # kept as written
    table = load_phrase_table()
    known = {c["key"] for c in json.loads(TAXONOMY.read_text())["categories"]}
    assert all(set(v) <= known for v in table.values() if v), "table names unknown keys"


def test_row_problems_name_file_line_and_column(tmp_path):
    rows = [row("a.jpeg"), row("a.jpeg"), row("b.jpeg", decision="maybe"), row("")]
    found = messages(read_release(release(tmp_path, rows, {"a.jpeg": b"a", "b.jpeg": b"b"})))
    assert found == [
        "harmful_image_10000_ann.csv:5: imagePath: a.jpeg already has a row at "
        "harmful_image_10000_ann.csv:2",
        "harmful_image_10000_ann.csv:8: decision: is 'maybe'; it must be yes, no or error",
        "harmful_image_10000_ann.csv:11: imagePath: is empty; it must name a file in "
        "harmful_images_10000.zip",
    ]


def test_a_missing_column_or_zip_is_reported(tmp_path):
    write_csv(tmp_path / "harmful_image_10000_ann.csv", [row("a.jpeg")], header=HEADER[:5])
    write_zip(tmp_path / "harmful_images_10000.zip", {"a.jpeg": b"a"})
    assert messages(read_release(tmp_path)) == [
        "harmful_image_10000_ann.csv:1: negativeDebater_argument_0: column is missing",
        "harmful_image_10000_ann.csv:1: negativeDebater_argument_1: column is missing",
    ]
    (tmp_path / "harmful_images_10000.zip").unlink()
    assert messages(read_release(tmp_path)) == [
        "harmful_image_10000_ann.csv: harmful_images_10000.zip is missing beside it"
    ]


def test_the_stand_in_release_reads_back_whole(tmp_path):
    summary = write_standin(tmp_path, images=50, videos=2, seed=3)
    result = read_release(tmp_path)
    assert result.issues == []
    assert (summary.images, summary.videos) == (50, 2)
    assert len(result.items) == 52
    assert sorted(result.fallback_rows) == sorted(summary.latin1_rows) != []
    decisions = {i.label.decision for i in result.items}
    assert decisions == {"yes", "no", "error"}
    assert any(i.label.harmful_type == "API refuse to answer" for i in result.items)
    assert any(a.text is None for i in result.items for a in i.label.arguments)
    with zipfile.ZipFile(result.items[0].zip_path) as archive:
        sizes = set()
        for item in result.items[:4]:
            with archive.open(item.member) as fh, Image.open(fh) as image:
                sizes.add(image.size)
        assert min(w for w, _ in sizes) >= 480
    digests = set()
    for item in result.items:
        with zipfile.ZipFile(item.zip_path) as archive:
            digests.add(hashlib.sha256(archive.read(item.member)).hexdigest())
    assert len(digests) == 52, "every stand-in file has its own bytes"
