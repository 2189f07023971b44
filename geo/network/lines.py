"""Line shapes kept as flat coordinate arrays, made into shapely lines on demand."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from numpy.typing import NDArray


def line_coords_to_geoms(
    coords: NDArray[np.float64], offsets: NDArray[np.int64]
) -> NDArray[np.object_]:
    counts = np.diff(offsets)
    index = np.repeat(np.arange(counts.shape[0]), counts)
    return np.asarray(shapely.linestrings(coords, indices=index), dtype=object)


@dataclass(frozen=True, eq=False)
class Lines:
    """Line shapes as flat coordinates: line i is ``coords[offsets[i]:offsets[i+1]]``.

    The shapely geometries are made on first use: a district's 330,000 edges
    take a third of a second to build, and counting coverage never needs them.
    """

    coords: NDArray[np.float64]
    offsets: NDArray[np.int64]

    @classmethod
    def of(cls, geoms: NDArray[np.object_]) -> Lines:
        """The lines of shapely LineStrings (kept as they are)."""
        coords, index = shapely.get_coordinates(geoms, return_index=True)
        counts = np.bincount(index, minlength=geoms.shape[0])
        lines = cls(coords, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        lines.__dict__["geoms"] = np.asarray(geoms, dtype=object)
        return lines

    def __len__(self) -> int:
        return int(self.offsets.shape[0]) - 1

    @cached_property
    def geoms(self) -> NDArray[np.object_]:
        return line_coords_to_geoms(self.coords, self.offsets)

    @property
    def line_of_coord(self) -> NDArray[np.int64]:
        """The line each coordinate belongs to."""
        return np.repeat(np.arange(len(self)), np.diff(self.offsets))

    def take(self, index: NDArray[np.int64]) -> Lines:
        """Lines ``index``, in that order."""
        counts = np.diff(self.offsets)[index]
        starts = self.offsets[index]
        pos = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) \
            + np.arange(int(counts.sum()))
        return Lines(self.coords[pos], np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
