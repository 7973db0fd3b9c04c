"""`export_safesora --format hf`: a folder `datasets.load_dataset` reads with typed features,
holding the same records as the SafeSora export, and a dataset card."""

from __future__ import annotations

import pytest
import yaml
from datasets import ClassLabel, Video, load_dataset
from django.core.management import CommandError, call_command

from .annotating import put_renditions
from .spec_reader import HARM_KEYS, read_dataset
from .world import build_world

SPLIT_OPTIONS = ("--test-fraction", "0.4", "--seed", "11")


def _export(out, *args: str) -> None:
    call_command("export_safesora", "--out", str(out), *SPLIT_OPTIONS, *args, verbosity=0)


def _card(out) -> tuple[dict, str]:
    _, front, body = (out / "README.md").read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(front), body


def _as_record(row: dict, features) -> dict:
    """A loaded preference row turned back into the SafeSora record it came from."""
    side = features["helpfulness"].int2str
    prompt = {
        "prompt_id": row["prompt_id"],
        "prompt_text": row["prompt_text"],
        "prompt_type": features["prompt_type"].int2str(row["prompt_type"]),
    }
    videos = {}
    for name in ("video_0", "video_1"):
        video = row[name]
        videos[name] = {
            **prompt,
            "prompt_labels": row["prompt_labels"],
            **{k: video[k] for k in ("video_id", "video_text", "video_path", "is_safe")},
            "generated_from": video["generated_from"],
        }
    return {
        "pair_id": row["pair_id"],
        **prompt,
        **videos,
        "helpfulness": side(row["helpfulness"]),
        "harmlessness": side(row["harmlessness"]),
        "sub_preferences": {k: side(v) for k, v in row["sub_preferences"].items()},
    }


def _undecoded(split):
    """Videos as {bytes, path}: decoding them needs torchcodec, which the suite lacks."""
    if "video" in split.features:  # a label row is one video
        return split.cast_column("video", Video(decode=False))
    for name in ("video_0", "video_1"):
        split = split.cast_column(name, {**split.features[name], "video": Video(decode=False)})
    return split


@pytest.mark.django_db
def test_hf_folder_loads_typed_with_the_records_of_the_safesora_export(
    make_user, media_root, clip, tmp_path
):
    world = build_world(make_user)
    put_renditions(media_root, clip, world.videos)
    _export(tmp_path / "json")
    expected = read_dataset(tmp_path / "json", "preference")
    out = tmp_path / "hf"
    _export(out, "--format", "hf", "--videos", "embed")

    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data"]
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00001.parquet",
    ]
    loaded = load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    features = loaded["train"].features
    assert features["helpfulness"] == ClassLabel(names=["video_0", "video_1"])
    assert features["sub_preferences"]["aesthetics"].names == ["video_0", "video_1"]
    assert features["prompt_harms"].feature.names[7] == "violence"  # S8
    assert isinstance(features["video_0"]["video"], Video)
    for split in ("train", "test"):
        rows = list(_undecoded(loaded[split]))
        assert [_as_record(r, features) for r in rows] == expected[split]
        for row in rows:
            for name in ("video_0", "video_1"):
                assert row[name]["video"]["bytes"] == clip.read_bytes()
                assert row[name]["video"]["path"] == row[name]["video_path"]
    violent = next(r for r in loaded["train"].to_list() + loaded["test"].to_list()
                   if r["prompt_id"] == "pviolent01")  # fmt: skip
    assert violent["prompt_harms"] == [HARM_KEYS_S_ORDER.index("violence")]
    assert violent["prompt_labels"]["violence"] is True

    card, body = _card(out)
    assert card["license"] == "cc-by-nc-4.0"
    (config,) = card["configs"]
    assert config["default"] is True
    info = card["dataset_info"][0]
    counts = {s["name"]: s["num_examples"] for s in info["splits"]}
    assert counts == {"train": len(expected["train"]), "test": len(expected["test"])}
    assert "Krippendorff" in body and "Batch `main`" in body
    assert "| 7 | S8 | `violence` |" in body


# The taxonomy's S1–S12 order, as the docs list it (class ids of prompt_harms / video_harms).
HARM_KEYS_S_ORDER = [
    "porn", "animal_abuse", "child_abuse", "crime", "controversial", "contraband", "hate",
    "violence", "racism", "other_discrimination", "terrorism", "other_harmful",
]  # fmt: skip
assert set(HARM_KEYS_S_ORDER) == HARM_KEYS


@pytest.mark.django_db
def test_all_kinds_are_configurations_and_an_empty_split_is_left_out(make_user, tmp_path):
    build_world(make_user)
    out = tmp_path / "hf"
    _export(out, "--kind", "all", "--format", "hf", "--test-fraction", "0")
    cache = str(tmp_path / "cache")

    default = load_dataset(str(out), cache_dir=cache)
    assert list(default) == ["train"]  # no test split: nothing written, nothing listed
    assert "pair_id" in default["train"].features
    row = _undecoded(default["train"])[0]
    assert row["video_0"]["video"] == {"bytes": None, "path": row["video_0"]["video_path"]}

    labels = _undecoded(load_dataset(str(out), "label", cache_dir=cache)["train"])
    json_labels = read_dataset(_json(tmp_path, "label"), "label")["train"]
    assert len(labels) == len(json_labels) == 9
    unsafe = [r["video_id"] for r in labels if not r["is_safe"]]
    assert unsafe == [r["video_id"] for r in json_labels if not r["is_safe"]] != []
    assert len(load_dataset(str(out), "eval", cache_dir=cache)["train"]) == 3
    assert not (out / "data" / "preference" / "test-00000-of-00001.parquet").exists()


def _json(tmp_path, kind: str):
    out = tmp_path / f"json-{kind}"
    call_command("export_safesora", "--out", str(out), "--kind", kind, "--test-fraction", "0",
                 verbosity=0)  # fmt: skip
    return out


@pytest.mark.django_db
def test_push_without_a_token_fails_before_exporting(make_user, tmp_path, monkeypatch):
    import huggingface_hub.constants as hub_constants

    build_world(make_user)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setattr(hub_constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    out = tmp_path / "hf"
    with pytest.raises(CommandError, match="No Hugging Face token: set HF_TOKEN"):
        _export(out, "--format", "hf", "--push-to-hub", "someone/safety-prefs")
    assert not out.exists()


@pytest.mark.django_db
def test_hf_options_are_checked(tmp_path):
    cases = [
        (["--format", "hf", "--videos", "copy"], "use --videos embed"),
        (["--videos", "embed"], "--videos must be copy, link or none"),
        (["--push-to-hub", "a/b"], "add --format hf"),
    ]
    for args, message in cases:
        with pytest.raises(CommandError, match=message):
            _export(tmp_path / "x", *args)
    assert not (tmp_path / "x").exists()
