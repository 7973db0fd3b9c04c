"""Taxonomies as data: checking a definition, saving it as a new version, the built-in ones.

A definition is a mapping (from JSON, YAML or the admin) of `name`, optional `title` and
`source`, and `categories`: a list of {key, label_en, label_zh, description_en,
description_zh} in display order. Saving a definition whose categories differ from the
newest version of that name makes the next version; the same categories again return the
existing version, so importing a file twice changes nothing. Versions are never edited in
place: answers point at the version they were given with.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from annotation_server.catalog.models import Taxonomy
from annotation_server.core.exceptions import ApplicationError
from annotation_server.taxonomy import BUILT_IN_TAXONOMIES, TAXONOMY_DIR

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
CATEGORY_FIELDS = ("key", "label_en", "label_zh", "description_en", "description_zh")
MAX_CATEGORIES = 64


def taxonomy_problems(data: Any) -> list[str]:
    """What is wrong with a taxonomy definition, one message per problem (empty: usable)."""
    if not isinstance(data, dict):
        return ["a taxonomy must be an object with name and categories"]
    problems = []
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(
            "name: lower-case letters, digits, '_', '.' or '-' (at most 64), e.g. my_harms"
        )
    categories = data.get("categories")
    if not isinstance(categories, list) or not categories:
        return [*problems, "categories: a non-empty list of categories"]
    if len(categories) > MAX_CATEGORIES:
        problems.append(f"categories: at most {MAX_CATEGORIES}, not {len(categories)}")
    seen: set[str] = set()
    for n, category in enumerate(categories, 1):
        where = f"categories[{n}]"
        if not isinstance(category, dict):
            problems.append(f"{where}: an object with {', '.join(CATEGORY_FIELDS)}")
            continue
        key = category.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            problems.append(f"{where}.key: snake_case starting with a letter, e.g. violence")
        elif key in seen:
            problems.append(f"{where}.key: {key!r} appears twice")
        else:
            seen.add(key)
        if not isinstance(category.get("label_en"), str) or not category["label_en"].strip():
            problems.append(f"{where}.label_en: an English label is required")
        for field in CATEGORY_FIELDS[2:]:
            if field in category and not isinstance(category[field], str):
                problems.append(f"{where}.{field}: must be text")
        unknown = sorted(set(category) - set(CATEGORY_FIELDS) - {"code"})
        if unknown:
            problems.append(f"{where}: unknown fields {', '.join(unknown)}")
    return problems


def _normalised(categories: list[dict]) -> list[dict]:
    out = []
    for category in categories:
        entry = {"key": category["key"], "label_en": category["label_en"].strip()}
        # A missing Chinese label shows the English one rather than an empty button.
        entry["label_zh"] = (category.get("label_zh") or "").strip() or entry["label_en"]
        entry["description_en"] = (category.get("description_en") or "").strip()
        entry["description_zh"] = (category.get("description_zh") or "").strip() or entry[
            "description_en"
        ]
        if category.get("code"):
            entry["code"] = category["code"]
        out.append(entry)
    return out


@transaction.atomic
def taxonomy_save(data: Any, *, built_in: bool = False) -> tuple[Taxonomy, bool]:
    """The taxonomy version for this definition, and whether it is new (see the module)."""
    problems = taxonomy_problems(data)
    if problems:
        raise ApplicationError(
            "The taxonomy cannot be used: " + "; ".join(problems) + ".",
            errors={"taxonomy": problems},
            code="taxonomy_invalid",
        )
    categories = _normalised(data["categories"])
    # Locks the name's newest version so two saves of one name cannot both make version n+1.
    newest = (
        Taxonomy.objects.select_for_update().filter(name=data["name"]).order_by("-version").first()
    )
    if newest is not None and newest.categories == categories:
        return newest, False
    taxonomy = Taxonomy.objects.create(
        name=data["name"],
        version=1 if newest is None else newest.version + 1,
        title=str(data.get("title") or "")[:200],
        source=str(data.get("source") or ""),
        categories=categories,
        built_in=built_in,
    )
    return taxonomy, True


def taxonomy_read_file(path: Path) -> Any:
    """A definition from a .json, .yaml or .yml file, or a clear error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ApplicationError(f"{path.name}: cannot be read as UTF-8 text ({error}).") from error
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            return yaml.safe_load(text)
        return json.loads(text)
    except (ValueError, yaml.YAMLError) as error:
        raise ApplicationError(
            f"{path.name}: not valid {path.suffix[1:].upper()}: {error}"
        ) from error


def taxonomy_ensure_built_in() -> list[Taxonomy]:
    """The built-in taxonomies (catalog/taxonomies/*.json) saved, newest versions returned."""
    return [
        taxonomy_save(
            json.loads((TAXONOMY_DIR / f"{name}.json").read_text("utf-8")), built_in=True
        )[0]
        for name in BUILT_IN_TAXONOMIES
        if (TAXONOMY_DIR / f"{name}.json").exists()
    ]


def taxonomy_latest(name: str) -> Taxonomy:
    found = Taxonomy.objects.filter(name=name).order_by("-version").first()
    if found is None:
        known = ", ".join(sorted(set(Taxonomy.objects.values_list("name", flat=True)))) or "none"
        raise ApplicationError(
            f"There is no taxonomy named {name!r} (known: {known}).", code="taxonomy_not_found"
        )
    return found
