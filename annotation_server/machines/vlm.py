"""The `vlm` kind: one call per item (and its retries for malformed output), the system
prompt, the in-context examples' turns, then the item."""

from __future__ import annotations

from . import calls, prompts
from .calls import Asking, Verdict
from .media import ItemMedia, image_parts


def vlm_verdict(asking: Asking, item: ItemMedia) -> Verdict:
    annotator, question = asking.annotator, asking.question
    images = image_parts(
        item, frames=annotator.frames_per_video, selection=annotator.frame_selection
    )
    messages = [
        {"role": "system", "content": prompts.system_prompt(annotator.prompt_template, question)},
        *asking.examples,
        {
            "role": "user",
            "content": prompts.item_content(
                images, is_video=item.is_video, prompt_text=item.prompt_text
            ),
        },
    ]
    return calls.verdict_request(asking.client, asking.endpoint, messages, question, asking.gate)
