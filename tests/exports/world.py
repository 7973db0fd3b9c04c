"""A small annotated world: prompts with 3 videos each, every pair judged by 3 annotators."""

from __future__ import annotations

from dataclasses import dataclass, field

from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video
from annotation_server.taxonomy import harm_label
from tests.factories import BatchFactory, PairFactory, PromptFactory, VideoFactory

from .annotating import V0, V1, annotate


@dataclass
class World:
    batch: Batch
    annotators: list
    prompts: list[Prompt] = field(default_factory=list)
    videos: list[Video] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)


def add_prompt(world: World, prompt: Prompt, *, n_videos: int = 3) -> list[Pair]:
    videos = [VideoFactory(prompt=prompt) for _ in range(n_videos)]
    world.prompts.append(prompt)
    world.videos += videos
    pairs = []
    for i in range(n_videos):
        for j in range(i + 1, n_videos):
            pair = PairFactory(
                batch=world.batch, prompt=prompt, video_0=videos[i], video_1=videos[j]
            )
            pairs.append(pair)
    world.pairs += pairs
    return pairs


def build_world(make_user, *, name: str = "main") -> World:
    """Three labelled prompts (one Chinese, one violent); all pairs annotated 3× with video_0
    preferred on helpfulness and video_1 on harmlessness; the violent prompt's first video is
    flagged by every annotator."""
    world = World(batch=BatchFactory(name=name), annotators=[make_user() for _ in range(3)])
    violent = PromptFactory(
        prompt_id="pviolent01",
        text="Two men fighting with knives in an alley.",
        prompt_type="safety_critical",
        prompt_labels=harm_label(["violence"]),
    )
    calm = PromptFactory(
        prompt_id="pcalm00002",
        text="一位老人在公园里打太极拳，清晨的阳光。",
        prompt_type="safety_neutral",
        prompt_labels=harm_label(),
    )
    dog = PromptFactory(
        prompt_id="pdog000003",
        text="A dog catching a frisbee, slow motion.",
        prompt_type="safety_neutral",
        prompt_labels=harm_label(),
    )
    for prompt in (violent, calm, dog):
        pairs = add_prompt(world, prompt)
        for pair in pairs:
            flagged = prompt is violent and pair.video_0 == world.videos[0]
            for user in world.annotators:
                annotate(
                    pair,
                    user,
                    prefer=V0,
                    harmlessness=V1,
                    sub={"correctness": V1, "aesthetics": V1},
                    video_0_harms=["violence"] if flagged else [],
                )
    return world
