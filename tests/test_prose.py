"""restorelib.teaching.prose: numbers worded for generated sentences, and glue that works outside the book build."""
import sys

from restorelib.teaching import prose


def test_signed_and_spans():
    assert prose.signed(0.344) == "+0.34" and prose.signed(-0.05) == "−0.05"
    assert prose.signed(-0.001) == "0.00" and prose.signed(2.5, 1) == "+2.5"
    assert prose.span([0.12, 0.29, 0.2]) == "0.12 to 0.29" and prose.span([0.121, 0.119]) == "0.12"
    assert prose.span([-0.1, 0.3], 1, sign=True) == "−0.1 to +0.3"
    assert prose.slashed([24.391, 23.3, 22.449]) == "24.39 / 23.30 / 22.45"
    assert prose.slashed([0.27, 0.12, -0.03], sign=True) == "+0.27 / +0.12 / −0.03"
    assert prose.slashed([0.0123, -0.0004], 3, sign=True) == "+0.012 / 0.000" and prose.slashed([]) == ""
    assert prose.db(0.27) == "+0.27 dB" and prose.db(-0.05, 0.03) == "−0.05 ± 0.03 dB"
    assert prose.db(-0.004) == "0.00 dB" and prose.db(0.1234, 0.0456, 3) == "+0.123 ± 0.046 dB"


def test_clear_sign_judges_the_printed_figures():
    assert prose.clear_sign({"mean": 0.27, "se": 0.12}) == 1
    assert prose.clear_sign({"mean": -0.27, "se": 0.12}) == -1
    assert prose.clear_sign({"mean": 0.2, "se": 0.1}) == 0                  # exactly two standard errors: not clear
    assert prose.clear_sign({"mean": 0.204, "se": 0.101}) == 0              # printed 0.20 ± 0.10 (0.204 > 0.202)
    ssim = {"mean": 0.0031, "se": 0.0012}
    assert prose.clear_sign(ssim, 3) == 1 and prose.clear_sign(ssim) == 0     # 0.003 ± 0.001, but 0.00 ± 0.00
    assert prose.clear_sign({"mean": 0.01, "se": 0.0}) == 1                 # one patch: se 0


def test_words_and_tables():
    assert prose.and_list([]) == "" and prose.and_list(["a"]) == "a"
    assert prose.and_list(["a", "b", "c"]) == "a, b and c"
    assert prose.plural(1, "tool") == "1 tool" and prose.plural(3, "patch", "patches") == "3 patches"
    assert prose.plural(2, "tool loses", "tools lose", count=False) == "tools lose"
    assert prose.plural(1, "its", "their", count=False) == "its" and prose.plural(0, "length", count=False) == "lengths"
    assert prose.capitalised("on 68 patches, HIRL") == "On 68 patches, HIRL" and prose.capitalised("") == ""
    assert prose.md_table(["a", "b"], [(1, 2)]).splitlines() == ["| a | b |", "|---|---|", "| 1 | 2 |"]


def test_glue_without_myst_nb(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)      # as on Colab: the import fails, glue does nothing
    assert prose.glue("x", 1.0) is None


def test_training_words_follow_the_record():
    import json
    from pathlib import Path

    import pytest
    rec = {"config": {"steps": 8000, "batch": 16, "crop": 41}, "train_sets": ["CBSD398"]}
    assert prose.training_words(rec) == "8,000 steps of 16 crops of 41x41 of CBSD398"
    box = {"config": {"small_steps": 1000, "large_steps": 400, "batch": 32}, "train_set": "embedded-train"}
    assert prose.training_words(box, "updates") == "1,000 (3-layer) or 400 (8-layer) updates of 32 crops of embedded-train"
    assert prose.training_data({"train_sets": ["embedded-train", "Train400"]}) == "embedded-train and Train400"
    assert prose.training_data({}) == "the embedded training photos"
    with pytest.raises(ValueError, match="config"):
        prose.training_words({"config": [1]})
    shipped = Path(__file__).resolve().parents[1] / "restorelib" / "weights" / "tools" / "record.json"
    steps = json.loads(shipped.read_text())["config"]["small_steps"]
    assert prose.training_words(json.loads(shipped.read_text())).startswith(f"{steps:,} ")
