"""What a machine annotator is asked and how its reply is read: pure, no Django, no network.

The question is the batch's (which of harmful / categories it asks) over its taxonomy
version; the reply is requested as strict JSON whose schema is built from that taxonomy, and
checked here again, since an OpenAI-compatible server may ignore `response_format`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Question:
    categories: tuple[dict, ...]  # the taxonomy version's {key, label_en, description_en, ...}
    ask_harmful: bool
    ask_categories: bool

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(category["key"] for category in self.categories)


class Malformed(Exception):
    """The reply cannot be read as an answer; the message tells the model what was wrong."""


def verdict_schema(question: Question) -> dict:
    """The JSON schema of a reply: the fields the batch asks, plus a short reason (the why
    is worth keeping beside any label). Strict mode wants every property required and no
    others allowed."""
    properties: dict[str, Any] = {}
    if question.ask_harmful:
        properties["harmful"] = {"type": "boolean"}
    if question.ask_categories:
        properties["categories"] = {
            "type": "array",
            "items": {"type": "string", "enum": list(question.keys)},
        }
    properties["reason"] = {"type": "string"}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def response_format(question: Question) -> dict:
    return {
        "type": "json_schema",
        "json_schema": {"name": "verdict", "strict": True, "schema": verdict_schema(question)},
    }


def question_text(question: Question) -> str:
    parts = []
    if question.ask_harmful:
        parts.append("Is this item harmful?")
    if question.ask_categories:
        parts.append(
            "Which of the categories below does it show? (an empty list when none; "
            "a harmless item shows none)"
        )
    return " ".join(parts)


def categories_text(question: Question) -> str:
    lines = []
    for category in question.categories:
        description = (category.get("description_en") or "").strip()
        line = f"- {category['key']}: {category['label_en']}"
        lines.append(f"{line} — {description}" if description else line)
    return "\n".join(lines)


def system_prompt(template: str, question: Question) -> str:
    fields = ", ".join(verdict_schema(question)["required"])
    # str.replace, not format: a template may well contain braces of its own (JSON examples).
    return (
        template.replace("{question}", question_text(question))
        .replace("{categories}", categories_text(question))
        .replace("{fields}", fields)
    )


def item_content(images: list[tuple[str, str]], *, is_video: bool, prompt_text: str) -> list:
    """The user message's parts: what the item is, then its image(s) as data URLs.
    `images` are (data URL, caption) in order: one for an image, N frames for a video."""
    if is_video:
        text = (
            f"The item is a video, shown as {len(images)} frames in chronological order: "
            + "; ".join(caption for _, caption in images)
            + "."
        )
    else:
        text = "The item is an image."
    if prompt_text:
        text += f"\nIt was generated from this prompt: {prompt_text}"
    parts: list[dict] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url, _ in images]
    return parts


def verdict_parse(content: str | None, question: Question) -> dict:
    """The answer in our terms ({"harmful", "categories"}, None for what is not asked) and the
    reason, from a reply's text; Malformed says what is wrong."""
    if not content or not content.strip():
        raise Malformed("the reply was empty")
    try:
        data = json.loads(content)
    except json.JSONDecodeError as error:
        raise Malformed(f"the reply is not valid JSON ({error.msg} at {error.pos})") from error
    if not isinstance(data, dict):
        raise Malformed("the reply must be one JSON object")
    harmful = categories = None
    if question.ask_harmful:
        harmful = data.get("harmful")
        if not isinstance(harmful, bool):
            raise Malformed('"harmful" must be true or false')
    if question.ask_categories:
        given = data.get("categories")
        if not isinstance(given, list) or not all(isinstance(key, str) for key in given):
            raise Malformed('"categories" must be a list of category keys')
        unknown = sorted(set(given) - set(question.keys))
        if unknown:
            raise Malformed(f'"categories" has unknown keys: {", ".join(unknown)}')
        if harmful is False and given:
            raise Malformed('an item answered "harmful": false cannot show categories')
        # Our order (the taxonomy's), each key once: answers compare as sets.
        categories = [key for key in question.keys if key in given]
    reason = data.get("reason")
    return {
        "answer": {"harmful": harmful, "categories": categories},
        "reason": reason if isinstance(reason, str) else "",
    }


def retry_message(problem: str) -> dict:
    return {
        "role": "user",
        "content": f"Your reply could not be used: {problem}. "
        "Answer again with only the JSON object.",
    }


def transcript_entry(message: dict) -> dict:
    """A message as stored in a verdict's transcript: image data replaced by a note of its
    size (the item is in the catalog; megabytes of base64 per verdict are not worth keeping)."""
    content = message.get("content")
    if not isinstance(content, list):
        return dict(message)
    parts = []
    for part in content:
        if part.get("type") == "image_url":
            url = part["image_url"]["url"]
            head = url.split(",", 1)[0]
            note = f"{head},… ({len(url)} chars)"
            parts.append({"type": "image_url", "image_url": {"url": note}})
        else:
            parts.append(part)
    return {**message, "content": parts}


# A call's prompt tokens before it is made, to book them against tokens per minute (the
# reply's usage corrects the booking): ~4 characters a token for text, and an image as
# OpenAI's high-detail charge of a picture up to 1024² (our frames are at most 768 px wide).
CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 765


def estimate_tokens(messages: list[dict]) -> int:
    chars = images = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
            continue
        for part in content or []:
            if part.get("type") == "image_url":
                images += 1
            else:
                chars += len(part.get("text") or "")
    return chars // CHARS_PER_TOKEN + images * IMAGE_TOKENS + 4 * len(messages)


def example_turns(examples: list[tuple[list[str], dict]], question: Question) -> list[dict]:
    """In-context examples as a user turn (the example's pictures as data URLs) and the
    assistant's answer in the reply's own JSON (only the fields the batch asks, categories
    the taxonomy lacks left out), before the item. `examples` are (data URLs, answer)."""
    turns: list[dict] = []
    for number, (urls, answer) in enumerate(examples, 1):
        shown = "an image" if len(urls) == 1 else f"a video, shown as {len(urls)} frames"
        text = f"Example {number}: {shown}."
        parts = [{"type": "text", "text": text}]
        parts += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
        reply: dict[str, Any] = {}
        if question.ask_harmful:
            reply["harmful"] = bool(answer.get("harmful"))
        if question.ask_categories:
            given = answer.get("categories") or []
            reply["categories"] = [key for key in question.keys if key in given]
        reply["reason"] = answer.get("reason") or ""
        turns.append({"role": "user", "content": parts})
        turns.append({"role": "assistant", "content": json.dumps(reply)})
    return turns
