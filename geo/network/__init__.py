"""Stage: network. The street network: OSM files, osmnx graphs and place names read into
one compact, metric network, cut to a region, and cached on disk.

Public names:

- graph.Network
- cache.load_network
- osm_read (readers)
- osm_tags (which ways are walkable or rideable)
- clip.clip_network
- cache_keys (light: the read-ahead child imports it)

This file imports nothing, so that importing one module of the stage stays cheap.
"""
