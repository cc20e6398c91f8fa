"""The README's option tables, written from the declarations.

::

    python -m imgproxy_py.options.doc            # rewrite the tables in ./README.md
    python -m imgproxy_py.options.doc --check    # exit 1 (and say so) when they are out of date

The tables sit between two marker comments; everything else in the README is left as it is.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from imgproxy_py.options.catalog import PROCESSING_OPTIONS
from imgproxy_py.options.info import INFO_OPTIONS
from imgproxy_py.options.registry import Declaration, Family

START = ("<!-- option tables: written by `python -m imgproxy_py.options.doc` from the declarations "
         "in imgproxy_py/options/; edit those, not this -->")
END = "<!-- end of option tables -->"

TITLES = {
    Family.GEOMETRY: "Geometry",
    Family.CROPPING: "Cropping",
    Family.EFFECTS: "Effects",
    Family.OUTPUT: "Output",
    Family.OPTIMIZATION: "Optimization",
    Family.META: "Presets, caching and the response",
    Family.VIDEO: "Video and representative pictures",
    Family.DETECTION: "Object detection",
}
HEADER = "| option (short) | arguments | what it does | example |\n|---|---|---|---|"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a "|" would end the table cell


def _names(spec: Declaration) -> str:
    aliases = ", ".join(f"`{a}`" for a in spec.aliases)
    return f"`{spec.name}`" + (f" ({aliases})" if aliases else "")


def _example(spec: Declaration) -> str:
    where = "a video" if not spec.source else f"`{spec.source}`" if spec.source != "chelsea.jpg" else ""
    return f"`{spec.example}`" + (f" on {where}" if where else "")


def _rows(specs: Iterable[Declaration], note: dict[str, str] | None = None) -> list[str]:
    note = note or {}
    return [f"| {_names(s)} | `{_cell(s.grammar.doc())}` | {_cell(s.description)}{note.get(s.name, '')} "
            f"| {_cell(_example(s))} |" for s in specs]


def render() -> str:
    """The whole generated region, markers included."""
    parts = [START, "",
             "An example is the options part of a URL on a demo image (`make run` serves them): `chelsea.jpg` "
             "unless the table names another. Empty arguments keep the current value; booleans are "
             "`1`/`t`/`true` (anything else is false).", ""]
    for family, title in TITLES.items():
        specs = [s for s in PROCESSING_OPTIONS if s.family is family]
        parts += [f"#### {title}", "", HEADER, *_rows(specs), ""]
    parts += ["#### `/info` options", "",
              "`/info` has options of its own (`s` is the source's size there, not a resize): "
              "`/info/unsafe/do:1/plain/local:///astronaut.jpg`; the answer's fields are in the `/info` section.",
              "", HEADER, *_rows(INFO_OPTIONS), "", END]
    return "\n".join(parts)


def replace_region(readme: str, region: str) -> str:
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError("README has no option-table markers")
    return readme[:start] + region + readme[end + len(END):]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m imgproxy_py.options.doc", description=__doc__.split("\n")[0])
    parser.add_argument("--readme", type=Path, default=Path("README.md"), help="default: ./README.md")
    parser.add_argument("--check", action="store_true", help="only say whether the tables are up to date")
    args = parser.parse_args(argv)
    current = args.readme.read_text(encoding="utf-8")
    updated = replace_region(current, render())
    if updated == current:
        return 0
    if args.check:
        print(f"{args.readme}: option tables are out of date; run python -m imgproxy_py.options.doc",
              file=sys.stderr)
        return 1
    args.readme.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
