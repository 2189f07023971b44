"""The wheel: one import name, the map assets inside, and a demo that runs from it.

The project is built as a user's ``pip install`` would build it (sdist, then
the wheel from the sdist), installed into a fresh virtual environment and run
from a folder outside the checkout. Installing the dependencies from the
registry would take minutes and need the internet, so the fresh environment
sees the already installed third-party packages through a folder of symlinks
holding exactly the distributions the wheel declares (its ``Requires-Dist``,
followed transitively): an import the wheel does not declare fails here as it
would for a user, and the checkout's editable install (its ``__editable__``
finder and ``.pth``) is never visible.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LEAFLET_DIST = ROOT / "maps" / "node_modules" / "leaflet" / "dist"
#: the checkout's generated and unpackaged folders, left out of the build copy
_NOT_SOURCES = {".git", ".venv", "out", "data", "tests", "bench", "build", "dist", ".hypothesis",
                "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def _run(cmd: list[str], *, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                            **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}")
    return result


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything pointing Python or circle15 at the checkout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CIRCLE15_", "PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env.update(extra)
    return env


def _build_wheel(tmp: Path) -> Path:
    """sdist, then the wheel from that sdist, from a copy of the working tree (the
    build writes ``*.egg-info`` and ``build/`` into its source folder, and the
    checkout is shared)."""
    if not (LEAFLET_DIST / "leaflet.js").is_file():
        pytest.fail(f"{LEAFLET_DIST} is missing: `make install` (or `npm install` in maps/) "
                    "installs Leaflet, which the wheel must ship")
    src = tmp / "src"

    def ignore(folder: str, names: list[str]) -> list[str]:
        unwanted = _NOT_SOURCES if Path(folder) == ROOT else {"__pycache__"}
        return [n for n in names if n in unwanted or n.endswith(".egg-info")]

    shutil.copytree(ROOT, src, ignore=ignore)
    dist = tmp / "dist"
    # offline: the backend comes from the dev extra, not from the registry
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)],
         timeout=300, env=_clean_env())
    (wheel,) = dist.glob("circle15-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_wheel(tmp_path_factory.mktemp("wheel-build"))


def test_wheel_holds_one_package_and_its_assets(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        assert zf.read(top_level).decode().split() == ["circle15"]
    # nothing outside the package and its metadata (no stray geo/, maps/, api/)
    assert {n.split("/")[0] for n in names} == {"circle15", top_level.split("/")[0]}
    assert "circle15/py.typed" in names
    assert {"circle15/geo/__init__.py", "circle15/maps/__init__.py",
            "circle15/api/__init__.py", "circle15/cli.py"} <= names
    leaflet = "circle15/maps/node_modules/leaflet/dist"
    assert {f"{leaflet}/leaflet.js", f"{leaflet}/leaflet.css"} <= names
    images = {f"{leaflet}/images/{p.name}" for p in (LEAFLET_DIST / "images").glob("*.png")}
    assert images and images <= names
    # every page template and static file of maps/ is shipped, if there are any
    for folder in ("templates", "static"):
        files = [p for p in (ROOT / "maps" / folder).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts]
        missing = [str(p.relative_to(ROOT)) for p in files
                   if f"circle15/maps/{p.relative_to(ROOT / 'maps').as_posix()}" not in names]
        assert not missing, f"not in the wheel: {missing}"


def _declared_closure(wheel: Path, site_packages: Path) -> list[md.Distribution]:
    """The installed distributions the wheel needs: its ``Requires-Dist`` (no
    extras), and theirs, with markers evaluated for this interpreter."""
    installed = {canonicalize_name(d.metadata["Name"]): d
                 for d in md.distributions(path=[str(site_packages)])}
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        wheel_meta = Parser().parsestr(zf.read(meta).decode())
    todo = [(Requirement(r), "") for r in wheel_meta.get_all("Requires-Dist") or []]
    seen: dict[str, set[str]] = {}
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        if name not in installed:
            pytest.fail(f"{req} (needed by the wheel) is not installed in {site_packages}: "
                        "run `make install`")
        new_extras = set(req.extras) - seen.get(name, set())
        if name in seen and not new_extras:
            continue
        seen.setdefault(name, set()).update(req.extras)
        dist_requires = installed[name].requires or []
        for e in ("", *new_extras):
            todo += [(Requirement(r), e) for r in dist_requires]
    return [installed[name] for name in sorted(seen)]


def _link_dependencies(dists: list[md.Distribution], site_packages: Path, into: Path) -> None:
    """Symlink each distribution's top-level files and folders (from its RECORD)."""
    into.mkdir()
    for dist in dists:
        if dist.files is None:
            pytest.fail(f"{dist.metadata['Name']} has no RECORD; cannot tell its files")
        tops = {f.parts[0] for f in dist.files} - {"..", "__pycache__"}
        for top in tops:
            target = site_packages / top
            if not target.exists() or top.endswith(".pth"):
                continue  # .pth files would not run from here anyway
            link = into / top
            if not link.exists():  # namespace folders shared by several distributions
                link.symlink_to(target)


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed and only its declared dependencies visible."""
    tmp = tmp_path_factory.mktemp("wheel-venv")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=120)
    py = venv / "bin" / "python"
    venv_site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          timeout=60, env=_clean_env()).stdout.strip())
    assert venv_site.is_relative_to(venv)

    our_site = Path(sysconfig.get_path("purelib"))
    deps = tmp / "deps"
    _link_dependencies(_declared_closure(wheel, our_site), our_site, deps)
    (venv_site / "circle15-test-deps.pth").write_text(f"{deps}\n", encoding="utf-8")

    # the dependencies are visible, the checkout and its editable finder are not
    probe = _run([str(py), "-c", (
        "import importlib.util, json, sys\n"
        "import numpy, shapely, folium\n"
        "print(json.dumps({'circle15': importlib.util.find_spec('circle15') is not None,\n"
        "  'editable': [repr(f) for f in sys.meta_path if 'editable' in repr(f).lower()]\n"
        "    + [m for m in sys.modules if 'editable' in m],\n"
        "  'path': sys.path}))")], timeout=60, cwd=tmp, env=_clean_env())
    seen = json.loads(probe.stdout)
    assert seen["circle15"] is False, f"circle15 importable before installing: {seen['path']}"
    assert seen["editable"] == []
    assert str(ROOT) not in seen["path"] and "" not in seen["path"][1:]

    # --ignore-installed: never look at (or touch) circle15 in the project's .venv
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps",
          "--no-index", "--ignore-installed", "--no-warn-script-location", str(wheel)],
         timeout=300, env=_clean_env())
    return venv


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")
            if (p.is_file() or p.is_symlink()) and "__pycache__" not in p.parts}


def test_installed_wheel_runs_the_demo_from_anywhere(venv: Path, tmp_path: Path) -> None:
    py = venv / "bin" / "python"
    venv_site = next(venv.glob("lib/python3*/site-packages"))
    work = tmp_path / "elsewhere"
    work.mkdir()
    cache_home = tmp_path / "xdg-cache"
    env = _clean_env(XDG_CACHE_HOME=str(cache_home), XDG_DATA_HOME=str(tmp_path / "xdg-data"),
                     XDG_CONFIG_HOME=str(tmp_path / "xdg-config"))

    where = _run([str(py), "-c", (
        "import importlib.metadata, json, circle15.geo, circle15.maps.assets as a\n"
        "print(json.dumps([circle15.geo.__file__, str(a.ASSET_DIR),\n"
        "    str(importlib.metadata.distribution('circle15').locate_file(''))]))")],
        timeout=120, cwd=work, env=env)
    geo_file, asset_dir, dist_info = map(Path, json.loads(where.stdout))
    assert geo_file == venv_site / "circle15" / "geo" / "__init__.py"
    assert Path(asset_dir).is_relative_to(venv_site)
    assert dist_info == venv_site

    before = _files(venv)
    out = tmp_path / "demo"
    run = subprocess.run([str(venv / "bin" / "circle15"), "demo", "--out", str(out), "-q"],
                         capture_output=True, text=True, timeout=600, cwd=work, env=env,
                         check=False)
    assert run.returncode == 0, f"stdout:\n{run.stdout[-3000:]}\nstderr:\n{run.stderr[-3000:]}"
    assert "within 15 min" in run.stdout

    planner = (out / "coverage-map.html").read_text(encoding="utf-8")
    version = json.loads((LEAFLET_DIST.parent / "package.json").read_text())["version"]
    assert f"Leaflet {version}" in planner and "L.map(" in planner
    assert not re.search(r"""<script[^>]*\bsrc=["']?(https?:)?//""", planner)
    assert not re.search(r"""<link[^>]*\bhref=["']?(https?:)?//""", planner)
    assert (out / "courier.html").is_file() and (out / "summary.csv").is_file()

    # nothing written into the environment: no network cache, no database
    written = sorted(str(p.relative_to(venv)) for p in _files(venv) - before)
    assert written == [], f"the demo wrote into the venv: {written}"
    assert not list(venv.rglob("*.db")) and not list(venv.rglob("*.npz"))
    # the built network went to the user's cache folder instead
    assert list(cache_home.rglob("*.npz")), f"no network cache under {cache_home}"
    left = list(work.iterdir())
    assert not left, f"the demo wrote into its working folder: {left}"


def test_an_installed_wheel_compiles_its_loops_once_into_the_user_cache(venv: Path,
                                                                        tmp_path: Path):
    # from a wheel nothing compiled the numba loops: every district run paid 15 s for them
    py = venv / "bin" / "python"
    venv_site = next(venv.glob("lib/python3*/site-packages"))
    cache_home = tmp_path / "xdg-cache"
    env = _clean_env(XDG_CACHE_HOME=str(cache_home))
    env.pop("CIRCLE15_CACHE_DIR", None)
    first = _run([str(py), "-m", "circle15.geo.snapping.compiled"], timeout=600,
                 cwd=tmp_path, env=env)
    assert "compiling the fast loops once" in first.stderr
    kept = cache_home / "circle15" / "numba"
    assert any(kept.rglob("*.nbi")) and str(kept) in first.stderr
    assert not any(venv_site.rglob("*.nbi"))  # never inside site-packages
    second = _run([str(py), "-m", "circle15.geo.snapping.compiled"], timeout=600,
                  cwd=tmp_path, env=env)
    assert "compiling" not in second.stderr and "compiled loops ready" in second.stdout
