"""Where the caches keep an area's built network and placed people, and their keys.

Light on purpose (the standard library and the mode names): the command line works
out a network's cache file before it imports anything heavy, to read it ahead
(:mod:`circle15.geo.network.osm_prefetch`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from circle15.geo.modes import check_mode

#: bump when the cached layout or the way filter changes, so old caches are ignored
#: (riding networks added optional ``edge_oneway``/``mode`` arrays and a mode in
#: the key; walking files and keys are unchanged, so version 4 walk caches stay valid)
CACHE_VERSION = "4"


def default_cache_dir() -> Path:
    """``$CIRCLE15_CACHE_DIR``, else the user's cache folder (e.g. ``~/.cache/circle15``)."""
    env = os.environ.get("CIRCLE15_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("circle15", appauthor=False)) / "networks"


def file_digest(path: Path) -> str:
    """A hash of a file's content (what a cache entry built from it is keyed by)."""
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_key(source: str, *, keep_all_components: bool, mode: str = "walk") -> str:
    """Key of a network in the cache: a hash of the source content, settings and mode."""
    path = Path(source)
    content = file_digest(path) if path.is_file() else f"name:{source}"
    h = hashlib.blake2b(digest_size=12)
    text = f"v{CACHE_VERSION}|{content}|all={keep_all_components}"
    mode = check_mode(mode)
    if mode != "walk":  # walking keys are those of before modes existed
        text += f"|mode={mode}"
    h.update(text.encode())
    return h.hexdigest()


def cache_file_name(key: str, mode: str = "walk") -> str:
    """``network-<key>.npz`` for walking, ``network-<mode>-<key>.npz`` otherwise."""
    mode = check_mode(mode)
    return f"network-{key}.npz" if mode == "walk" else f"network-{mode}-{key}.npz"
