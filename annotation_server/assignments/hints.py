"""A hint beside an assignment's question: another annotator's answer shown to the worker.

Assignments knows only the hint's shape (serializers.HintSerializer). Which assignments get
one, and what it says, is decided by an app above this one (machines: a machine verdict),
which registers its provider in its AppConfig.ready; with none registered there are no
hints. The provider runs on every assignment the API answers with, so one that has nothing
to say for a batch must say so without a query."""

from __future__ import annotations

from collections.abc import Callable

HintProvider = Callable[[object], dict | None]

_providers: list[HintProvider] = []


def assignment_hint_provider_register(provider: HintProvider) -> None:
    """Register `provider(assignment) -> {harmful, categories, by} | None` (once)."""
    if provider not in _providers:
        _providers.append(provider)


def assignment_hint(assignment) -> dict | None:
    """The hint the worker is shown with `assignment`, or None (the first provider's)."""
    for provider in _providers:
        hint = provider(assignment)
        if hint is not None:
            return hint
    return None
