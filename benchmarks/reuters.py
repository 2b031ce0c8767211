"""Loader for the Reuters-21578 collection (SGML distribution).

The collection (Lewis, 1997; distributed as ``reut2-000.sgm`` …
``reut2-021.sgm``) holds 21,578 newswire stories of 1987, 19,043 of them with a
``<BODY>``.  The files are SGML, not XML (no root element, unescaped ``&``
in places, control-character references such as ``&#3;``), so they are read
with regular expressions on the decoded file text:

* files are decoded as latin-1 (they are ASCII but for a handful of bytes);
* entities and character references are decoded with :func:`html.unescape`;
  control characters (``&#2;``, ``&#3;``, ``&#127;`` … and any raw ones) are
  removed, tabs and newlines kept;
* the body keeps its line breaks and the paragraph indentation of the wire
  (a paragraph starts on a line indented by spaces); trailing spaces are
  removed.  The ``Reuter`` sign-off at the end of most bodies is kept.

Each story with a non-empty body gives one record::

    {"id": "reuters-<NEWID>", "text": TITLE + "\\n\\n" + BODY (or BODY alone),
     "date": "YYYY-MM-DD", "source": "reuters"}

``date`` is ``None`` when the ``<DATE>`` field cannot be parsed (it never
happens in the standard distribution).

CLI::

    python benchmarks/reuters.py DATA_DIR OUT.jsonl

writes the records as JSONL and prints how many were written.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from typing import Iterator

__all__ = ["iter_reuters", "clean_text", "parse_date", "main"]

_STORY = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S)
_NEWID = re.compile(r'\bNEWID="(\d+)"')
_DATE = re.compile(r"<DATE>(.*?)</DATE>", re.S)
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.S)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.S)
_DATE_VALUE = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})")
# C0 controls except \t and \n, DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}


def clean_text(raw: str) -> str:
    """Decode entities/character references and drop control characters.

    ``\\r`` is turned into ``\\n`` first; tabs and newlines are kept, trailing
    spaces of lines and surrounding blank space of the whole text removed.
    """
    text = html.unescape(raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    return text.strip()


def parse_date(raw: str) -> str | None:
    """``"26-FEB-1987 15:01:01.79"`` → ``"1987-02-26"`` (``None`` if unparseable).

    Some DATE fields carry wire junk after the time (``…&#5;&#5;&#5;RM``); only
    the leading ``D-MON-YYYY`` matters.
    """
    m = _DATE_VALUE.search(raw)
    if m is None:
        return None
    month = _MONTHS.get(m.group(2).upper())
    day = int(m.group(1))
    if month is None or not 1 <= day <= 31:
        return None
    return f"{int(m.group(3)):04d}-{month:02d}-{day:02d}"


def _sgm_files(data_dir: Path) -> list[Path]:
    files = sorted(data_dir.glob("reut2-*.sgm"))
    if not files:
        raise FileNotFoundError(f"no reut2-*.sgm files in {data_dir}")
    return files


def iter_reuters(data_dir: str | Path) -> Iterator[dict]:
    """Yield one record per Reuters-21578 story with a non-empty ``<BODY>``.

    Stories come in file order (``reut2-000.sgm`` first), i.e. by NEWID.
    Records: ``{"id", "text", "date", "source"}`` as described in the module
    docstring.
    """
    for path in _sgm_files(Path(data_dir)):
        content = path.read_bytes().decode("latin-1")
        for m in _STORY.finditer(content):
            attrs, inner = m.group(1), m.group(2)
            body_m = _BODY.search(inner)
            if body_m is None:
                continue
            body = clean_text(body_m.group(1))
            if not body:
                continue
            newid_m = _NEWID.search(attrs)
            if newid_m is None:  # never in the standard distribution
                continue
            title_m = _TITLE.search(inner)
            title = " ".join(clean_text(title_m.group(1)).split()) if title_m else ""
            date_m = _DATE.search(inner)
            date = parse_date(html.unescape(date_m.group(1))) if date_m else None
            yield {
                "id": f"reuters-{newid_m.group(1)}",
                "text": f"{title}\n\n{body}" if title else body,
                "date": date,
                "source": "reuters",
            }


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: ``reuters.py DATA_DIR OUT.jsonl``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python benchmarks/reuters.py DATA_DIR OUT.jsonl", file=sys.stderr)
        return 2
    data_dir, out = Path(args[0]), Path(args[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with out.open("w", encoding="utf-8") as f:
        for rec in iter_reuters(data_dir):
            f.write(json.dumps(rec, ensure_ascii=False))
            f.write("\n")
            n += 1
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
