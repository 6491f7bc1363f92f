"""The two commands of the README: ``make book`` and ``make test``, which CI runs as they are."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_readme_opens_with_the_two_commands_and_ci_runs_the_same_test_command():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, flags=re.S).group(1)
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [["make", "book"], ["make", "test"]]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make install VENV=", ci, flags=re.M) and re.search(r"^make test VENV=", ci, flags=re.M)


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_make_installs_a_cpu_torch_and_tests_at_ci_scale(tmp_path):
    venv = tmp_path / "venv"
    plan = subprocess.run(["make", "-n", "-B", "test", f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout
    assert f"{venv}/bin/python -m pip install" in plan and "--extra-index-url https://download.pytorch.org/whl/cpu" in plan
    assert "command -v nvidia-smi" in plan                        # a CUDA machine keeps PyPI's CUDA build
    assert re.search(r"RESTORELIB_FAST=1 MPLBACKEND=Agg pytest$", plan, flags=re.M)
    assert not venv.exists()                                      # -n: nothing was run
