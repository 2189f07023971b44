"""Where numba keeps the compiled loops: beside the code in a checkout (``make``
compiles them at install), in the user's cache folder for an installed wheel.

An installed package's folder (site-packages) may not be writable and is no place
for caches: there numba would recompile the loops in every new process (17 s on
a district's first run instead of 3-4 s). This module is imported by the kernels
before numba itself, and says once, in one line, when the loops are being
compiled for the first time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def installed() -> bool:
    """Whether this is an installed copy (a wheel in site-packages), not a checkout."""
    return bool({"site-packages", "dist-packages"} & set(_HERE.parts)) or not os.access(
        _HERE, os.W_OK)


def cache_folder() -> Path:
    """The folder for an installed copy's compiled loops (``$CIRCLE15_CACHE_DIR/numba``,
    else the user's cache folder)."""
    env = os.environ.get("CIRCLE15_CACHE_DIR")
    if env:
        return Path(env) / "numba"
    import platformdirs

    return Path(platformdirs.user_cache_dir("circle15", appauthor=False)) / "numba"


def use_user_cache() -> None:
    """For an installed copy, point numba's cache at the user's cache folder (before
    numba is imported) and say so when nothing is compiled there yet."""
    if not installed() or os.environ.get("NUMBA_CACHE_DIR"):
        return
    folder = cache_folder()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    if "numba" in sys.modules:  # imported by someone else first: read the setting again
        from numba.core import config

        config.reload_config()
    if not any(folder.rglob("*.nbi")):
        print(f"circle15: compiling the fast loops once (about 20 s); kept in {folder}",
              file=sys.stderr, flush=True)


use_user_cache()
