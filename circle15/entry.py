"""The ``circle15`` console command (and ``python -m circle15``)."""

from __future__ import annotations

import logging
import os
import sys

from circle15.geo.network.osm_prefetch import start_from_argv

# the OSM file named on the command line is read on the second core while the
# imports below run (a second and a half each on a district; see osm_prefetch)
start_from_argv(sys.argv[1:])

from circle15.cli import main  # noqa: E402
from circle15.geo.forked import finish_background  # noqa: E402

#: commands whose processes must end normally (worker pools, servers: their exit hooks)
_NORMAL_EXIT = {"batch", "serve"}


def run() -> None:
    """:func:`circle15.cli.main`, then the process leaves without the interpreter's
    teardown (freeing a district's arrays one by one takes a third of a second after
    everything is written); output is flushed first."""
    rc = main()
    if _NORMAL_EXIT.intersection(sys.argv[1:2]):
        raise SystemExit(rc)
    finish_background()  # caches still being written
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)
