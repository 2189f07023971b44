// A full-screen button for a Leaflet map (top left, under the zoom buttons).
function c15Fullscreen(map, title) {
  var Control = L.Control.extend({options: {position: 'topleft'}, onAdd: function () {
    var b = L.DomUtil.create('a', 'leaflet-bar c15-fullscreen');
    b.href = '#';
    b.title = title;
    var ns = 'http://www.w3.org/2000/svg', svg = document.createElementNS(ns, 'svg'),
      path = document.createElementNS(ns, 'path');
    svg.setAttribute('width', '16'); svg.setAttribute('height', '16');
    svg.setAttribute('viewBox', '0 0 16 16');
    path.setAttribute('d', 'M1 6V1h5M10 1h5v5M15 10v5h-5M6 15H1v-5');
    path.setAttribute('fill', 'none'); path.setAttribute('stroke', '#333');
    path.setAttribute('stroke-width', '2');
    svg.appendChild(path);
    b.appendChild(svg);
    L.DomEvent.on(b, 'click', function (e) {
      L.DomEvent.preventDefault(e);
      var el = map.getContainer();
      if (document.fullscreenElement) { document.exitFullscreen(); }
      else if (el.requestFullscreen) { el.requestFullscreen(); }
    });
    return b;
  }});
  new Control().addTo(map);
  document.addEventListener('fullscreenchange', function () { map.invalidateSize(); });
}
