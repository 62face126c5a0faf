"""Which encoding an export is in, and reading it as UTF-8 whatever it is.

Every reader works on UTF-8 bytes. A file in another encoding is transcoded on the fly
(`transcoded`), line by line, so memory stays flat and each line's text is exactly the
file's line: encoding a rejected row's raw text back with the file's encoding gives the
original bytes (bytes the encoding cannot decode travel as `\\udcXX` surrogates, Python's
`surrogateescape`, and come back as the same bytes).

Without `--encoding`, `detect` reads the whole file before anything is stored: valid UTF-8
(with or without a BOM) is UTF-8; a UTF-16 BOM is UTF-16; otherwise the file is Windows-1252
(what Salesforce Data Export, Excel and most Western European tools write), or ISO-8859-1
when a byte is one cp1252 leaves undefined. A file whose lines are partly UTF-8 (with
non-ASCII characters) and partly not mixes encodings: it is refused, so that no row is
silently misread; `--encoding` then decides. The rule is deterministic on purpose: a
statistical detector (chardet, charset-normalizer) guesses among dozens of code pages and,
on the short Latin text of a CRM export, names a sibling that misreads the very characters
that matter (charset-normalizer 3.5 answers cp852 and cp775 for the Windows-1252 exports
of tests/integration/test_encodings.py), so no dependency is added for it.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import BinaryIO


class EncodingError(ValueError):
    """An unknown encoding, or a file whose encoding cannot be told (mixed)."""

UTF8 = "utf-8"
CHUNK = 1 << 20
_UTF8_NAMES = {"utf-8", "utf-8-sig"}
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def codec_name(name: str) -> str:
    """The canonical name of the encoding called `name` (`latin-1` -> `iso8859-1`)."""
    try:
        info = codecs.lookup(name.strip())
    except LookupError:
        raise EncodingError(f"unknown encoding {name!r} (e.g. utf-8, cp1252, "
                              "iso-8859-1, utf-16)") from None
    if not getattr(info, "_is_text_encoding", True):
        raise EncodingError(f"{name!r} is not a text encoding")
    return info.name


def is_utf8(name: str) -> bool:
    return codec_name(name) in _UTF8_NAMES


@dataclass(frozen=True)
class Detected:
    encoding: str
    #: Why, for the user: None when the file is plain UTF-8.
    reason: str | None = None


def detect(stream: BinaryIO) -> Detected:
    """The encoding of the whole file `stream` (read to its end)."""
    head = stream.read(4)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return Detected(name, "the file starts with its byte order mark")
    decoder = codecs.getincrementaldecoder(UTF8)()
    chunk = head
    try:
        while chunk:
            decoder.decode(chunk)
            chunk = stream.read(CHUNK)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        stream.seek(0)
        return _not_utf8(stream)
    return Detected(UTF8)


def _not_utf8(stream: BinaryIO) -> Detected:
    """The file is not UTF-8: tell a single-byte Western file from a mixed one."""
    first_bad = utf8_line = 0
    undefined = False
    for number, line in enumerate(iter(lambda: stream.readline(CHUNK), b""), 1):
        if line.isascii():
            continue
        try:
            line.decode(UTF8)
        except UnicodeDecodeError:
            first_bad = first_bad or number
            undefined = undefined or _undefined_in_cp1252(line)
        else:
            utf8_line = utf8_line or number
        if first_bad and utf8_line:
            raise EncodingError(
                f"line {first_bad} is not valid UTF-8 but line {utf8_line} is: the file "
                "mixes encodings; pass --encoding (utf-8 rejects the lines that are not "
                "UTF-8; cp1252 reads every line, the UTF-8 ones garbled)")
    name = "iso8859-1" if undefined else "cp1252"
    return Detected(name, f"line {first_bad} is not valid UTF-8")


def _undefined_in_cp1252(line: bytes) -> bool:
    try:
        line.decode("cp1252")
    except UnicodeDecodeError:
        return True
    return False


class Transcoded:
    """A binary stream in `encoding` read as UTF-8 bytes (`readline`, `read`, `tell`).

    Bytes the encoding cannot decode come out as the same bytes (invalid UTF-8, so the
    reader rejects their line); `tell` is the position in the underlying file."""

    def __init__(self, stream: BinaryIO, encoding: str):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder(encoding)("surrogateescape")
        self.buffer = b""
        self.at = 0  # where the unread part of `buffer` starts
        self.done = False

    def _fill(self) -> None:
        chunk = self.stream.read(1 << 16)
        text = self.decoder.decode(chunk, final=not chunk)
        self.buffer = self.buffer[self.at:] + text.encode(UTF8, "surrogateescape")
        self.at = 0
        self.done = not chunk

    def readline(self, size: int = -1, /) -> bytes:
        while True:
            end = self.buffer.find(b"\n", self.at)
            left = len(self.buffer) - self.at
            if end >= 0 and (size < 0 or end - self.at < size):
                return self._take(end + 1 - self.at)
            if 0 <= size <= left:
                return self._take(size)
            if self.done:
                return self._take(left)
            self._fill()

    def read(self, size: int = -1, /) -> bytes:
        while not self.done and (size < 0 or len(self.buffer) - self.at < size):
            self._fill()
        left = len(self.buffer) - self.at
        return self._take(left if size < 0 else min(size, left))

    def _take(self, count: int) -> bytes:
        taken = self.buffer[self.at:self.at + count]
        self.at += count
        return taken

    def peek(self, size: int, /) -> bytes:
        """The next `size` bytes (fewer at the end), left unread."""
        while not self.done and len(self.buffer) - self.at < size:
            self._fill()
        return self.buffer[self.at:self.at + size]

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.stream.tell()

    def close(self) -> None:
        self.stream.close()


def utf8_stream(stream: BinaryIO, encoding: str | None) -> BinaryIO:
    """`stream` as UTF-8 bytes: itself when it is UTF-8 already (a BOM is the readers'
    business), else transcoded."""
    if encoding is None or is_utf8(encoding):
        return stream
    return Transcoded(stream, codec_name(encoding))  # type: ignore[return-value]
