"""Columns of a VHD11K annotation row and decoding its text defensively (no Django)."""

from __future__ import annotations

PATH_COLUMNS = {"image": "imagePath", "video": "videoPath"}
# (role, round, column) in the order the debate ran: affirmative then negative, per round.
ARGUMENT_COLUMNS = (
    ("affirmative", 0, "affirmativeDebater_argument_0"),
    ("negative", 0, "negativeDebater_argument_0"),
    ("affirmative", 1, "affirmativeDebater_argument_1"),
    ("negative", 1, "negativeDebater_argument_1"),
)
REQUIRED_COLUMNS = ("decision", "harmfulType", *(c for _, _, c in ARGUMENT_COLUMNS))
OPTIONAL_COLUMNS = ("critic",)
MISSING = "None"  # what the published annotator writes for an argument it has not got


def decode_field(text: str) -> tuple[str, bool]:
    """(text, True) when `text`'s bytes are UTF-8, else (text as ISO-8859-1, False).

    `text` is the field read as ISO-8859-1, one character per byte, so encoding it back
    gives the bytes exactly as they are in the file. A character beyond U+00FF (a JSON
    \\u escape) means the text is already decoded.
    """
    try:
        raw = text.encode("iso-8859-1")
    except UnicodeEncodeError:
        return text, True
    if raw.isascii():
        return text, True
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return text, False


def missing_to_none(value: str | None) -> str | None:
    """None for an absent, empty or "None" value; the value as written otherwise."""
    if value is None or value.strip() in ("", MISSING):
        return None
    return value


def bare_file_name(value: str) -> str:
    """The file name at the end of a path the annotator may have written in full.

    The annotator scripts record the path they were given (possibly a Windows one); the
    zips are searched by the name alone.
    """
    return value.strip().replace("\\", "/").rsplit("/", 1)[-1]
