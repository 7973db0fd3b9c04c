"""The `debate` kind, after VHD11K's published annotator: an affirmative debater (argues
harmful) and a negative one (argues not harmful) speak in turn for `debate_rounds` rounds,
each seeing the item and the debate so far; then a judge, seeing the item and the whole
debate, gives the verdict in the batch's taxonomy as strict JSON (the same request, checks
and retries of malformed output as the `vlm` kind). Every turn is kept in the verdict's
transcript, and the arguments per round as VHD11K's columns name them."""

from __future__ import annotations

from . import calls, prompts
from .calls import Usage, Verdict
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


def debate_verdict(annotator, client, endpoint, question, limiter, item: ItemMedia) -> Verdict:
    """One item's debate and judgement: the judge's verdict, with every turn's usage."""
    images = image_parts(item, frames=annotator.frames_per_video)
    usage = Usage()
    turns: list[dict] = []
    for round_no in range(1, annotator.debate_rounds + 1):
        for agent, prompt_field in ROLES:
            messages = [
                {"role": "system", "content": getattr(annotator, prompt_field)},
                _item_message(images, item, debate_text(turns) + "\n\nYour argument:"),
            ]
            message, _ = calls.chat(client, endpoint, messages, limiter, usage)
            content = (getattr(message, "content", None) or "").strip()
            turns.append({"agent": agent, "round": round_no, "content": content})
    judge = [
        {"role": "system", "content": prompts.system_prompt(annotator.prompt_template, question)},
        _item_message(
            images,
            item,
            debate_text(turns) + "\n\nYou are the judge: weigh both sides and give the verdict.",
        ),
    ]
    verdict = calls.verdict_request(client, endpoint, judge, question, limiter, usage=usage)
    verdict.transcript = [
        *turns,
        *({"agent": "judge", **message} for message in verdict.transcript),
    ]
    verdict.arguments = {
        agent: [turn["content"] for turn in turns if turn["agent"] == agent] for agent, _ in ROLES
    }
    return verdict
