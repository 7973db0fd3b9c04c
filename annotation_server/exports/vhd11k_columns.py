"""The text of a VHD11K row's judgement columns (pure): from our majority, from a counted
release's own row when the majority is that row's answer, from a machine annotator.

A counted VHD11K answer that agrees with the majority is written back as the release wrote
it (its decision, harmfulType phrase, debate arguments and critic), so a release imported
with `--answers-count` exports as itself, field for field. `--arguments-from` puts a
machine debate's arguments (details.arguments: {"affirmative": [...], "negative": [...]})
into the argument columns; `--decision-from` its verdict into decision and harmfulType.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from annotation_server.catalog.importers.vhd11k_text import ARGUMENT_COLUMNS, MISSING

NOT_HARMFUL = "not harmful"  # in the release's phrase table, mapped to no category
HARMFUL_UNNAMED = "harmful"  # harmful, with no category agreed by the majority
ARGUMENT_NAMES = tuple(column for _, _, column in ARGUMENT_COLUMNS)


def judgement_text(harmful: bool, categories: Sequence[str] | None) -> tuple[str, str]:
    """(decision, harmfulType) of a verdict in our terms."""
    if not harmful:
        return "no", NOT_HARMFUL
    return "yes", ", ".join(categories or ()) or HARMFUL_UNNAMED


def agrees(answer: dict, harmful: bool | None, categories: Sequence[str] | None) -> bool:
    """Whether an external answer says what the majority says (categories as sets)."""
    theirs = answer.get("categories")
    same_categories = (
        theirs is None
        if categories is None
        else theirs is not None and set(theirs) == set(categories)
    )
    return answer.get("harmful") == harmful and same_categories


def release_columns(details: dict) -> dict[str, str] | None:
    """The columns of a VHD11K release's own row (an ExternalAnnotation's details from the
    VHD11K importer), None for details of another shape."""
    arguments = details.get("arguments")
    if "decision" not in details or not isinstance(arguments, list):
        return None
    columns = {
        "decision": details["decision"],
        "harmfulType": details.get("harmful_type") or MISSING,
    }
    texts = {
        (a.get("role"), a.get("round")): a.get("text") for a in arguments if isinstance(a, dict)
    }
    for role, round_, column in ARGUMENT_COLUMNS:
        columns[column] = texts.get((role, round_)) or MISSING
    if details.get("critic"):
        columns["critic"] = details["critic"]
    return columns


def machine_arguments(details: dict) -> dict[str, str]:
    """The argument columns a machine debate's verdict fills (rounds 0 and 1 of each side),
    and its critic's text when the debate had a critic."""
    arguments = details.get("arguments")
    if not isinstance(arguments, dict):
        return {}
    columns = {"critic": details["critic"]} if isinstance(details.get("critic"), str) else {}
    for role, round_, column in ARGUMENT_COLUMNS:
        turns = arguments.get(role)
        if isinstance(turns, list) and round_ < len(turns) and isinstance(turns[round_], str):
            columns[column] = turns[round_]
    return columns


def row_values(
    verdict: Any,
    released: list[tuple[dict, dict]],
    machine_args: tuple[dict, dict] | None,
    machine_decision: tuple[dict, dict] | None,
) -> dict[str, str]:
    """The judgement columns of one item's row."""
    columns = dict.fromkeys(ARGUMENT_NAMES, MISSING)
    decision = judgement_text(verdict.is_harmful, verdict.categories)
    columns["decision"], columns["harmfulType"] = decision
    for answer, details in released:
        own = release_columns(details)
        if own is not None and agrees(answer, verdict.harmful, verdict.categories):
            columns.update(own)
            break
    if machine_decision is not None:
        answer = machine_decision[0]
        if isinstance(answer.get("harmful"), bool):
            columns["decision"], columns["harmfulType"] = judgement_text(
                answer["harmful"], answer.get("categories")
            )
    if machine_args is not None:
        columns.update(machine_arguments(machine_args[1]))
    return columns
