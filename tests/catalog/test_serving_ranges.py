"""The Range header parser (pure): what a browser asks for and what it gets."""

from __future__ import annotations

import pytest

from annotation_server.catalog.ranges import ByteRange, RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=100-199", 1000, ByteRange(100, 199)),
        ("bytes=0-", 1000, ByteRange(0, 999)),
        ("bytes=990-2000", 1000, ByteRange(990, 999)),
        ("bytes=-10", 1000, ByteRange(990, 999)),
        ("bytes=-5000", 1000, ByteRange(0, 999)),
        ("BYTES = 5 - 6", 1000, ByteRange(5, 6)),
    ],
)
def test_single_ranges(header, size, expected):
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    "header", [None, "", "items=0-5", "bytes=5-1", "bytes=a-b", "bytes=-", "bytes=0-1,5-6"]
)
def test_headers_that_mean_send_everything(header):
    assert parse_range(header, 1000) is None


@pytest.mark.parametrize(
    ("header", "size"),
    [("bytes=1000-", 1000), ("bytes=-0", 1000), ("bytes=0-", 0), ("bytes=-1", 0)],
)
def test_unsatisfiable_ranges(header, size):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size)


def test_content_range_and_length():
    byte_range = ByteRange(100, 199)
    assert byte_range.length == 100
    assert byte_range.content_range(5000) == "bytes 100-199/5000"
