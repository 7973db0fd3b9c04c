"""A split with no records is not written, the summary says so, and the folder imports."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from annotation_server.batches.models import Pair

from .annotating import clear_catalog, put_renditions
from .spec_reader import load_config, read_dataset
from .world import build_world


@pytest.mark.django_db
def test_test_fraction_0_writes_no_test_split_and_the_folder_imports(
    make_user, media_root, clip, tmp_path, capsys
):
    world = build_world(make_user)
    put_renditions(media_root, clip, world.videos)
    out = tmp_path / "small"
    call_command("export_safesora", "--out", str(out), "--videos", "copy", "--test-fraction", "0")
    printed = capsys.readouterr().out
    assert "preference: 9 train, 0 test records" in printed
    assert "test split: no records, not written" in printed
    assert sorted(p.name for p in out.iterdir()) == ["config-train.json.gz", "videos"]
    # What the SafeSora loaders do: load a config by its name, here the only one there is.
    assert len(load_config(out / "config-train.json.gz")) == 9
    assert len(read_dataset(out, "preference", videos=True)["train"]) == 9

    clear_catalog()
    call_command("import_batch", str(out), "--name", "again", "--no-transcode", verbosity=0)
    assert Pair.objects.filter(batch__name="again").count() == 9


@pytest.mark.django_db
def test_an_all_test_export_leaves_out_train_in_every_kind(make_user, tmp_path, capsys):
    build_world(make_user)
    out = tmp_path / "all"
    call_command("export_safesora", "--out", str(out), "--kind", "all", "--test-fraction", "1")
    printed = capsys.readouterr().out
    assert printed.count("train split: no records, not written") == 3
    for kind in ("preference", "label", "eval"):
        assert not (out / kind / "config-train.json.gz").exists()
        assert read_dataset(out / kind, kind)["test"]
