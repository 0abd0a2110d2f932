"""Build step: carry the project's policy, schema and example folders in the wheel as package data.

The checkout keeps its layout (policies/, schemas/, examples/, deploy/, tools/opa.version at the
repository root, as policy authors edit them). When a wheel is built, `build_py` copies those files
into the built `router` package as `router/_data/<same relative path>`, where router.paths finds them
with importlib.resources; nothing is duplicated in the repository. Rego test modules (`*_test.rego`)
are left out: they are for `opa test` in a checkout, not for deciding. MANIFEST.in puts the same
folders in the sdist, so a wheel built from the sdist carries the same files.

An editable install (`pip install -e .`) copies nothing: the package then reads the checkout itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA_DIR = "_data"
# (folder or file relative to the project root) -> carried under router/_data/ with the same path
CARRIED = ("policies", "schemas", "examples", "deploy", "tools/opa.version")
SKIPPED_SUFFIXES = ("_test.rego", ".pyc")


def carried_files(root: Path = HERE) -> list[Path]:
    """Every file the build carries, relative to ROOT (sorted)."""
    out: list[Path] = []
    for name in CARRIED:
        source = root / name
        if source.is_file():
            out.append(Path(name))
            continue
        if not source.is_dir():
            raise SystemExit(f"error: {source}: expected this folder in the source tree (it is package data of the wheel)")
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(root)
            if not path.is_file() or any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
                continue
            if path.name.endswith(SKIPPED_SUFFIXES):
                continue
            out.append(rel)
    return sorted(out)


class build_py_with_data(build_py):
    """build_py, then copy the carried folders into <build_lib>/router/_data/."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout directly
        target = Path(self.build_lib) / "router" / DATA_DIR
        if target.exists():  # left by an earlier build in the same tree: a removed file must not linger
            shutil.rmtree(target)
        for rel in carried_files():
            dest = target / rel
            self.mkpath(str(dest.parent))
            self.copy_file(str(HERE / rel), str(dest), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            target = Path(self.build_lib) / "router" / DATA_DIR
            outputs += [str(target / rel) for rel in carried_files()]
        return outputs


setup(cmdclass={"build_py": build_py_with_data})
