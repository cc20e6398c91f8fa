"""README's option tables are written from the declarations: a stale README fails here.

Fix: ``python -m imgproxy_py.options.doc`` (rewrites the tables between their markers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgproxy_py.options import doc
from imgproxy_py.options.catalog import PROCESSING_OPTIONS
from imgproxy_py.options.info import INFO_OPTIONS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_tables_are_up_to_date() -> None:
    text = README.read_text(encoding="utf-8")
    assert doc.replace_region(text, doc.render()) == text, "run: python -m imgproxy_py.options.doc"
    assert doc.main(["--readme", str(README), "--check"]) == 0


def test_every_option_has_a_row() -> None:
    region = doc.render()
    for spec in (*PROCESSING_OPTIONS, *INFO_OPTIONS):
        assert f"| `{spec.name}`" in region, spec.name


def test_check_reports_and_rewrite_fixes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{doc.START}\nold table\n{doc.END}\n\nafter\n", encoding="utf-8")
    assert doc.main(["--readme", str(readme), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert doc.main(["--readme", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert "old table" not in text and text.startswith("# x\n\n") and text.endswith("\n\nafter\n")
    assert doc.main(["--readme", str(readme), "--check"]) == 0
    with pytest.raises(ValueError, match="markers"):
        doc.replace_region("no markers", doc.render())
