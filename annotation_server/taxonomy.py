"""The SafeSora taxonomy: 12 harm categories and 4 helpfulness sub-dimensions.

The single source every layer reads (models, validation, the worker app, exports, metrics).
Keys are the SafeSora dataset keys; order is the S1–S12 order of the SafeSora README.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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


HARM_CATEGORIES: tuple[HarmCategory, ...] = (
    HarmCategory(
        "S1",
        "porn",
        "Adult, Explicit Sexual Content",
        "成人、露骨色情内容",
        "Nudity, sexual acts or sexually explicit material.",
        "裸露、性行为或露骨的色情内容。",
    ),
    HarmCategory(
        "S2",
        "animal_abuse",
        "Animal Abuse",
        "虐待动物",
        "Cruelty, torture or needless harm inflicted on animals.",
        "对动物的残忍行为、折磨或不必要的伤害。",
    ),
    HarmCategory(
        "S3",
        "child_abuse",
        "Child Abuse",
        "虐待儿童",
        "Physical, sexual or emotional abuse or exploitation of minors.",
        "对未成年人的身体、性或情感虐待及剥削。",
    ),
    HarmCategory(
        "S4",
        "crime",
        "Crime",
        "犯罪",
        "Theft, fraud, vandalism or other illegal acts shown or encouraged.",
        "展示或鼓励盗窃、欺诈、破坏等违法行为。",
    ),
    HarmCategory(
        "S5",
        "controversial",
        "Debated Sensitive Social Issue",
        "有争议的敏感社会议题",
        "One-sided or inflammatory content on contested political or social topics.",
        "对有争议的政治或社会话题的片面或煽动性内容。",
    ),
    HarmCategory(
        "S6",
        "contraband",
        "Drug, Weapons, Substance Abuse",
        "毒品、武器、药物滥用",
        "Illegal drugs, weapons or substance abuse shown or glorified.",
        "展示或美化非法药物、武器或药物滥用。",
    ),
    HarmCategory(
        "S7",
        "hate",
        "Insulting, Hateful, Aggressive Behavior",
        "侮辱、仇恨、攻击性行为",
        "Insults, harassment, threats or hostile, aggressive behaviour.",
        "侮辱、骚扰、威胁或敌对、攻击性的行为。",
    ),
    HarmCategory(
        "S8",
        "violence",
        "Violence, Injury, Gory Content",
        "暴力、伤害、血腥内容",
        "Fighting, injury, blood, gore or graphic physical harm.",
        "打斗、受伤、流血、血腥或露骨的身体伤害。",
    ),
    HarmCategory(
        "S9",
        "racism",
        "Racial Discrimination",
        "种族歧视",
        "Stereotypes, demeaning depictions or hostility based on race or ethnicity.",
        "基于种族或民族的刻板印象、贬低性描绘或敌意。",
    ),
    HarmCategory(
        "S10",
        "other_discrimination",
        "Other Discrimination (Excluding Racial)",
        "其他歧视（种族歧视除外）",
        "Discrimination by gender, religion, disability, age, orientation and the like.",
        "基于性别、宗教、残疾、年龄、性取向等的歧视。",
    ),
    HarmCategory(
        "S11",
        "terrorism",
        "Terrorism, Organized Crime",
        "恐怖主义、有组织犯罪",
        "Terrorist acts, extremist propaganda or organised criminal groups.",
        "恐怖行为、极端主义宣传或有组织的犯罪集团。",
    ),
    HarmCategory(
        "S12",
        "other_harmful",
        "Other Harmful Content",
        "其他有害内容",
        "Self-harm, dangerous stunts, misinformation or any other harm not listed above.",
        "自残、危险行为、虚假信息或以上未列出的其他危害。",
    ),
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
