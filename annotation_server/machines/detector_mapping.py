"""What a detector's detections mean in a taxonomy: its classes, the built-in mappings from
them to category keys, their checks, and the verdict a set of detections makes. Pure: no
Django models, no model weights (models.py validates with it at every save)."""

from __future__ import annotations

from dataclasses import dataclass

from .prompts import Question

# NudeNet 3.4's 320n model, in its output order (nudenet/nudenet.py's labels).
NUDENET_CLASSES = (
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)
DETECTOR_CLASSES = {"nudenet": NUDENET_CLASSES}

# Nudity is what NudeNet sees: exposed genitals, anus, female breasts and buttocks. Covered
# parts, faces, feet, bellies, armpits and male chests are not harmful in either taxonomy.
# In VHD11K's, nudity is "inappropriate exposure"; "sexually explicit content" means sexual
# acts, which a body-part detector cannot tell from nudity, so it is left to other annotators.
_NUDITY = (
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "BUTTOCKS_EXPOSED",
)
DEFAULT_MAPPINGS = {
    "nudenet": {
        "safesora": dict.fromkeys(_NUDITY, "porn"),
        "vhd11k": dict.fromkeys(_NUDITY, "inappropriate_exposure"),
    }
}


def mapping_problem(detector: str, mapping: object) -> str:
    """What is wrong with a mapping as such (not yet against a taxonomy), or ""."""
    if not isinstance(mapping, dict):
        return 'The mapping is a JSON object: {"DETECTOR_CLASS": "category_key", …}.'
    known = DETECTOR_CLASSES.get(detector, ())
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        return f"Classes {detector or 'the detector'} does not have: {', '.join(unknown)}."
    if not all(isinstance(key, str) and key for key in mapping.values()):
        return "Each class maps to one category key (a string)."
    return ""


def mapping_for(detector: str, mapping: dict, taxonomy_name: str, keys) -> dict[str, str]:
    """The mapping a run uses on a batch of this taxonomy: the annotator's own, else the
    built-in one; ValueError when there is none or it names keys the taxonomy lacks."""
    chosen = mapping or DEFAULT_MAPPINGS.get(detector, {}).get(taxonomy_name)
    if not chosen:
        raise ValueError(
            f"{detector} has no built-in mapping for the taxonomy {taxonomy_name!r}: set the "
            "annotator's detector mapping (class → category key)."
        )
    problem = mapping_problem(detector, chosen)
    if problem:
        raise ValueError(problem)
    missing = sorted(set(chosen.values()) - set(keys))
    if missing:
        raise ValueError(
            f"The detector mapping names categories the taxonomy {taxonomy_name!r} does not "
            f"have: {', '.join(missing)}."
        )
    return dict(chosen)


@dataclass(frozen=True)
class Rule:
    mapping: dict[str, str]
    threshold: float
    unsure_band: float


def detections_answer(detections: list[dict], rule: Rule, question: Question) -> dict:
    """The verdict detections make: harmful when a mapped class scores at or above the
    threshold, its categories those classes map to; unsure when a category's best mapped
    score (or, when only harmful is asked, the best of all) lies within the band around the
    threshold, so that a small change of score could change the answer."""
    best: dict[str, dict] = {}
    for detection in detections:
        key = rule.mapping.get(detection["class"])
        if key and (key not in best or detection["score"] > best[key]["score"]):
            best[key] = detection
    hits = {key for key, found in best.items() if found["score"] >= rule.threshold}
    near = [
        key for key, found in best.items()
        if abs(found["score"] - rule.threshold) <= rule.unsure_band
    ]  # fmt: skip
    if not question.ask_categories and best:
        top = max(best, key=lambda key: best[key]["score"])
        near = [top] if top in near else []
    harmful = bool(hits)
    return {
        "answer": {
            "harmful": harmful if question.ask_harmful else None,
            "categories": [k for k in question.keys if k in hits]
            if question.ask_categories
            else None,
        },
        "unsure": bool(near),
        "unsure_categories": [k for k in question.keys if k in near],
        "reason": _reason(best, hits, rule.threshold),
    }


def _reason(best: dict[str, dict], hits: set[str], threshold: float) -> str:
    if not best:
        return "No class the mapping covers was detected."
    said = []
    for key, found in sorted(best.items(), key=lambda item: -item[1]["score"]):
        at = found.get("at")
        where = f" at {at:.1f} s" if at is not None else ""
        verb = "≥" if key in hits else "<"
        said.append(f"{found['class']} {found['score']:.2f}{where} ({verb} {threshold}) → {key}")
    return "; ".join(said)
