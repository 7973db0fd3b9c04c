"""factory_boy factories for the domain model (no files: videos point at placeholder names)."""

from __future__ import annotations

import hashlib

import factory

from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video


class PromptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prompt

    prompt_id = factory.Sequence(lambda n: f"prompt{n:05d}")
    text = factory.Sequence(lambda n: f"A short prompt number {n}.")
    prompt_type = "safety_neutral"


class VideoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Video

    prompt = factory.SubFactory(PromptFactory)
    video_id = factory.Sequence(lambda n: f"video{n:06d}")
    video_text = factory.LazyAttribute(lambda o: o.prompt.text)
    generated_from = factory.Iterator(["ModelA", "ModelB", "ModelC"])
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.video_id.encode()).hexdigest())
    source = factory.LazyAttribute(lambda o: f"videos/source/{o.sha256}.mp4")
    status = Video.Status.READY
    rendition = factory.LazyAttribute(lambda o: f"videos/renditions/{o.video_id}.mp4")
    duration_s = 2.0


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Batch

    name = factory.Sequence(lambda n: f"batch-{n}")
    overlap = 3
    status = Batch.Status.PUBLISHED


class PairFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pair

    batch = factory.SubFactory(BatchFactory)
    prompt = factory.SubFactory(PromptFactory)
    video_0 = factory.LazyAttribute(lambda o: VideoFactory(prompt=o.prompt))
    video_1 = factory.LazyAttribute(lambda o: VideoFactory(prompt=o.prompt))
    pair_id = factory.LazyAttribute(lambda o: f"{o.video_0.video_id}-{o.video_1.video_id}")


def submitted_count(pair: Pair) -> int:
    """Submitted annotations of `pair` that still count (not rejected)."""
    return pair.annotations.filter(rejected=False).count()
