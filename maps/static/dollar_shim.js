// folium builds popups with $(html)[0] (jQuery); this is all of jQuery it needs,
// so the page need not load jQuery from a CDN. folium's popup HTML is built from
// escaped text on the Python side.
if (typeof window.$ === 'undefined') {
  window.$ = function (html) {
    var box = document.createElement('div');
    box.innerHTML = String(html).trim();
    return [box.firstElementChild];
  };
}
