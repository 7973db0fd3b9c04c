"""The offline detector (NudeNet's ONNX model, on this CPU, no network) on real photographs:
what it finds, how its classes become a verdict in the batch's taxonomy, a run over images
and a video, the unsure band, and items it cannot read."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import matplotlib.cbook
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Video
from annotation_server.catalog.taxonomy_data import taxonomy_ensure_built_in, taxonomy_save
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.jobs import job_execute
from annotation_server.machines.annotators import machine_annotator_save
from annotation_server.machines.calls import Usage, Verdict
from annotation_server.machines.detector import NudeNet, decode
from annotation_server.machines.detector_mapping import DEFAULT_MAPPINGS, Rule, detections_answer
from annotation_server.machines.models import MachineAnnotator, MachineRun
from annotation_server.machines.prompts import Question
from annotation_server.machines.runs import KIND, machine_run_start
from annotation_server.machines.verdicts import VerdictGroup, verdict_save
from tests.factories import BatchFactory, PromptFactory, VideoFactory

from .conftest import TAXONOMY

pytestmark = pytest.mark.django_db

# A real photograph of a person (Grace Hopper, 512×600) that ships with matplotlib.
GRACE = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
# A real photograph of an object, no person in it.
PACK = Path(matplotlib.cbook.get_sample_data("Minduka_Present_Blue_Pack.png", asfileobj=False))


@pytest.fixture(scope="module")
def nudenet():
    return NudeNet(threads=1)


def grace_clip(path: Path) -> Path:
    """2 s: one second of flat grey, then a cut to the photograph for one second."""
    command = [
        "ffmpeg",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:s=512x600:r=10:d=1",
    ]
    command += ["-loop", "1", "-framerate", "10", "-t", "1", "-i", str(GRACE)]
    command += [
        "-filter_complex",
        "[1]format=yuv420p,setsar=1[p];[0]setsar=1[g];[g][p]concat=n=2:v=1",
    ]
    command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]  # fmt: skip
    subprocess.run(command, check=True)
    return path


@pytest.fixture
def detector_batch(media_root):
    """detector_batch(taxonomy, items={"grace": GRACE, ...}) → a classification batch, one
    item per entry (a path copied in, "video" for the grace clip, bytes written as is)."""

    def make(taxonomy, items: dict, name: str = "detector-batch") -> Batch:
        batch = BatchFactory(name=name, kind=Batch.Kind.CLASSIFICATION, taxonomy=taxonomy)
        folder = media_root / "items"
        folder.mkdir(parents=True, exist_ok=True)
        for key, what in items.items():
            is_video = what == "video"
            if is_video:
                path = grace_clip(folder / f"{key}.mp4")
            elif isinstance(what, bytes):
                path = folder / f"{key}.jpg"
                path.write_bytes(what)
            else:
                path = folder / f"{key}{what.suffix}"
                shutil.copy(what, path)
            prompt = PromptFactory(text=key)
            video = VideoFactory(
                prompt=prompt,
                video_id=f"{name}-{key}",
                media_type="video" if is_video else "image",
                source=f"items/{path.name}",
                rendition=f"items/{path.name}",
                status=Video.Status.READY,
                duration_s=2.0 if is_video else None,
            )
            Pair.objects.create(
                batch=batch, prompt=prompt, pair_id=video.video_id, video_0=video, video_1=None
            )
        return batch

    return make


def detector(**config):
    settings = {"kind": "detector", "detector": "nudenet", "concurrency": 1,
                "frames_per_video": 3, "base_url": "", "model": "", "api_key_env": ""}  # fmt: skip
    annotator, _ = machine_annotator_save(name="nude", **{**settings, **config})
    return annotator


def run_here(batch, annotator) -> MachineRun:
    run = machine_run_start(batch=batch, annotator=annotator, queue=False)
    return job_execute(KIND, run.pk)


def verdicts(annotator) -> dict[str, ExternalAnnotation]:
    rows = ExternalAnnotation.objects.filter(
        source=f"machine:{annotator.name}", source_annotator=f"v{annotator.version}"
    ).select_related("pair__prompt")
    return {row.pair.prompt.text: row for row in rows}


def safesora():
    return next(t for t in taxonomy_ensure_built_in() if t.name == "safesora")


def test_it_finds_the_face_on_a_real_photograph_and_nothing_on_an_object(nudenet):
    found = nudenet.detect(decode(GRACE.read_bytes(), "grace"))

    faces = [d for d in found if d["class"] == "FACE_FEMALE"]
    assert len(faces) == 1 and faces[0]["score"] > 0.5
    x, y, w, h = faces[0]["box"]
    # Her face is in the upper middle of the 512×600 portrait.
    assert 100 < x < x + w < 420 and 60 < y < y + h < 420
    assert not [d for d in nudenet.detect(decode(PACK.read_bytes(), "pack")) if d["score"] > 0.5]


def test_a_run_with_the_built_in_mapping_finds_the_face_and_calls_it_not_harmful(
    detector_batch,
):
    batch = detector_batch(safesora(), {"grace": GRACE, "pack": PACK, "clip": "video"})
    annotator = detector()

    run = run_here(batch, annotator)

    assert run.status == "succeeded", run.error
    stored = verdicts(annotator)
    assert {key: row.answer for key, row in stored.items()} == {
        key: {"harmful": False, "categories": []} for key in ("grace", "pack", "clip")
    }
    grace = stored["grace"].details
    assert grace["kind"] == "detector" and grace["status"] == "ok"
    assert grace["model"] == "nudenet 3.4.2 320n"
    assert grace["mapping"] == DEFAULT_MAPPINGS["nudenet"]["safesora"]
    assert [(d["class"], d["at"]) for d in grace["detections"]] == [("FACE_FEMALE", None)]
    assert grace["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "calls": 1}
    assert grace["unsure"] is False
    clip = stored["clip"].details
    assert clip["frames"] == pytest.approx([1 / 3, 1.0, 5 / 3], abs=0.01)
    # The first frame is grey; the other two show her face.
    assert sorted({d["at"] for d in clip["detections"] if d["class"] == "FACE_FEMALE"}) == (
        pytest.approx([1.0, 5 / 3], abs=0.01)
    )
    assert (run.done, run.unparseable, run.failed, run.requests) == (3, 0, 0, 5)
    assert (run.prompt_tokens, run.completion_tokens, run.estimated_cost) == (0, 0, Decimal(0))


def test_a_mapped_class_above_the_threshold_makes_the_item_harmful_in_that_category(
    detector_batch,
):
    batch = detector_batch(safesora(), {"grace": GRACE, "pack": PACK, "clip": "video"})
    annotator = detector(detector_mapping={"FACE_FEMALE": "crime"}, frame_selection="scene_change",
                         frames_per_video=1)  # fmt: skip

    run = run_here(batch, annotator)

    stored = verdicts(annotator)
    assert stored["grace"].answer == {"harmful": True, "categories": ["crime"]}
    assert stored["pack"].answer == {"harmful": False, "categories": []}
    # Scene change: the one frame is the cut from grey to her photograph.
    assert stored["clip"].details["frames"] == pytest.approx([1.0], abs=0.11)
    assert stored["clip"].answer == {"harmful": True, "categories": ["crime"]}
    assert "FACE_FEMALE" in stored["grace"].details["reason"]
    assert run.done == 3


def test_a_batch_that_asks_only_harmful_gets_no_categories(detector_batch):
    taxonomy = safesora()
    batch = detector_batch(taxonomy, {"grace": GRACE})
    Batch.objects.filter(pk=batch.pk).update(ask_categories=False)
    annotator = detector(detector_mapping={"FACE_FEMALE": "crime"})

    run_here(Batch.objects.get(pk=batch.pk), annotator)

    assert verdicts(annotator)["grace"].answer == {"harmful": True, "categories": None}


@pytest.mark.parametrize(
    ("threshold", "band", "harmful", "unsure"),
    [(0.3, 0.1, True, False), (0.6, 0.05, True, True), (0.65, 0.05, False, True),
     (0.8, 0.1, False, False)],
)  # fmt: skip
def test_scores_near_the_threshold_make_the_verdict_unsure(
    detector_batch, threshold, band, harmful, unsure
):
    # Her face scores 0.61 (the first test): inside or outside each band.
    batch = detector_batch(safesora(), {"grace": GRACE})
    annotator = detector(detector_mapping={"FACE_FEMALE": "crime"}, detector_threshold=threshold,
                         detector_unsure_band=band)  # fmt: skip

    run_here(batch, annotator)

    grace = verdicts(annotator)["grace"]
    assert grace.answer["harmful"] is harmful
    assert grace.details["unsure"] is unsure
    assert grace.details["unsure_categories"] == (["crime"] if unsure else [])


def test_an_undecodable_image_is_unparseable_with_its_reason_and_a_missing_one_fails(
    detector_batch, media_root
):
    batch = detector_batch(
        safesora(), {"grace": GRACE, "broken": b"\xff\xd8 not a jpeg", "gone": PACK}
    )
    (media_root / "items" / "gone.png").unlink()
    annotator = detector()

    run = run_here(batch, annotator)

    assert run.status == "succeeded", run.error
    stored = verdicts(annotator)
    assert set(stored) == {"grace", "broken"}  # nothing for the missing file: called again
    broken = stored["broken"]
    assert broken.answer == {"harmful": None, "categories": None}
    assert broken.details["status"] == "unparseable"
    assert "not a decodable image" in broken.details["reason"]
    assert broken.details["detections"] == []
    assert (run.done, run.unparseable, run.failed) == (1, 1, 1)


def test_an_undecodable_video_is_unparseable(detector_batch, media_root):
    batch = detector_batch(safesora(), {"clip": "video"})
    (media_root / "items" / "clip.mp4").write_bytes(b"not a video")

    run = run_here(batch, detector())

    assert (run.done, run.unparseable, run.failed) == (0, 1, 0)
    assert "clip.mp4" in verdicts(detector())["clip"].details["reason"]


def test_a_run_refuses_a_mapping_the_batch_taxonomy_does_not_fit(detector_batch):
    batch = detector_batch(safesora(), {"grace": GRACE})
    with pytest.raises(ApplicationError, match="does not have: sexual"):
        machine_run_start(batch=batch, annotator=detector(detector_mapping={
            "FEMALE_BREAST_EXPOSED": "sexual"}), queue=False)  # fmt: skip
    other, _ = taxonomy_save(TAXONOMY)
    plain = detector_batch(other, {"grace": GRACE}, name="no-default")
    with pytest.raises(
        ApplicationError, match="no built-in mapping for the taxonomy 'machine-test'"
    ):
        machine_run_start(batch=plain, annotator=detector(detector_mapping={}), queue=False)
    assert not MachineRun.objects.exists()
    own = detector(detector_mapping={"BUTTOCKS_EXPOSED": "sexual"})
    assert run_here(plain, own).status == "succeeded"


def test_the_built_in_mappings_name_categories_their_taxonomies_have():
    for taxonomy in taxonomy_ensure_built_in():
        mapping = DEFAULT_MAPPINGS["nudenet"].get(taxonomy.name)
        if mapping:
            assert set(mapping.values()) <= {c["key"] for c in taxonomy.categories}


def test_a_detector_needs_no_endpoint_but_the_others_do():
    annotator = detector()
    assert (annotator.base_url, annotator.model, annotator.api_key_env) == ("", "", "")
    with pytest.raises(ValidationError, match="api_key_env"):
        machine_annotator_save(name="vlm", base_url="http://x/v1", model="m", api_key_env="")
    with pytest.raises(ValidationError, match="does not have: NOSE"):
        detector(detector_mapping={"NOSE": "porn"})
    with pytest.raises(ValidationError, match="names its detector"):
        detector(detector="")
    # A change to the rule is a new version; verdicts keep the one that gave them.
    assert detector(detector_threshold=0.7).version == annotator.version + 1


def test_detections_become_a_verdict_per_category():
    question = Question(
        categories=({"key": "a"}, {"key": "b"}), ask_harmful=True, ask_categories=True
    )
    rule = Rule({"X": "a", "Y": "b"}, threshold=0.5, unsure_band=0.1)
    made = detections_answer(
        [{"class": "X", "score": 0.9, "at": 1.0}, {"class": "Y", "score": 0.45, "at": 2.0},
         {"class": "Z", "score": 0.99, "at": 2.0}], rule, question,
    )  # fmt: skip
    assert made["answer"] == {"harmful": True, "categories": ["a"]}
    assert made["unsure"] is True and made["unsure_categories"] == ["b"]


def test_the_admin_adds_a_detector_without_an_endpoint_and_checks_its_run(
    client, make_user, detector_batch
):
    admin = make_user(roles.ADMIN)
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    url = reverse("admin:machines_machineannotator_add")
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(name="nude-admin", kind="detector", detector="nudenet", base_url="", model="",
                api_key_env="", detector_mapping='{"FACE_FEMALE": "drugs"}')  # fmt: skip

    response = client.post(url, data)

    assert response.status_code == 302, response.content[:2000]
    annotator = MachineAnnotator.objects.get(name="nude-admin")
    assert annotator.detector_mapping == {"FACE_FEMALE": "drugs"}
    batch = detector_batch(safesora(), {"grace": GRACE})
    page = client.post(
        reverse("admin:machines_machinerun_add"), {"batch": batch.pk, "annotator": annotator.pk}
    )
    assert page.status_code == 200
    assert "does not have: drugs" in page.content.decode()
    assert not MachineRun.objects.exists()


def test_a_group_of_verdicts_keeps_one_already_stored_and_counts_only_the_new(detector_batch):
    batch = detector_batch(safesora(), {"grace": GRACE, "pack": PACK})
    annotator = detector()
    run = MachineRun.objects.create(batch=batch, annotator=annotator)
    first, second = Pair.objects.filter(batch=batch).order_by("pk")
    said = Verdict("ok", {"harmful": False, "categories": []}, "first", [], Usage(calls=1), 1)
    verdict_save(run=run, annotator=annotator, pair=first, verdict=said)
    again = Verdict("ok", {"harmful": True, "categories": ["porn"]}, "again", [], Usage(calls=1), 1)

    with VerdictGroup(run, annotator) as group:
        group.add(first, again)
        group.add(second, again)

    stored = verdicts(annotator)
    assert stored["grace"].details["reason"] == "first"
    assert stored["pack"].details["reason"] == "again"
    run.refresh_from_db()
    assert (run.done, run.requests) == (2, 2)
