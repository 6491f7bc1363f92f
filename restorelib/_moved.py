"""The flat module names of restorelib 0.1 (``restorelib.tools``, ``restorelib.dqn``, ...), kept importable.

Since 0.2 the modules live in one subpackage per chapter (see ``CHANGELOG.md``). Readers' code, old notebooks and
pickled training states (a resumable run's ``.partial/*.state.pt`` names its classes by module) may still use the old
names: an import of one gets the moved module itself, the very same object, so that ``monkeypatch`` and
``isinstance`` behave as before.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

#: old flat name -> where the module lives now (under ``restorelib``)
MOVED: dict[str, str] = {
    "config": "core.config", "_checks": "core.validation", "atomic": "core.atomic", "imagefile": "core.imagefile",
    "data": "core.data", "degradations": "core.degradations", "metrics": "core.metrics", "patches": "core.patches",
    "banks": "core.banks", "long_runs": "core.long_runs", "resume": "core.resume", "checkpoints": "core.checkpoints",
    "tools": "toolbox.tools", "training": "toolbox.training", "toolbox_training": "toolbox.train_toolbox",
    "search_record": "search.record",
    "agents": "rlrestore.nets", "env": "rlrestore.env", "replay": "rlrestore.replay", "dqn": "rlrestore.dqn",
    "restore": "rlrestore.restore", "baselines": "joint.baselines",
    "hirl_nets": "hirl.nets", "hirl_tools": "hirl.tools", "hirl_restore": "hirl.restore",
    "pixelrl_actions": "pixelrl.actions", "pixelrl_env": "pixelrl.env", "pixelrl_training": "pixelrl.training",
    "pixelrl_baselines": "pixelrl.baselines", "pixelrl_method": "pixelrl.method", "pixelrl_color": "pixelrl.color",
    "pixelrl_color_data": "pixelrl.color_data", "pixelrl_color_method": "pixelrl.color_method",
    "label_free": "labelfree.policy", "label_free_ppo": "labelfree.ppo", "quality": "core.quality",
    "quality_net": "labelfree.quality_net",
    "checks": "teaching.checks", "explorer": "teaching.explorer", "static_explorer": "teaching.static_explorer",
    "plotting": "teaching.plotting", "prose": "teaching.prose",
}
# (search, joint, hirl and pixelrl were modules and are now packages of the same name that export all their names)


class _Alias(importlib.abc.Loader):
    """Loads an old name as the module at its new place (the same object, its own ``__spec__`` kept)."""

    def __init__(self, target: str) -> None:
        self.target, self.module = target, None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        self.module = importlib.import_module(self.target)
        self.spec = self.module.__spec__
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self.spec      # importlib set it to the old name's spec; the module keeps its own


class MovedModules(importlib.abc.MetaPathFinder):
    """Finds ``restorelib.<old name>`` and answers with the module at its new place."""

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != "restorelib" or name not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(f"restorelib.{MOVED[name]}"))


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (``restorelib/__init__.py`` calls it)."""
    if not any(isinstance(f, MovedModules) for f in sys.meta_path):
        sys.meta_path.append(MovedModules())
