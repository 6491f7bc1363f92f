"""The package's house: layers that point one way, no import cycle, modules that import on their own, and the old
flat names that still work (issue 21).

Layers, lowest first: ``core`` knows no algorithm; each chapter's package builds on ``core`` and on the chapters
before it; ``teaching`` serves the pages; ``methods`` and ``evaluate`` gather every method; ``cli`` is on top.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "restorelib"
LAYERS = ["core", "toolbox", "search", "rlrestore", "joint", "hirl", "pixelrl", "labelfree", "teaching", "methods",
          "evaluate", "cli", "__main__"]
#: the package's own plumbing, importable from anywhere (the old names' finder)
PLUMBING = {"_moved"}


def modules() -> list[str]:
    """Every module of the package, dotted under ``restorelib`` ("" for the package itself)."""
    out = []
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(PKG).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append(".".join(parts))
    return out


def imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported module under restorelib, line, inside a function?) of every relative import of ``module``."""
    path = PKG / (module.replace(".", "/") + ".py") if module else PKG / "__init__.py"
    if not path.is_file():
        path = PKG / module.replace(".", "/") / "__init__.py"
    package = module.split(".") if path.name == "__init__.py" and module else module.split(".")[:-1]
    out = []
    for node in _walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            targets = [".".join(base + [node.module])] if node.module else [".".join(base + [a.name]) for a in node.names]
            out += [(t, node.lineno, node.col_offset > 0) for t in targets]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("restorelib."):
            out.append((node.module[len("restorelib."):], node.lineno, node.col_offset > 0))
    return out


def _walk(tree: ast.AST):
    """ast.walk, leaving out ``if TYPE_CHECKING:`` blocks (imports for annotations only, never run)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def layer(module: str) -> int:
    head = module.split(".")[0]
    return LAYERS.index(head) if head in LAYERS else -1


def resolve(target: str, known: set[str]) -> str:
    """The module an import names: ``core.method`` itself, or the package when the name is an attribute of it."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target


def test_every_module_is_in_a_layer():
    strays = [m for m in modules() if m and layer(m) < 0 and m.split(".")[0] not in PLUMBING]
    assert not strays, f"modules outside the layers {LAYERS}: {strays}"


def test_no_module_imports_from_a_layer_above_it():
    """Also the imports inside functions, which once dodged the cycles (49 of them, 19 in evaluate.py)."""
    known = set(modules())
    upward = [f"{m} -> {t} (line {n}{', in a function' if lazy else ''})"
              for m in known if m and m.split(".")[0] not in PLUMBING
              for t, n, lazy in imports(m) if layer(resolve(t, known)) > layer(m)]
    assert not upward, "imports from a layer above:\n" + "\n".join(sorted(upward))


def test_no_import_cycle():
    """Between modules, counting the imports inside functions too; a package's ``__init__`` (which gathers its
    modules' names) is left out, since every module of the package imports through it."""
    known = set(modules())
    packages = {m for m in known if (PKG / m.replace(".", "/") / "__init__.py").is_file()}
    graph = {m: {resolve(t, known) for t, _, _ in imports(m)} - packages - {m} for m in known - packages}
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                cycles.append(" -> ".join(path[path.index(t):] + [t]))
            elif t not in state:
                visit(t, path + [t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_every_module_imports_on_its_own():
    """Each module imported first, in an interpreter where nothing of restorelib is loaded yet (torch stays, for
    speed): an import that works only after another module was imported fails here."""
    script = (
        "import importlib, sys, traceback\n"
        "import torch  # noqa: F401\n"
        "bad = []\n"
        "for name in sys.argv[1:]:\n"
        "    for k in [k for k in sys.modules if k == 'restorelib' or k.startswith('restorelib.')]:\n"
        "        del sys.modules[k]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        bad.append(name + ': ' + traceback.format_exc(limit=2).strip().splitlines()[-1])\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n")
    names = ["restorelib" + (f".{m}" if m else "") for m in modules() if m != "__main__"]
    p = subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True, timeout=600,
                       cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr[-2000:]


@pytest.mark.parametrize("old, new", [("tools", "toolbox.tools"), ("dqn", "rlrestore.dqn"),
                                      ("label_free", "labelfree.policy"), ("quality", "core.quality"),
                                      ("_checks", "core.validation")])
def test_the_old_flat_names_import_the_moved_modules(old, new):
    """Readers' code and pickled training states name the modules of 0.1; they get the moved module itself."""
    import importlib

    assert importlib.import_module(f"restorelib.{old}") is importlib.import_module(f"restorelib.{new}")
    assert importlib.import_module(f"restorelib.{new}").__spec__.name == f"restorelib.{new}"


def test_the_same_name_packages_export_their_old_modules_names():
    """``restorelib.search``, ``joint``, ``hirl`` and ``pixelrl`` were modules; each package has all their names."""
    from restorelib import hirl, joint, pixelrl, search
    from restorelib._moved import MOVED

    for pkg, module in ((search, search.chains), (joint, joint.joint), (hirl, hirl.hirl), (pixelrl, pixelrl.a2c)):
        public = [n for n in getattr(module, "__all__", []) or vars(module) if not n.startswith("_")
                  and getattr(getattr(module, n), "__module__", None) == module.__name__]
        missing = [n for n in public if getattr(pkg, n, None) is not getattr(module, n)]
        assert not missing, f"{pkg.__name__} lacks {missing}"
    assert not {"search", "joint", "hirl", "pixelrl"} & set(MOVED)


def test_adding_a_method_is_one_class_and_one_registration():
    """A reader's method joins by itself and is measured, and named on the command line, like the book's."""
    import torch

    from restorelib.core.method import Capabilities, Restored, get_method, method_names, register_method
    from restorelib.evaluate import evaluate

    class Halve:
        name, params, can = "halve", 0, Capabilities(tiles=True)

        def restore(self, degraded: torch.Tensor, **_: object) -> Restored:
            n = degraded.shape[0]
            return Restored(degraded * 0.5, [0] * n, [0] * n, [[] for _ in range(n)])

    register_method("halve-test", lambda arg, device, **_: Halve(), "half the brightness (a test)")
    assert "halve-test" in method_names() and "hirl" in method_names()       # the chapters' methods are there too
    img = {"flat": torch.full((3, 32, 32), 0.5)}
    r = evaluate(get_method("halve-test"), img, "noise:0", seed=0)
    assert r["method"] == "halve" and r["psnr_out"] < r["psnr_in"]
