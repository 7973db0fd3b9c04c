"""Number formatting for the dashboard: undefined values read "n/a", never crash or show "None"."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pct(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:.{int(digits)}f}%"


@register.filter
def num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{int(digits)}f}"


@register.filter
def seconds(milliseconds: int | None) -> str:
    """Milliseconds as seconds with one decimal ("12.3 s")."""
    if milliseconds is None:
        return "n/a"
    return f"{milliseconds / 1000:.1f} s"
