"""The README stays short and its sample output is what the demo prints today."""

from __future__ import annotations

import re
from pathlib import Path

from circle15.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_the_readme_is_short_and_links_to_what_it_left_out():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    for link in re.findall(r"\]\(((?:docs|bench)/[^)]+)\)", text):
        assert (ROOT / link.split("#")[0]).is_file(), link
    assert "make demo" in text and "make test" in text


def test_the_readme_sample_is_what_the_demo_prints(tmp_path, capsys):
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- demo-output -->\n```\n(.*?)```\n<!-- /demo-output -->", text,
                      re.S).group(1).rstrip("\n").splitlines()
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(block) >= 5
    assert printed[:len(block)] == block, (
        "README.md's demo output is stale; the demo now prints:\n"
        + "\n".join(printed[:len(block)]))
