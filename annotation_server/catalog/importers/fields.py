"""Field checks shared by the manifest and SafeSora readers (no Django)."""

from __future__ import annotations

from typing import Any

from annotation_server.taxonomy import HARM_KEYS, PROMPT_TYPES, harm_label, validate_harm_label

ID_MAX = 128  # Prompt.prompt_id, Video.video_id, Video.generated_from
PAIR_ID_MAX = 300


class FieldErrors:
    """Collects `(field, message)` problems for one record."""

    def __init__(self, prefix: str = ""):
        self.prefix = prefix
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append((f"{self.prefix}{field}", message))

    def text(
        self,
        obj: dict,
        key: str,
        *,
        required: bool = True,
        max_len: int | None = None,
        default: str | None = None,
    ) -> str | None:
        """The non-empty string at `obj[key]`, or None after recording why it is unusable."""
        if key not in obj or obj[key] is None:
            if required:
                self.add(key, "is required")
            return default
        value = obj[key]
        if not isinstance(value, str):
            self.add(key, f"must be a string, not {type_name(value)}")
            return None
        if not value.strip():
            self.add(key, "must not be empty")
            return None
        if "\x00" in value:  # PostgreSQL text cannot store NUL: refuse it here, not mid-write
            self.add(key, "must not contain NUL (\\u0000) characters")
            return None
        if max_len is not None and len(value) > max_len:
            self.add(key, f"is {len(value)} characters long; at most {max_len} are allowed")
            return None
        return value

    def prompt_type(self, obj: dict, key: str = "prompt_type") -> str | None:
        value = self.text(obj, key)
        if value is not None and value not in PROMPT_TYPES:
            self.add(key, f"unknown prompt type {value!r}; use one of {', '.join(PROMPT_TYPES)}")
            return None
        return value

    def harm_label(self, obj: dict, key: str) -> tuple[bool, dict[str, bool] | None]:
        """(ok, label): an absent or null label is ok and None; a list names present harms."""
        value = obj.get(key)
        if value is None:
            return True, None
        if isinstance(value, list):
            unknown = [k for k in value if not isinstance(k, str) or k not in HARM_KEYS]
            if unknown:
                self.add(
                    key,
                    f"unknown harm keys: {', '.join(map(str, unknown))}; "
                    f"known keys are {', '.join(HARM_KEYS)}",
                )
                return False, None
            return True, harm_label(value)
        problems = validate_harm_label(value)
        for problem in problems:
            self.add(key, problem)
        return (not problems), (dict(value) if not problems else None)

    def unknown_keys(self, obj: dict, allowed: tuple[str, ...]) -> None:
        for key in obj:
            if key not in allowed:
                self.add(key, f"unknown field; expected only {', '.join(allowed)}")


def type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
