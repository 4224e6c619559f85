"""Packaging: pyproject maps the top-level backbones/ and objectives/ folders to ssrec.backbones and
ssrec.objectives, in a wheel and in an editable install.

Each test builds from a copy of the project's packaging inputs in tmp_path, because setuptools writes
build/ and ssrec.egg-info into the source tree, which must not happen in a checkout others work in.
Installs go to throwaway venvs that see the site-packages of the environment running the tests (torch,
pluggy, setuptools; no network), whether that is the system Python or a venv; the import runs outside the
repository without PYTHONPATH, and must resolve to the venv's copy even where ssrec is also installed
editable in that environment.
"""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("setuptools", reason="setuptools (the build backend) is not installed")

REPO = Path(__file__).resolve().parents[1]
#: What a build reads: pyproject.toml, its readme/license, and the folders its package-dir maps.
PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE", "ssrec", "backbones", "objectives", "losses")
IMPORT_CHECK = ("import ssrec.backbones, ssrec.objectives, ssrec.losses, ssrec; "
                "print(ssrec.backbones.__file__); print(ssrec.objectives.__file__); print(ssrec.__file__)")


def _env() -> dict[str, str]:
    """The environment minus anything that would put the checkout or user site-packages on sys.path."""
    drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PIP_USER", "PIP_TARGET", "PIP_PREFIX", "PIP_ROOT"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def _run(args: list[str | Path], cwd: Path) -> str:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _copy_project(dst: Path) -> Path:
    dst.mkdir()
    for name in PROJECT_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif src.exists():
            shutil.copy2(src, dst / name)
    return dst


def _venv(path: Path) -> Path:
    """A venv seeing the site-packages of the environment running the tests (pip, torch, pluggy, setuptools);
    returns its python.

    ``--system-site-packages`` would show the base interpreter's packages, not those of a venv the tests run
    in; a .pth file in the new venv adds the running environment's site-packages instead, as site-packages
    (their own .pth files run: an editable ssrec there is importable, after the venv's own packages).
    Without its own pip (seeding one takes seconds): that pip, run by the venv's python, installs into the
    venv, whose site-packages come first.
    """
    _run([sys.executable, "-m", "venv", "--without-pip", path], cwd=path.parent)
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=path.parent).strip())
    outer = "; ".join(f"site.addsitedir({path!r})" for path in site.getsitepackages())
    (purelib / "outer-environment.pth").write_text(f"import site; {outer}\n")
    return python


def _imported_files(python: Path, cwd: Path) -> list[Path]:
    return [Path(line).resolve() for line in _run([python, "-c", IMPORT_CHECK], cwd=cwd).splitlines()]


def test_wheel_installs_builtins_inside_ssrec(tmp_path: Path) -> None:
    project = _copy_project(tmp_path / "project")
    _run([sys.executable, "-m", "pip", "wheel", project, "--no-deps", "--no-build-isolation", "--no-index",
          "-w", tmp_path / "wheelhouse"], cwd=tmp_path)
    [wheel] = (tmp_path / "wheelhouse").glob("ssrec-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "ssrec/backbones/__init__.py" in names
    assert "ssrec/objectives/__init__.py" in names
    assert not [n for n in names if n.startswith(("backbones/", "objectives/"))], "top-level folders leaked"

    venv = tmp_path / "venv"
    python = _venv(venv)
    # --ignore-installed: a system-wide (e.g. editable) ssrec must not make pip skip the venv install
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", wheel], cwd=tmp_path)
    backbones, objectives, package = _imported_files(python, cwd=tmp_path)
    site = venv.resolve()
    for path in (backbones, objectives, package):
        assert path.is_relative_to(site), f"{path} was imported from outside the venv {site}"
    assert backbones.parts[-3:] == ("ssrec", "backbones", "__init__.py")
    assert objectives.parts[-3:] == ("ssrec", "objectives", "__init__.py")


def test_editable_install_maps_the_repository_folders(tmp_path: Path) -> None:
    project = _copy_project(tmp_path / "project").resolve()
    python = _venv(tmp_path / "venv")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--ignore-installed",
          "-e", project], cwd=tmp_path)
    backbones, objectives, package = _imported_files(python, cwd=tmp_path)
    assert backbones == project / "backbones" / "__init__.py"
    assert objectives == project / "objectives" / "__init__.py"
    assert package == project / "ssrec" / "__init__.py"


def test_the_example_plugin_package_installs_and_passes_its_own_tests(tmp_path: Path) -> None:
    """examples/ssrec-contrastive, pip-installed into a venv beside ssrec: listed by `ssrec plugins`,
    usable by name, and its own tests (ssrec.testing.ObjectiveContract subclasses) pass there."""
    import json

    example = tmp_path / "ssrec-contrastive"
    shutil.copytree(REPO / "examples" / "ssrec-contrastive", example,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    python = _venv(tmp_path / "venv")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", example], cwd=tmp_path)
    listed = json.loads(_run([python, "-m", "ssrec", "plugins", "--json"], cwd=tmp_path))
    assert listed["objectives"]["contrastive"]["distribution"] == "ssrec-contrastive"
    assert listed["objectives"]["contrastive"]["plugin"] == "contrastive"  # the entry point's name
    report = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(example / "tests")], cwd=tmp_path)
    assert " passed" in report and "failed" not in report


def test_every_folder_of_the_package_is_listed_for_the_wheel():
    """A sub-package left out of pyproject's list works in the editable install and is missing from the wheel."""
    from ssrec.runs.config_file import read_toml

    listed = set(read_toml(REPO / "pyproject.toml", "project")["tool"]["setuptools"]["packages"])
    folders = {".".join(("ssrec", *p.parent.relative_to(REPO / "ssrec").parts)) for p in (REPO / "ssrec").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert folders - listed == set(), f"pyproject.toml [tool.setuptools] packages misses {sorted(folders - listed)}"
    assert all((REPO / "ssrec" / Path(*name.split(".")[1:]) / "__init__.py").exists()
               for name in folders), "every sub-package needs an __init__.py"
