"""Colab: the launch links the book builds from _config.yml, and each chapter's hidden, pinned install cell.

sphinx-book-theme builds a chapter's Colab link as
``{colab_url}/github/{org}/{repo}/blob/{branch}/{path_to_book}/{page}.ipynb``; the page's notebook must exist there.
On Colab the first code cell installs ``restorelib`` from the repository at the release tag ``v<version>`` (the
version in pyproject.toml) when it is not importable, and installs nothing else: Colab keeps its own torch.
"""
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
VERSION = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def toc_files(node) -> list[str]:
    """Every ``file:`` of the table of contents, in order."""
    if isinstance(node, dict):
        return ([node["file"]] if "file" in node else []) + [f for v in node.values() for f in toc_files(v)]
    if isinstance(node, list):
        return [f for v in node for f in toc_files(v)]
    return []


CHAPTERS = [f for f in toc_files(TOC) if (ROOT / f).with_suffix(".ipynb").is_file()]


def colab_url(page: str) -> str:
    """The launch link sphinx-book-theme writes for ``page`` (a path without suffix), from _config.yml."""
    repo = CONFIG["repository"]
    org, name = urlsplit(repo["url"]).path.strip("/").split("/")
    book = repo["path_to_book"].strip("/")
    return (f"{CONFIG['launch_buttons']['colab_url'].rstrip('/')}/github/{org}/{name}/blob/{repo['branch']}/"
            f"{book + '/' if book else ''}{page}.ipynb")


def test_config_sets_repository_and_colab_explicitly():
    repo = CONFIG["repository"]
    assert repo["url"] == "https://github.com/restorelib/restorelib"
    assert repo["branch"] == "main" and "path_to_book" in repo and isinstance(repo["path_to_book"], str)
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert CONFIG["html"]["use_repository_button"] is True


def test_every_notebook_is_a_chapter_with_a_launch_link():
    assert CHAPTERS and sorted(f"notebooks/{nb.stem}" for nb in NOTEBOOKS) == sorted(CHAPTERS)


@pytest.mark.parametrize("page", CHAPTERS)
def test_colab_link_points_at_the_chapter_notebook(page):
    url = colab_url(page)
    assert url == f"https://colab.research.google.com/github/restorelib/restorelib/blob/main/{page}.ipynb"
    parts = urlsplit(url)
    assert parts.scheme == "https" and parts.netloc == "colab.research.google.com" and not parts.query
    kind, org, name, blob, branch, *path = parts.path.strip("/").split("/")
    assert (kind, blob) == ("github", "blob")
    assert f"https://github.com/{org}/{name}" == CONFIG["repository"]["url"] and branch == CONFIG["repository"]["branch"]
    target = ROOT / CONFIG["repository"]["path_to_book"] / "/".join(path)
    assert target.suffix == ".ipynb" and target.is_file(), target
    nbformat.validate(nbformat.read(target, as_version=4))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_install_cell_is_hidden_pinned_and_installs_only_restorelib(nb):
    cell = next(c for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code")
    assert "remove-cell" in cell.metadata.get("tags", []), "the install cell is hidden from the book"
    src = cell.source
    assert re.search(r"^try:\n\s+import restorelib\nexcept ImportError:\n", src, re.M), "install only when missing"
    installs = [ln.strip() for ln in src.splitlines() if re.match(r"\s*[%!]\s*pip\b", ln)]
    assert len(installs) == 1, installs
    args = shlex.split(installs[0])
    assert args[:2] in (["%pip", "install"], ["!pip", "install"])
    packages = [a for a in args[2:] if not a.startswith("-")]
    assert packages == [f"restorelib @ git+{CONFIG['repository']['url']}@v{VERSION}"], packages
    assert "torch" not in src.replace("keeps its own torch", ""), "Colab keeps its own torch"
    code_lines = [ln for ln in src.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert len(code_lines) == 4, code_lines                     # try / import / except / %pip: nothing else


def test_how_to_use_names_the_pinned_tag():
    assert f"v{VERSION}" in (ROOT / "book" / "how_to_use.md").read_text()
