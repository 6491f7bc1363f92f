"""restorelib.prose: numbers worded for generated sentences, and glue that works outside the book build."""
import sys

from restorelib import prose


def test_signed_and_spans():
    assert prose.signed(0.344) == "+0.34" and prose.signed(-0.05) == "−0.05"
    assert prose.signed(-0.001) == "0.00" and prose.signed(2.5, 1) == "+2.5"
    assert prose.span([0.12, 0.29, 0.2]) == "0.12 to 0.29" and prose.span([0.121, 0.119]) == "0.12"
    assert prose.span([-0.1, 0.3], 1, sign=True) == "−0.1 to +0.3"


def test_words_and_tables():
    assert prose.and_list([]) == "" and prose.and_list(["a"]) == "a"
    assert prose.and_list(["a", "b", "c"]) == "a, b and c"
    assert prose.plural(1, "tool") == "1 tool" and prose.plural(3, "patch", "patches") == "3 patches"
    assert prose.md_table(["a", "b"], [(1, 2)]).splitlines() == ["| a | b |", "|---|---|", "| 1 | 2 |"]


def test_glue_without_myst_nb(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)      # as on Colab: the import fails, glue does nothing
    assert prose.glue("x", 1.0) is None
