"""`Transcoded` reads a file in any encoding as the UTF-8 bytes of the same text, by lines
or blocks of any size, and gives back bytes it cannot decode unchanged; `detect` tells
UTF-8, a byte order mark, Windows-1252, ISO-8859-1 and a mixed file apart."""

from __future__ import annotations

import codecs
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifecycle.importers.encodings import EncodingError, Transcoded, detect
from lifecycle.importers.records import csv_records

LATIN = st.text(st.sampled_from(list("abc ,\"\nñóéüÀß€…–\r")), max_size=300)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "iso8859-15"])
@given(text=LATIN, sizes=st.lists(st.integers(-1, 40), min_size=1, max_size=30))
def test_lines_and_blocks_are_the_text_in_utf8(encoding: str, text: str,
                                              sizes: list[int]) -> None:
    text = "".join(ch for ch in text if ch.encode(encoding, "ignore"))  # what it can write
    stream = Transcoded(io.BytesIO(text.encode(encoding)), encoding)
    out = b""
    for i, size in enumerate(sizes * 20):
        chunk = stream.readline(size) if i % 2 else stream.read(size)
        if size > 0:
            assert len(chunk) <= size
        if i % 2 and chunk and size != len(chunk):
            assert chunk.endswith(b"\n") or not stream.read(1)
        out += chunk
    out += stream.read()
    assert out == text.encode("utf-8")


def test_undecodable_bytes_come_back_unchanged() -> None:
    raw = b"a\x81b\nc\x8dd\n"  # 0x81 and 0x8d are not cp1252 characters
    stream = Transcoded(io.BytesIO(raw), "cp1252")
    assert stream.readline() == b"a\x81b\n"
    assert stream.read() == b"c\x8dd\n"
    [record] = list(csv_records(io.BytesIO(b"x\n" + raw[:4]), encoding="cp1252"))[1:]
    assert record.problem == "not valid cp1252"
    assert record.raw.encode("cp1252", "surrogateescape") == b"a\x81b"


@pytest.mark.parametrize(("content", "encoding", "reason"), [
    ("Negociación\n".encode(), "utf-8", None),
    (codecs.BOM_UTF8 + "Negociación\n".encode(), "utf-8", None),
    (b"plain ascii\n", "utf-8", None),
    (codecs.BOM_UTF16_LE + "Negociación\n".encode("utf-16-le"), "utf-16",
     "the file starts with its byte order mark"),
    (b"ok\nNegociaci\xf3n\n", "cp1252", "line 2 is not valid UTF-8"),
    (b"ok\nNegociaci\xf3n \x81\n", "iso8859-1", "line 2 is not valid UTF-8"),
])
def test_detect(content: bytes, encoding: str, reason: str | None) -> None:
    detected = detect(io.BytesIO(content))
    assert (detected.encoding, detected.reason) == (encoding, reason)


def test_detect_refuses_a_mixed_file() -> None:
    with pytest.raises(EncodingError, match="^line 3 is not valid UTF-8 but line 2 is"):
        detect(io.BytesIO(b"ok\n" + "Negociación\n".encode() + b"Negociaci\xf3n\n"))
