"""Calling an OpenAI-compatible chat-completions endpoint for one item, with the `openai`
client: no Django, safe from several threads at once.

Transport failures are the client's to retry: `max_retries` (the annotator's
`transport_retries`) covers 408, 409, 429 and 5xx replies, timeouts and lost connections,
with exponential backoff (0.5 s doubling, at most 8 s, jittered) that waits what a
`Retry-After` / `retry-after-ms` header asks instead, up to 60 s. A call that still fails
raises `CallFailed` (the item gets no verdict this pass). Malformed replies are retried
here, up to the annotator's `max_attempts`, each time telling the model what was wrong; then
the verdict is *unparseable*, never a guessed label."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import openai

from . import prompts
from .pacing import EndpointGate
from .prompts import Malformed, Question


class CallFailed(Exception):
    """The endpoint did not answer this item (after the client's retries)."""


class EndpointRefused(Exception):
    """The endpoint refuses every call (wrong key, unknown model): the run stops."""


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    model: str
    api_key: str
    temperature: float
    max_tokens: int
    timeout_s: float
    transport_retries: int
    max_attempts: int


@dataclass(frozen=True)
class Asking:
    """What every call of one run shares, built once in the job's thread (threads make no
    queries): the annotator version, the client, the endpoint and its gate, the batch's
    question and the in-context examples' turns (prompts.example_turns)."""

    annotator: Any
    client: openai.OpenAI
    endpoint: Endpoint
    question: Question
    gate: EndpointGate
    examples: tuple[dict, ...] = ()


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    def add(self, usage) -> None:
        self.calls += 1
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens or 0
            self.completion_tokens += usage.completion_tokens or 0

    def as_dict(self) -> dict:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "calls": self.calls,
        }


@dataclass
class Verdict:
    status: str  # "ok" or "unparseable"
    answer: dict
    reason: str
    transcript: list[dict]
    usage: Usage
    attempts: int
    problems: list[str] = field(default_factory=list)
    # A debate's arguments per agent, one per round (VHD11K's affirmative/negative columns).
    arguments: dict[str, list[str]] | None = None
    # Added to the stored details as they are (a debate's critic).
    extra: dict = field(default_factory=dict)


def endpoint_client(endpoint: Endpoint) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,
        timeout=endpoint.timeout_s,
        max_retries=endpoint.transport_retries,
    )


def chat(
    client: openai.OpenAI,
    endpoint: Endpoint,
    messages: list[dict],
    gate: EndpointGate,
    usage: Usage,
    *,
    response_format: dict | None = None,
    max_tokens: int | None = None,
):
    """One chat completion (its first choice's message and finish reason); the usage is
    added to `usage`. Reused by every kind that talks to a model (VLM, debate turns). The
    call passes the endpoint's gate: a permit, a request slot and its tokens (the prompt's
    estimate + max_tokens, corrected with the usage the reply reports)."""
    max_tokens = max_tokens or endpoint.max_tokens
    options = {"response_format": response_format} if response_format else {}
    with gate.call(prompts.estimate_tokens(messages) + max_tokens) as booking:
        try:
            completion = client.chat.completions.create(
                model=endpoint.model,
                messages=messages,
                temperature=endpoint.temperature,
                max_tokens=max_tokens,
                **options,
            )
        except (
            openai.AuthenticationError,
            openai.PermissionDeniedError,
            openai.NotFoundError,
        ) as e:
            raise EndpointRefused(f"{type(e).__name__}: {_said(e)}") from e
        except openai.APIError as error:
            raise CallFailed(f"{type(error).__name__}: {_said(error)}") from error
        reported = getattr(completion, "usage", None)
        if reported is not None:
            booking.used = (reported.prompt_tokens or 0) + (reported.completion_tokens or 0)
    usage.add(reported)
    if not completion.choices:
        return None, "no choices"
    choice = completion.choices[0]
    return choice.message, choice.finish_reason


def _said(error: openai.APIError) -> str:
    return str(getattr(error, "message", "") or error)[:300]


def verdict_request(
    client: openai.OpenAI,
    endpoint: Endpoint,
    messages: list[dict],
    question: Question,
    gate: EndpointGate,
    *,
    usage: Usage | None = None,
) -> Verdict:
    """Ask for a verdict in strict JSON; ask again while the reply is malformed. The usage
    goes to `usage` when given (a debate's, which counts its turns too)."""
    usage = usage if usage is not None else Usage()
    messages = list(messages)
    problems: list[str] = []
    form = prompts.response_format(question)
    for attempt in range(1, endpoint.max_attempts + 1):
        message, finish = chat(client, endpoint, messages, gate, usage, response_format=form)
        content = getattr(message, "content", None)
        messages.append({"role": "assistant", "content": content or ""})
        try:
            if getattr(message, "refusal", None):
                raise Malformed(f"the model refused ({message.refusal[:200]})")
            if finish == "length":
                raise Malformed("the reply was cut off at the token limit")
            parsed = prompts.verdict_parse(content, question)
        except Malformed as problem:
            problems.append(str(problem))
            if attempt < endpoint.max_attempts:
                messages.append(prompts.retry_message(str(problem)))
            continue
        return Verdict(
            "ok", parsed["answer"], parsed["reason"], _stored(messages), usage, attempt, problems
        )
    return Verdict(
        "unparseable",
        {"harmful": None, "categories": None},
        "",
        _stored(messages),
        usage,
        endpoint.max_attempts,
        problems,
    )


def _stored(messages: list[dict]) -> list[dict]:
    return [prompts.transcript_entry(message) for message in messages]
