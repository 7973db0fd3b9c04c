"""`--force` replaces an earlier export and nothing else: a mistyped --out is never deleted."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from annotation_server.catalog.models import Prompt
from annotation_server.taxonomy import harm_label


def _export(out, *args):
    call_command("export_safesora", "--out", str(out), "--kind", "eval", *args, verbosity=0)


@pytest.fixture
def prompt(db):
    return Prompt.objects.create(
        prompt_id="p1", text="a prompt", prompt_type="safety_neutral", prompt_labels=harm_label()
    )


def test_force_refuses_a_folder_that_is_not_an_export_and_keeps_it(prompt, tmp_path):
    precious = tmp_path / "home"
    (precious / "projects").mkdir(parents=True)
    (precious / "notes.txt").write_text("keep me")
    (precious / "config-train.json.gz").write_bytes(b"looks like one, but is not alone")
    with pytest.raises(CommandError, match="not part of a SafeSora export"):
        _export(precious, "--force")
    assert (precious / "notes.txt").read_text() == "keep me"
    assert (precious / "projects").is_dir()
    # Nothing half-written beside it either.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_force_replaces_an_earlier_export(prompt, tmp_path):
    out = tmp_path / "dataset"
    _export(out)
    _export(out, "--force")
    # One prompt: the test split has no record, so it has no config.
    assert sorted(p.name for p in out.iterdir()) == ["config-train.json.gz"]


def test_force_replaces_an_earlier_all_kinds_export(prompt, tmp_path):
    out = tmp_path / "dataset"
    call_command("export_safesora", "--out", str(out), "--kind", "all", verbosity=0)
    call_command("export_safesora", "--out", str(out), "--kind", "all", "--force", verbosity=0)
    assert sorted(p.name for p in out.iterdir()) == ["eval", "label", "preference"]


def test_force_refuses_an_export_folder_with_a_stranger_inside_a_kind(prompt, tmp_path):
    out = tmp_path / "dataset"
    call_command("export_safesora", "--out", str(out), "--kind", "all", verbosity=0)
    (out / "label" / "thesis.tex").write_text("keep me")
    with pytest.raises(CommandError, match="not part of a SafeSora export"):
        call_command("export_safesora", "--out", str(out), "--kind", "all", "--force", verbosity=0)
    assert (out / "label" / "thesis.tex").read_text() == "keep me"
