"""Every import format in one place: `--format` choices and `detect_format` come from here.

A new importer is one entry in `READERS` (and, when it takes options, in `open_reader`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from lifecycle.importers.canonical import FileFormatError, Row, read_csv, read_jsonl
from lifecycle.importers.common import read_header
from lifecycle.importers.encodings import EncodingError, codec_name, detect, utf8_stream
from lifecycle.importers.hubspot import read_hubspot
from lifecycle.importers.mapped import ColumnMap, jsonl_header, read_mapped
from lifecycle.importers.records import csv_records
from lifecycle.importers.salesforce import read_salesforce

Reader = Callable[..., Iterator[Row]]

READERS: dict[str, Reader] = {"jsonl": read_jsonl, "csv": read_csv,
                              "hubspot": read_hubspot, "salesforce": read_salesforce}


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise FileFormatError(
        f"cannot tell the format of {path.name} from its name: pass --format jsonl or csv")



def open_reader(fmt: str, path: Path, *, object_type: str | None = None,
                columns: str | None = None, encoding: str | None = None
                ) -> tuple[Reader, list[str]]:
    """The reader for `--format`/`--object`/`--columns`/`--encoding`, and lines to show the
    user first (the encoding detected, the resolved column mapping). Without `encoding`
    the whole file is read once to tell it (see `encodings`). Raises FileFormatError for
    a file that cannot work."""
    notes: list[str] = []
    try:
        if encoding is not None:
            encoding = codec_name(encoding)
        else:
            with path.open("rb") as stream:
                detected = detect(stream)
            encoding = detected.encoding
            if detected.reason is not None:
                notes.append(f"Encoding: {encoding} ({detected.reason}; pass --encoding NAME "
                             "to read it otherwise)")
    except EncodingError as exc:
        raise FileFormatError(str(exc)) from None
    reader: Reader
    if columns is not None:
        spec = ColumnMap.parse(columns)
        jsonl = fmt == "jsonl"
        with path.open("rb") as stream:
            header = jsonl_header(stream, encoding) if jsonl \
                else read_header(csv_records(stream, encoding=encoding))
        notes += spec.resolve(header).describe() if header is not None else []
        reader = partial(read_mapped, mapping=spec, jsonl=jsonl)
    elif fmt == "hubspot":
        reader = partial(READERS[fmt], object_type=object_type)
    else:
        reader = READERS[fmt]
    return partial(_decoded, reader, encoding), notes


def _decoded(reader: Reader, encoding: str, stream: BinaryIO, *args: Any, **kwargs: Any
             ) -> Iterator[Row]:
    """`reader` over `stream` read in `encoding`."""
    return reader(utf8_stream(stream, encoding), *args, **kwargs)
