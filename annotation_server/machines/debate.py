"""The `debate` kind, after VHD11K's published annotator: an affirmative debater (argues
harmful) and a negative one (argues not harmful) speak in turn for `debate_rounds` rounds,
each seeing the item and the debate so far; then a judge, seeing the in-context examples (if
any), the item and the whole debate, gives the verdict in the batch's taxonomy as strict
JSON (the same request, checks and retries of malformed output as the `vlm` kind); then,
when the annotator has a critic prompt, a critic seeing the item, the debate and the verdict
gives its analysis in free text (VHD11K's optional `critic` column; it never changes the
verdict). Every turn is kept in the verdict's transcript, in the order spoken, and the
arguments per round as VHD11K's columns name them."""

from __future__ import annotations

import json

from . import calls, prompts
from .calls import Asking, Usage, Verdict
from .media import ItemMedia, image_parts

ROLES = (("affirmative", "affirmative_prompt"), ("negative", "negative_prompt"))


def debate_text(turns: list[dict]) -> str:
    if not turns:
        return "The debate has not started: you speak first."
    lines = [
        f"[{turn['agent']} debater, round {turn['round']}]\n{turn['content']}" for turn in turns
    ]
    return "The debate so far:\n\n" + "\n\n".join(lines)


def _item_message(images, item: ItemMedia, text: str) -> dict:
    content = prompts.item_content(images, is_video=item.is_video, prompt_text=item.prompt_text)
    return {"role": "user", "content": [*content, {"type": "text", "text": text}]}


def _said(message) -> str:
    return (getattr(message, "content", None) or "").strip()


def debate_verdict(asking: Asking, item: ItemMedia) -> Verdict:
    """One item's debate, judgement and critique: the judge's verdict, with every turn's
    usage."""
    annotator, question = asking.annotator, asking.question
    client, endpoint, gate = asking.client, asking.endpoint, asking.gate
    images = image_parts(
        item, frames=annotator.frames_per_video, selection=annotator.frame_selection
    )
    usage = Usage()
    turns: list[dict] = []
    for round_no in range(1, annotator.debate_rounds + 1):
        for agent, prompt_field in ROLES:
            messages = [
                {"role": "system", "content": getattr(annotator, prompt_field)},
                _item_message(images, item, debate_text(turns) + "\n\nYour argument:"),
            ]
            message, _ = calls.chat(client, endpoint, messages, gate, usage)
            turns.append({"agent": agent, "round": round_no, "content": _said(message)})
    judge = [
        {"role": "system", "content": prompts.system_prompt(annotator.prompt_template, question)},
        *asking.examples,
        _item_message(
            images,
            item,
            debate_text(turns) + "\n\nYou are the judge: weigh both sides and give the verdict.",
        ),
    ]
    verdict = calls.verdict_request(client, endpoint, judge, question, gate, usage=usage)
    verdict.transcript = [
        *turns,
        *({"agent": "judge", **message} for message in verdict.transcript),
    ]
    verdict.arguments = {
        agent: [turn["content"] for turn in turns if turn["agent"] == agent] for agent, _ in ROLES
    }
    # An unparseable judgement has nothing to criticise: no call is paid for.
    if annotator.critic_prompt.strip() and verdict.status == "ok":
        ruling = json.dumps({**verdict.answer, "reason": verdict.reason})
        messages = [
            {"role": "system", "content": annotator.critic_prompt},
            _item_message(
                images,
                item,
                debate_text(turns) + f"\n\nThe judge's verdict: {ruling}\n\nYour analysis:",
            ),
        ]
        message, _ = calls.chat(client, endpoint, messages, gate, usage)
        critique = _said(message)
        verdict.transcript.append({"agent": "critic", "role": "assistant", "content": critique})
        verdict.extra["critic"] = critique
    return verdict
