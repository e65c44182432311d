"""Bring the Japanese catalogue up to date with the messages the code holds.

    make messages                              # extract, keep translations, list the missing
    make messages ARGS="--add new.json"        # and take new translations from a JSON file

``pybabel extract -F babel.cfg`` (the same extraction as tests/test_i18n.py) gives the
message ids; every id keeps its Japanese text from the current catalogue, or takes it from
the ``--add`` files (a JSON object of message id to Japanese text, or for a plural entry,
to a list with one text: Japanese has one plural form); ids the code no longer holds are
dropped. The file is written in a stable form (sorted, no source locations, the header
kept), so that a change to it is a diff of messages only. Ids still without a
translation are printed and the exit status is 1: tests/test_i18n.py fails on them too.
"""

from __future__ import annotations

import argparse
import json
import sys
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
JA = ROOT / "src" / "kizashi" / "locale" / "ja" / "LC_MESSAGES" / "messages.po"
HEADER = (
    "# Japanese messages of Kizashi's UI. Terms follow docs/glossary.md (JPCERT/CC and IPA\n"
    "# usage); TLP labels stay in English, as FIRST writes them.\n"
)
WIDTH = 100


def extract() -> dict[str, tuple[str, ...]]:
    """Message id (a plural entry under its singular) to the id, or (singular, plural)."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fp:
        method_map, options = parse_mapping_cfg(fp)  # type: ignore[no-untyped-call]
    out: dict[str, tuple[str, ...]] = {}
    for _f, _line, message, _comments, _context in extract_from_dir(ROOT, method_map, options):
        if isinstance(message, tuple):
            out[message[0]] = tuple(m for m in message if m)
        elif message:
            out.setdefault(message, (message,))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--add", type=Path, action="append", default=[], help="JSON translations")
    args = ap.parse_args(argv)
    with JA.open("rb") as fp:
        old = read_po(fp, locale="ja")
    known: dict[str, str | tuple[str, ...]] = {}
    for m in old:
        if not m.id:
            continue
        key = str(m.id[0] if isinstance(m.id, (tuple, list)) else m.id)
        if m.string and not m.fuzzy:
            known[key] = tuple(m.string) if isinstance(m.string, (tuple, list)) else m.string
    for path in args.add:
        for key, text in json.loads(path.read_text(encoding="utf-8")).items():
            known[key] = tuple(text) if isinstance(text, list) else text
    new = Catalog(locale="ja", project="Kizashi", fuzzy=False)
    new.header_comment = HEADER.rstrip("\n")
    missing = []
    for key, ids in sorted(extract().items()):
        text = known.get(key)
        if not text:
            missing.append(key)
            continue
        msgid: str | tuple[str, ...] = ids if len(ids) > 1 else ids[0]
        if isinstance(msgid, tuple) and isinstance(text, str):
            text = (text,)
        if isinstance(msgid, str) and isinstance(text, tuple):
            text = text[0]
        new.add(msgid, text, flags=("python-format",) if "%(" in key else ())
    buf = BytesIO()
    write_po(buf, new, width=WIDTH, omit_header=True, sort_output=True, no_location=True)
    head = (
        HEADER + 'msgid ""\nmsgstr ""\n"Project-Id-Version: Kizashi\\n"\n"Language: ja\\n"\n'
        '"Language-Team: Kizashi <ja>\\n"\n"Plural-Forms: nplurals=1; plural=0;\\n"\n'
        '"MIME-Version: 1.0\\n"\n"Content-Type: text/plain; charset=utf-8\\n"\n'
        '"Content-Transfer-Encoding: 8bit\\n"\n\n'
    )
    JA.write_text(head + buf.getvalue().decode("utf-8"), encoding="utf-8")
    for key in missing:
        print(f"MISSING {key!r}")
    print(f"{len(new)} messages written to {JA.relative_to(ROOT)}; {len(missing)} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
