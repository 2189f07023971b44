// The network file's own streets and water (circle15.maps.planner_data.streets): the
// offline basemap every page draws the same way. Paths come encoded (zig-zag 5-bit
// deltas of 1e-5 degrees, longitude first).
window.c15streets = (function () {
  'use strict';
  function dec(s) {  // one encoded path to [lat, lng]s
    var out = [], i = 0, x = 0, y = 0;
    function next() {
      var r = 0, sh = 0, b;
      do { b = s.charCodeAt(i++) - 63; r |= (b & 31) << sh; sh += 5; } while (b >= 32);
      return (r & 1) ? ~(r >> 1) : (r >> 1);
    }
    while (i < s.length) { x += next(); y += next(); out.push([y * 1e-5, x * 1e-5]); }
    return out;
  }
  // water, rivers and roads of S into `group` on `renderer` (a canvas in its own pane)
  function draw(S, group, renderer) {
    S.water.forEach(function (p) {
      L.polygon(p.map(dec), {renderer: renderer, stroke: false, fillColor: S.water_colour,
                             fillOpacity: 0.8, interactive: false}).addTo(group);
    });
    if (S.rivers.length) {
      L.polyline(S.rivers.map(dec), {renderer: renderer, color: S.water_colour, weight: 2.5,
                                     interactive: false}).addTo(group);
    }
    S.roads.forEach(function (r) {
      L.polyline(r[3].map(dec), {renderer: renderer, color: r[1], weight: r[2], opacity: 0.9,
                                 interactive: false, smoothFactor: 1.5}).addTo(group);
    });
    return group;
  }
  return {dec: dec, draw: draw};
})();
