"""circle15.geo: walking-network coverage of outdoor-worker stations.

The computation layer: it knows nothing about maps or the web. Every stage
takes immutable inputs and returns a new typed object.
"""

from circle15.geo.errors import Circle15Error, InputError, NetworkError

__all__ = ["Circle15Error", "InputError", "NetworkError"]
