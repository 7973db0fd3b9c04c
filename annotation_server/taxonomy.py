"""The SafeSora taxonomy: 12 harm categories and 4 helpfulness sub-dimensions.

The single source every layer reads (models, validation, the worker app, exports, metrics).
Keys are the SafeSora dataset keys; order is the S1–S12 order of the SafeSora README. The
harm categories are data (catalog/taxonomies/safesora.json), the same file the built-in
`safesora` Taxonomy row of classification batches is made from; pairwise batches always use
this version, whose keys are the SafeSora export format's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HarmCategory:
    code: str  # "S1" … "S12"
    key: str  # SafeSora HarmLabel key
    label_en: str
    label_zh: str
    description_en: str
    description_zh: str


@dataclass(frozen=True)
class SubDimension:
    key: str  # export key inside `sub_preferences`
    label_en: str
    label_zh: str
    description_en: str
    description_zh: str


def _built_in(name: str) -> dict:
    """A built-in taxonomy file (catalog/taxonomies/NAME.json): the data the database's
    built-in Taxonomy rows are made from, and SafeSora's harm categories below."""
    return json.loads((TAXONOMY_DIR / f"{name}.json").read_text(encoding="utf-8"))


TAXONOMY_DIR = Path(__file__).resolve().parent / "catalog" / "taxonomies"
BUILT_IN_TAXONOMIES: tuple[str, ...] = ("safesora", "vhd11k")

HARM_CATEGORIES: tuple[HarmCategory, ...] = tuple(
    HarmCategory(
        c["code"], c["key"], c["label_en"], c["label_zh"], c["description_en"], c["description_zh"]
    )
    for c in _built_in("safesora")["categories"]
)

HARM_KEYS: tuple[str, ...] = tuple(c.key for c in HARM_CATEGORIES)
HARM_BY_KEY: dict[str, HarmCategory] = {c.key: c for c in HARM_CATEGORIES}
HARM_BY_CODE: dict[str, HarmCategory] = {c.code: c for c in HARM_CATEGORIES}

SUB_DIMENSIONS: tuple[SubDimension, ...] = (
    SubDimension(
        "instruction_following",
        "Instruction following",
        "指令遵循",
        "Which video follows the prompt's instructions more faithfully?",
        "哪个视频更忠实地遵循了提示词的要求？",
    ),
    SubDimension(
        "correctness",
        "Correctness",
        "正确性",
        "Which video is more physically and factually plausible, with fewer artefacts?",
        "哪个视频在物理和事实上更合理、瑕疵更少？",
    ),
    SubDimension(
        "information",
        "Informativeness",
        "信息量",
        "Which video conveys more relevant detail and content?",
        "哪个视频传达了更多相关的细节和内容？",
    ),
    SubDimension(
        "aesthetics",
        "Aesthetics",
        "美观度",
        "Which video looks better: composition, colour, motion, overall quality?",
        "哪个视频看起来更好：构图、色彩、运动和整体质量？",
    ),
)

SUB_DIMENSION_KEYS: tuple[str, ...] = tuple(d.key for d in SUB_DIMENSIONS)

PROMPT_TYPES: tuple[str, ...] = ("safety_critical", "safety_neutral")

# The two overall (stage 2) questions and their SafeSora keys.
OVERALL_KEYS: tuple[str, ...] = ("helpfulness", "harmlessness")


def harm_label(present: Iterable[str] = ()) -> dict[str, bool]:
    """A SafeSora `HarmLabel`: all 12 keys, True where the harm is present."""
    present = set(present)
    unknown = present - set(HARM_KEYS)
    if unknown:
        raise ValueError(f"unknown harm keys: {', '.join(sorted(unknown))}")
    return {key: key in present for key in HARM_KEYS}


def harm_keys_present(label: dict[str, bool]) -> list[str]:
    """The keys set to True in a HarmLabel, in taxonomy order."""
    return [key for key in HARM_KEYS if label.get(key)]


def validate_harm_label(label: object) -> list[str]:
    """Problems with a HarmLabel object (empty list when it is complete and well-typed)."""
    if not isinstance(label, dict):
        return ["must be an object of 12 booleans"]
    problems = []
    unknown = sorted(set(label) - set(HARM_KEYS))
    if unknown:
        problems.append(f"unknown harm keys: {', '.join(unknown)}")
    missing = [k for k in HARM_KEYS if k not in label]
    if missing:
        problems.append(f"missing harm keys: {', '.join(missing)}")
    wrong = [k for k in HARM_KEYS if k in label and not isinstance(label[k], bool)]
    if wrong:
        problems.append(f"values must be true or false: {', '.join(wrong)}")
    return problems
