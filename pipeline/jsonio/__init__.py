"""Streaming, validated, atomic JSON I/O.

`.jsonl` (and `.jl`, as Scrapyd writes) files hold one record per line; any other suffix is a JSON
array. Arrays are read element by element (never the whole file at once) and written one record per
line, so both formats stream and stay readable by `json.load`, orjson and ILID's tools.

One module a job: `formats` (which format a path holds), `reader` (the streaming parser and its
limits), `validation` (records as models, invalid ones named or set aside), `writer` (atomic writes)
and `journal` (append-only checkpoints). Callers import from `pipeline.jsonio`; the reader's limits
(`CHUNK_CHARS`, `MAX_RECORD_CHARS`) live in `pipeline.jsonio.reader`.
"""

from pipeline.jsonio.formats import JSONL_SUFFIXES, is_jsonl
from pipeline.jsonio.journal import journal_entries, open_journal
from pipeline.jsonio.reader import JsonReader, decode_problem, record_cap
from pipeline.jsonio.validation import (
    InvalidRecord,
    describe_validation_error,
    first_problem,
    read_records,
    read_valid,
    read_valid_with_text,
)
from pipeline.jsonio.writer import (
    RecordWriter,
    dumps,
    plain,
    temp_prefix,
    write_bytes,
    write_json,
    write_records,
)

__all__ = [
    "JSONL_SUFFIXES",
    "InvalidRecord",
    "JsonReader",
    "RecordWriter",
    "decode_problem",
    "describe_validation_error",
    "dumps",
    "first_problem",
    "is_jsonl",
    "journal_entries",
    "open_journal",
    "plain",
    "read_records",
    "read_valid",
    "read_valid_with_text",
    "record_cap",
    "temp_prefix",
    "write_bytes",
    "write_json",
    "write_records",
]
