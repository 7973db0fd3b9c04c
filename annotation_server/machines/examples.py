"""A machine annotator's in-context examples: labelled pictures under MEDIA_ROOT shown to the
model before the item (VHD11K's ICL samples: an image or a video's frames, and its answer).

    [{"image": "icl/smoking.jpg", "answer": {"harmful": true, "categories": ["drugs"],
                                             "reason": "smoking scene"}},
     {"frames": ["icl/v1/1.jpg", "icl/v1/2.jpg"], "answer": {"harmful": false, …}}]

Paths are relative to MEDIA_ROOT and must stay inside it: an absolute path, a `..` part or
a symbolic link leading out is refused, so an annotator's configuration cannot make a
worker send any other file on its disk to an endpoint. No Django here: callers pass
MEDIA_ROOT."""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath, PureWindowsPath

from annotation_server.catalog.importers.paths import real_inside

from .media import data_url

ANSWER_FIELDS = {"harmful": bool, "categories": list, "reason": str}


def example_paths(example: dict) -> list[str]:
    if "image" in example:
        return [example["image"]]
    return list(example.get("frames") or [])


def path_problem(path: object, media_root: str) -> str | None:
    """Why a path may not be used, None when it names a file inside MEDIA_ROOT."""
    if not isinstance(path, str) or not path.strip():
        return "a path must be a non-empty string"
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute():
        return f"{path!r} is absolute: give a path relative to MEDIA_ROOT"
    if ".." in PurePosixPath(path).parts or ".." in PureWindowsPath(path).parts:
        return f"{path!r} leaves MEDIA_ROOT (a '..' part)"
    full = real_inside(media_root, path)
    if full is None:
        return f"{path!r} leads out of MEDIA_ROOT (a symbolic link)"
    if not full.is_file():
        return f"{path!r} is not a file under MEDIA_ROOT"
    return None


def examples_problems(examples: object, media_root: str) -> list[str]:
    """Everything wrong with an example list, each naming its example; empty when usable."""
    if not isinstance(examples, list):
        return ['examples are a list of {"image" or "frames", "answer"} objects']
    problems: list[str] = []
    for number, example in enumerate(examples, 1):
        where = f"example {number}"
        if not isinstance(example, dict):
            problems.append(f"{where}: not an object")
            continue
        unknown = sorted(set(example) - {"image", "frames", "answer"})
        if unknown:
            problems.append(f"{where}: unknown keys {', '.join(unknown)}")
        if ("image" in example) == ("frames" in example):
            problems.append(f'{where}: give either "image" or "frames"')
        elif "frames" in example and (
            not isinstance(example["frames"], list) or not example["frames"]
        ):
            problems.append(f'{where}: "frames" is a non-empty list of paths')
        else:
            problems += [
                f"{where}: {problem}"
                for path in example_paths(example)
                if (problem := path_problem(path, media_root))
            ]
        problems += [f"{where}: {problem}" for problem in _answer_problems(example.get("answer"))]
    return problems


def _answer_problems(answer: object) -> list[str]:
    if not isinstance(answer, dict):
        return ['"answer" is an object {harmful, categories, reason}']
    problems = [
        f'"answer.{name}" must be a {kind.__name__}'
        for name, kind in ANSWER_FIELDS.items()
        if not isinstance(answer.get(name), kind)
    ]
    unknown = sorted(set(answer) - set(ANSWER_FIELDS))
    if unknown:
        problems.append(f'"answer" has unknown keys {", ".join(unknown)}')
    categories = answer.get("categories")
    if isinstance(categories, list) and not all(isinstance(key, str) for key in categories):
        problems.append('"answer.categories" is a list of category keys')
    elif answer.get("harmful") is False and categories:
        problems.append("a harmless example shows no categories")
    return problems


def category_problem(examples: list[dict], keys: list[str]) -> str | None:
    """Categories of the examples' answers that a batch's taxonomy lacks (checked when a run
    starts: an annotator is not tied to one taxonomy)."""
    given = {key for example in examples for key in example["answer"].get("categories") or ()}
    unknown = sorted(given - set(keys))
    if unknown:
        return f"its examples use categories the taxonomy lacks: {', '.join(unknown)}"
    return None


def examples_load(examples: list[dict], media_root: str) -> list[tuple[list[str], dict]]:
    """(data URLs, answer) per example, read once per run; ValueError naming what cannot be
    used (checked again: files may have changed since the annotator was saved)."""
    problems = examples_problems(examples, media_root)
    if problems:
        raise ValueError("; ".join(problems))
    loaded = []
    for example in examples:
        urls = []
        for path in example_paths(example):
            full = Path(media_root) / path
            mime = mimetypes.guess_type(full.name)[0] or "image/jpeg"
            urls.append(data_url(full.read_bytes(), mime))
        loaded.append((urls, example["answer"]))
    return loaded
