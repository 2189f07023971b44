"""Templates and static files of the map pages, inlined into one offline file.

Page HTML lives in ``templates/`` (Jinja2, autoescaped), JavaScript and CSS in
``static/``. Pages are single files that work with no server and no
internet, so static files are inlined at render time, and data for scripts
is embedded as JSON that cannot end its ``<script>`` element early.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

#: characters that could end a <script> element, open a comment or an entity, or
#: end a JavaScript line in old engines: written as JSON \\u escapes instead
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                  "\u2028": "\\u2028", "\u2029": "\\u2029"}
#: what would end an inlined <script> or <style> element early, or start a comment
_ENDS_ELEMENT = re.compile(r"</(script|style)|<!--", re.IGNORECASE)


def script_json(value: Any) -> Markup:
    """``value`` as JSON safe to place inside a ``<script>`` element.

    ``<``, ``>``, ``&`` and U+2028/U+2029 are escaped as ``\\uXXXX``, which
    JSON and JavaScript read back as the same characters.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in _SCRIPT_UNSAFE.items():  # str.replace: C speed on big pages
        if char in text:
            text = text.replace(char, escaped)
    return Markup(text)


#: characters with meaning in the JavaScript template literals folium wraps popup
#: HTML in (`...${...}...`), written as character references, which HTML shows as is
_LITERAL_TABLE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def html_text(value: object) -> Markup:
    """``value`` as text for HTML that a map library inserts with ``innerHTML``
    (folium popups, tooltips and layer names): ``<>&"'`` escaped, and also the
    characters that would act inside folium's JavaScript template literals."""
    return Markup(str(escape(str(value))).translate(_LITERAL_TABLE))


@cache
def static_text(name: str) -> Markup:
    """A file of ``static/`` for inlining into a ``<script>`` or ``<style>`` element."""
    return inline_safe(files("circle15.maps").joinpath("static", name).read_text(
        encoding="utf-8"), f"static/{name}")


def inline_safe(text: str, what: str) -> Markup:
    """Script or style text, checked to be safe to inline in its element.

    Raises
    ------
    ValueError
        The text contains ``</script``, ``</style`` or ``<!--``, which could end
        its element early.
    """
    found = _ENDS_ELEMENT.search(text)
    if found:
        msg = f"{what} contains {found.group(0)!r}, which would end its inlined element early"
        raise ValueError(msg)
    return Markup(text)


@cache
def environment() -> Environment:
    """The templates' Jinja2 environment: autoescaped, with ``script_json`` and ``static``."""
    env = Environment(loader=PackageLoader("circle15.maps", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["script_json"] = script_json
    env.globals["static"] = static_text
    return env


def render(template: str, **context: Any) -> str:
    """The template ``templates/<template>`` filled with ``context`` (values autoescaped)."""
    return environment().get_template(template).render(**context)
