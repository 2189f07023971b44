"""circle15: the command line that ties geo, maps and api together."""
