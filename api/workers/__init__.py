"""``circle15 serve --workers N``: the area loaded once, workers forked from it.

:mod:`.serve` is the serving process (it loads the area, keeps the coverage up to date
after changes and draws the pages in the background); :mod:`.crew` keeps one revision's
worker processes running, replacing any that dies at once.
"""
