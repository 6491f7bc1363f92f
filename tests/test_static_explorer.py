"""The static explorer of the book (restorelib/teaching/static_explorer.py, book/_ext/restorelib_explorer.py, book/explorer.md).

Without a browser: the index's shape, the number of chains, the identity's PSNR equal to the degraded input's, the
best chain equal to chapter 3's brute force, the agent's chain equal to the agent's own, decodable images, and a
small Sphinx build that writes the assets into ``_static/explorer/`` (and reuses them on a rebuild). With Debian's
``chromium``: scripts/check_explorer.py clicks that small build, and the book's own page when ``_build/html`` holds
it. Without chromium or the build these are skipped, unless ``RESTORELIB_REQUIRE_BROWSER=1`` (set by .ci/run).
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from restorelib.core import degradations as D
from restorelib.teaching import static_explorer as S
from restorelib.core.metrics import psnr
from restorelib.rlrestore.restore import AgentRestorer
from restorelib.search.chains import brute_force
from restorelib.toolbox.tools import TOOL_NAMES, Toolbox

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
EXT = ROOT / "book" / "_ext"
REQUIRED = os.environ.get("RESTORELIB_REQUIRE_BROWSER") == "1"
SMALL = {"photos": ["chelsea"], "groups": ["mild", "severe"], "crop": 32}


def skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (RESTORELIB_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def toolbox() -> Toolbox:
    return Toolbox.load()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explorer")
    return folder, S.write_explorer(folder, **SMALL)


def test_all_chains_is_every_chain_of_up_to_two_tools(toolbox):
    x = S.crop_photo("chelsea", 24)[None]
    grid = S.all_chains(toolbox, x, 2)
    m = len(toolbox)
    assert len(grid) == 1 + m + m * m
    assert torch.equal(grid[()], x)
    chain = (toolbox.names[4], toolbox.names[9])
    assert torch.allclose(grid[chain], toolbox.run_chain(x, list(chain))[-1], atol=1e-6)
    assert {len(c) for c in grid} == {0, 1, 2}
    with pytest.raises(ValueError, match="max_length"):
        S.all_chains(toolbox, x, 4)


def test_index_shape_and_counts(written):
    folder, index = written
    assert json.loads((folder / "index.json").read_text()) == index
    assert (folder / "index.js").read_text() == "window.restorelibExplorer = " + \
        json.dumps(index, separators=(",", ":")) + ";\n"
    assert index["tools"] == list(TOOL_NAMES) and index["max_length"] == S.MAX_LENGTH
    assert [(c["photo"], c["group"]) for c in index["cases"]] == [("chelsea", g) for g in SMALL["groups"]]
    m = len(TOOL_NAMES)
    for case in index["cases"]:
        longer = max(0, len(case["agent"]) - S.MAX_LENGTH)             # the agent's steps beyond the grid
        assert len(case["entries"]) == 1 + m + m * m + longer
        for t in range(len(case["agent"]) + 1):
            assert S.chain_key(case["agent"][:t]) in case["entries"]
        assert set(case["levels"]) == {"blur", "noise", "jpeg"}
    assert {"command", "scale", "date"} <= set(index["models"]["tools"]) | set(index["models"]["agent"])
    assert index["models"]["agent"]["name"] == S.AGENT and index["cpu_seconds"] >= 0


def test_identity_psnr_is_the_input_s_and_best_is_brute_force(written, toolbox):
    _, index = written
    for case in index["cases"]:
        clean = S.crop_photo(case["photo"], SMALL["crop"])[None]
        degraded, levels = D.degrade(clean, case["group"], generator=torch.Generator().manual_seed(index["seed"]))
        assert case["levels"] == pytest.approx(levels[0], abs=1e-3)
        assert case["entries"][""]["psnr"] == pytest.approx(psnr(degraded, clean).item(), abs=1e-3)
        oracle = brute_force(toolbox, degraded, clean, max_len=2)
        assert case["entries"][S.chain_key(case["best"])]["psnr"] == pytest.approx(oracle.psnr[0].item(), abs=2e-3)
        assert case["entries"][S.chain_key(oracle.chains[0])]["psnr"] == pytest.approx(oracle.psnr[0].item(), abs=2e-3)
        agent = AgentRestorer.load(S.AGENT, toolbox=toolbox).restore_image(degraded[0], reference=clean[0])
        assert case["agent"] == agent.chain
        assert case["entries"][S.chain_key(agent.chain)]["psnr"] == pytest.approx(agent.psnr[-1], abs=2e-3)


def test_images_decode_at_the_crop_size(written):
    folder, index = written
    for case in index["cases"]:
        srcs = [e["src"] for e in case["entries"].values()] + [case["clean"]]
        assert len(set(srcs)) == len(srcs)
        for src in srcs:
            img = S.decode_image((folder / src).read_bytes())
            assert img.shape == (3, SMALL["crop"], SMALL["crop"])
        clean = S.crop_photo(case["photo"], SMALL["crop"])[None]
        degraded, _ = D.degrade(clean, case["group"], generator=torch.Generator().manual_seed(index["seed"]))
        shown = S.decode_image((folder / case["entries"][""]["src"]).read_bytes())[None]
        assert psnr(shown, degraded).item() >= index["encoding_psnr_min"] - 1e-2


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="photo"):
        S.crop_photo("nope")
    with pytest.raises(ValueError, match="crop"):
        S.crop_photo("chelsea", 8)
    with pytest.raises(ValueError, match="quality"):
        S.write_explorer("/nonexistent/never-written", quality=0)
    with pytest.raises(ValueError, match="groups"):
        S.compute_cases(Toolbox(), None, ["chelsea"], ["extreme"], 32)
    assert S.chain_key([]) == "" and S.chain_file([]) == "input.jpg"
    assert S.chain_file(["noise-2", "jpeg-1"]) == "noise-2_jpeg-1.jpg"


def test_fingerprint_follows_the_settings():
    assert S.fingerprint(SMALL) == S.fingerprint(dict(SMALL))
    assert S.fingerprint(SMALL) != S.fingerprint({**SMALL, "crop": 48})


# ------------------------------------------------------------------ the Sphinx extension and the page
def test_the_page_is_in_the_book_and_the_extension_registered():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert "book/explorer" in files
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"]["restorelib_explorer"] == "book/_ext"
    assert "{restorelib-explorer}" in (ROOT / "book" / "explorer.md").read_text()
    ext = _load("restorelib_explorer", EXT / "restorelib_explorer.py")
    html = ext.widget_html("book/explorer")
    assert 'data-base="../_static/explorer/"' in html and '<script src="../_static/explorer/index.js">' in html
    assert 'data-base="_static/explorer/"' in ext.widget_html("index")


@pytest.fixture(scope="module")
def small_site(tmp_path_factory):
    """A one-page Sphinx site with the directive, built twice (the second build must reuse the cached assets)."""
    src = tmp_path_factory.mktemp("site")
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(EXT)!r})\nextensions = ['restorelib_explorer']\n"
                                 f"restorelib_explorer = {SMALL!r}\nhtml_theme = 'alabaster'\n")
    (src / "index.rst").write_text("Explorer\n========\n\nClick a tool.\n\n.. restorelib-explorer::\n")
    out = src / "_build" / "html"
    runs = []
    for _ in range(2):
        p = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "-d", str(src / "_build" / "doctrees"),
                            str(src), str(out)], capture_output=True, text=True, timeout=600,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        runs.append(p.stdout + p.stderr)
    return out, runs


def test_the_extension_writes_the_assets_into_the_html(small_site):
    out, runs = small_site
    static = out / "_static" / "explorer"
    index = json.loads((static / "index.json").read_text())
    assert len(index["cases"]) == len(SMALL["groups"]) and index["crop"] == SMALL["crop"]
    for name in ("index.js", "explorer.js", "explorer.css"):
        assert (static / name).is_file()
    assert (static / index["cases"][0]["entries"][""]["src"]).is_file()
    page = (out / "index.html").read_text()
    assert 'class="rx-explorer" data-base="_static/explorer/"' in page
    assert "restorelib_explorer:" in runs[0] and "restorelib_explorer:" not in runs[1]   # computed once, then reused


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _check(html: Path, page: str, out: Path) -> str:
    cmd = [sys.executable, str(ROOT / "scripts" / "check_explorer.py"), "--html", str(html), "--page", page,
           "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    print(p.stdout)
    assert p.returncode == 0, f"{p.stdout}\n{p.stderr[-2000:]}"
    lines = p.stdout.strip().splitlines()
    assert lines[-1].startswith("all checks passed")
    steps = [line for line in lines if line.startswith(("OK", "FAIL"))]
    assert len(steps) >= 8 and all(line.startswith("OK") for line in steps)
    assert any("click 1st tool" in line for line in steps) and any("click 2nd tool" in line for line in steps)
    return p.stdout


def test_chromium_clicks_the_small_build(small_site, tmp_path):
    if not _chromium():
        skip_or_fail("no chromium on the PATH: apt-get install chromium")
    out, _ = small_site
    _check(out, "index", tmp_path)
    assert (tmp_path / "explorer.png").stat().st_size > 0


def test_the_click_check_fails_when_clicks_change_nothing(small_site, tmp_path):
    if not _chromium():
        skip_or_fail("no chromium on the PATH: apt-get install chromium")
    out, _ = small_site
    broken = tmp_path / "html"
    shutil.copytree(out, broken)
    js = broken / "_static" / "explorer" / "explorer.js"
    text = js.read_text()
    assert "state.chain = chain; draw();" in text
    js.write_text(text.replace("state.chain = chain; draw();", "state.chain = chain;"))    # tool buttons do nothing
    cmd = [sys.executable, str(ROOT / "scripts" / "check_explorer.py"), "--html", str(broken), "--page", "index",
           "--out", str(tmp_path), "--step-timeout", "2"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stdout
    assert "FAIL click 1st tool" in p.stdout and "did not show the chain" in p.stdout


def test_chromium_clicks_the_book_s_explorer():
    if not (HTML / "book" / "explorer.html").is_file():
        skip_or_fail(f"no built explorer page in {HTML}: run `jupyter-book build .` first")
    if not _chromium():
        skip_or_fail("no chromium on the PATH: apt-get install chromium")
    _check(HTML, "book/explorer", ROOT / "_build" / "screenshots")


def test_the_browser_cannot_leave_loopback():
    flags = _load("check_explorer", ROOT / "scripts" / "check_explorer.py").CHROMIUM_FLAGS
    assert "--proxy-server=127.0.0.1:9" in flags
    assert "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" in flags
    assert "--headless" in flags and not any(f.startswith("--remote-debugging-port") for f in flags)
