// The planner map: draws the page's JSON (id c15-data) with Leaflet on canvas.
// Every string from the data reaches the page as text (textContent), never as markup.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('c15-data').textContent);
  var T = D.labels, C = D.colours;
  var locale = D.lang === 'zh' ? 'zh-CN' : 'en';

  var dec = window.c15streets.dec;  // one encoded path to [lat, lng]s (streets.js)
  function polys(codes) { return codes.map(function (p) { return p.map(dec); }); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  function num(v) { return Number(v).toLocaleString(locale); }
  function table(title, rows) {
    var box = el('div', 'c15-popup');
    if (title) { box.appendChild(el('div', 'c15-popup-title', title)); }
    var tb = el('table');
    rows.forEach(function (r) {
      if (r[1] === '' || r[1] === null || r[1] === undefined) { return; }
      var tr = el('tr'); tr.appendChild(el('th', null, r[0])); tr.appendChild(el('td', null, r[1]));
      tb.appendChild(tr);
    });
    box.appendChild(tb);
    return box;
  }

  var map = L.map('map', {preferCanvas: true, zoomSnap: 0.25, maxZoom: 19});
  // the whole area, clear of the title (top) and the legend (right)
  // room for the title and the legend beside the district; on a phone they fold away
  var narrow = window.innerWidth < 700;
  map.fitBounds(D.bounds, narrow ? {paddingTopLeft: [0, 40], paddingBottomRight: [0, 40]}
                                 : {paddingTopLeft: [10, 70], paddingBottomRight: [250, 10]});
  L.control.scale({imperial: false}).addTo(map);
  function pane(name, z, events) {
    var p = map.createPane(name); p.style.zIndex = z;
    if (!events) { p.style.pointerEvents = 'none'; }
    return p;
  }
  pane('c15-streets', 250, false); pane('c15-raster', 380, false); pane('c15-labels', 640, false);
  var streetR = L.canvas({pane: 'c15-streets', padding: 0.3});
  var overR = L.canvas({padding: 0.3});
  var layers = {}, control = L.control.layers(null, null,
    {collapsed: window.innerWidth < 700, position: 'topright'});  // folded on a phone
  var keyOf = {};
  function add(key, name, layer, show) {
    layers[key] = layer; keyOf[L.stamp(layer)] = key;
    control.addOverlay(layer, esc(name));
    if (show) { layer.addTo(map); }
  }
  if (D.tiles) {
    L.tileLayer(D.tiles.url, {attribution: esc(D.tiles.attr), subdomains: D.tiles.subdomains,
                              maxZoom: 19}).addTo(map);
  }

  // the OSM file's own streets, water and place names
  if (D.streets) {
    var S = D.streets, g = window.c15streets.draw(S, L.layerGroup(), streetR);
    S.places.forEach(function (p) {
      L.marker([p[2], p[3]], {pane: 'c15-labels', interactive: false, keyboard: false,
        icon: L.divIcon({className: 'c15-place c15-place-' + p[1], html: el('span', null, p[0]),
                         iconSize: null})}).addTo(g);
    });
    add('streets', T.streets, g, D.streets_show);
  }

  // towns shaded by covered share, their names and shares written on them
  function townLayer(cls, pct) {
    var tg = L.layerGroup();
    TW.rows.forEach(function (r, i) {
      var colour = TW.colours[cls[i]];
      var shape = L.polygon(shapes[i], {renderer: overR, color: '#4d4d4d', weight: 1.2,
                                        fillColor: colour, fillOpacity: 0.5});
      shape.bindTooltip(el('span', null, r[0] + ': ' + r[pct] + ' %'), {sticky: true});
      shape.bindPopup(function () {
        return table(r[0], [[T.population, num(r[1])], [T.covered, num(r[2])],
                            [T.covered_share, r[4] + ' %'], [T.cross, num(r[3])],
                            [T.cross + ' %', r[5] + ' %']]);
      });
      shape.on('mouseover', function () { shape.setStyle({weight: 3}); });
      shape.on('mouseout', function () { shape.setStyle({weight: 1.2}); });
      shape.addTo(tg);
      var label = el('div');
      label.appendChild(el('b', null, r[0])); label.appendChild(el('span', null, r[pct] + ' %'));
      var lm = L.marker(TW.at[i], {pane: 'c15-labels', interactive: false, keyboard: false,
        icon: L.divIcon({className: 'c15-town-label', html: label, iconSize: null})}).addTo(tg);
      townLabels.push({marker: lm, spots: (TW.alt && TW.alt[i]) || [TW.at[i]]});
    });
    return tg;
  }
  // a town's name moved to the next of its spots while a station bubble or a site
  // covers it (the bubbles are placed by the clustering, at each zoom)
  var townLabels = [];
  function placeLabels() {
    var marks = Array.prototype.map.call(
      document.querySelectorAll('.c15-cluster, .c15-site'),
      function (e) { return e.getBoundingClientRect(); });
    function hits(r) {
      return marks.filter(function (m) {
        return r.left < m.right && m.left < r.right && r.top < m.bottom && m.top < r.bottom;
      }).length;
    }
    townLabels.forEach(function (t) {
      if (!map.hasLayer(t.marker) || !t.marker.getElement()) return;
      var best = null, fewest = Infinity;
      for (var k = 0; k < t.spots.length && fewest > 0; k++) {
        t.marker.setLatLng(t.spots[k]);
        var n = hits(t.marker.getElement().getBoundingClientRect());
        if (n < fewest) { fewest = n; best = t.spots[k]; }
      }
      t.marker.setLatLng(best);
    });
  }
  if (D.towns) {
    var TW = D.towns, shapes = TW.polys.map(polys);
    var covered = townLayer(TW.cls, 4), crossed = townLayer(TW.cls_cross, 5);
    add('towns', T.towns, covered, true);
    add('towns_cross', T.towns_cross, crossed, false);
    // one shading at a time: switching one on switches the other off
    map.on('overlayadd', function (e) {
      if (e.layer === covered && map.hasLayer(crossed)) map.removeLayer(crossed);
      if (e.layer === crossed && map.hasLayer(covered)) map.removeLayer(covered);
    });
  }

  // a layer whose shapes are decoded the first time it is switched on
  function lazy(build) {
    var g = L.layerGroup(), built = false;
    g.on('add', function () { if (!built) { built = true; build(g); } });
    return g;
  }

  // coverage bands (largest first, so the smaller ones draw on top)
  var bandsShown = D.bands.some(function (b) { return b.show; });
  var bands = lazy(function (g) {
    D.bands.forEach(function (b) {
      L.polygon(polys(b.polys), {renderer: overR, color: b.colour, weight: 1,
                                 fillColor: b.colour, fillOpacity: 0.35, interactive: false})
        .addTo(g);
    });
  });
  if (D.bands.length) { add('bands', T.bands, bands, bandsShown); }
  ['surface', 'density'].forEach(function (k) {
    add(k, T[k], L.imageOverlay(D[k].url, D[k].bounds, {pane: 'c15-raster',
                                className: 'c15-raster', interactive: false}), false);
  });

  // merged gap areas, largest first, with a ranked list
  var gapShapes = [], G = D.gaps;
  var gapLayer = lazy(function (g) { G.polys.map(polys).forEach(function (shape, i) {
    var r = G.rows[i];
    var p = L.polygon(shape, {renderer: overR, color: C.gap, weight: 1.5, fillColor: C.gap,
                              fillOpacity: 0.22});
    p.bindTooltip(el('span', null, '#' + r[0] + ': ' + num(r[1]) + ' ' + T.people),
                  {sticky: true});
    p.bindPopup(function () {
      return table(T.rank + ' ' + r[0], [[T.uncovered_people, num(r[1])],
                                          [T.nearest_station, r[2]], [T.walk_min, r[3]]]);
    });
    p.addTo(g); gapShapes.push(p);
    var tag = el('div', 'c15-gap-rank', r[0]);  // its rank in the list, on the map
    L.marker([r[4], r[5]], {pane: 'c15-labels', interactive: false, keyboard: false,
      icon: L.divIcon({className: '', html: tag, iconSize: [20, 20], iconAnchor: [10, 10]})})
      .addTo(g);
  }); });
  var gapBox = document.getElementById('c15-gaps'), gapList = document.getElementById('c15-gap-list');
  G.rows.forEach(function (r, i) {
    var li = el('li', 'c15-gap-item');
    li.appendChild(el('b', null, num(r[1]) + ' ' + T.people));
    if (r[2]) { li.appendChild(el('span', null, ' · ' + T.nearest_station + ' ' + r[2] + ' (' + r[3] + ' ' + T.min + ')')); }
    li.addEventListener('click', function () {
      map.fitBounds(gapShapes[i].getBounds(), {maxZoom: 15, padding: [40, 40]});
      gapShapes[i].openPopup();
    });
    gapList.appendChild(li);
  });
  if (G.rows.length) { add('gaps', T.gaps, gapLayer, false); }
  // the list folded to its heading until asked for: it no longer covers the map
  document.getElementById('c15-gaps-fold').addEventListener('click', function (e) {
    e.preventDefault();
    var open = gapBox.classList.toggle('c15-collapsed') === false;
    this.setAttribute('aria-expanded', String(open));
    this.querySelector('.c15-fold').textContent = open ? '▾' : '▸';
  });
  document.getElementById('c15-gaps-close').addEventListener('click', function (e) {
    e.preventDefault(); map.removeLayer(gapLayer);
  });

  // stations: grouped at low zoom; picking one draws its own isochrone
  var ST = D.stations, picked = L.layerGroup().addTo(map), markers = [];
  var cluster = L.markerClusterGroup({maxClusterRadius: 40, showCoverageOnHover: false,
    iconCreateFunction: function (c) {
      var d = el('div'); d.appendChild(el('span', null, c.getChildCount()));
      return L.divIcon({html: d, className: 'marker-cluster c15-cluster', iconSize: L.point(40, 40)});
    },
                                      disableClusteringAtZoom: 15, chunkedLoading: true});
  function stationLabel(i) { return (ST.names[i] || ST.ids[i]) + ' (' + ST.ids[i] + ')'; }
  function pick(i) {
    picked.clearLayers();
    var iso = ST.iso[i];
    if (iso && iso.length) {
      L.polygon(polys(iso), {renderer: overR, color: C.picked, weight: 2.5, fillColor: C.station,
                             fillOpacity: 0.12, interactive: false}).addTo(picked);
    }
    return picked;
  }
  ST.ids.forEach(function (id, i) {
    var m = L.circleMarker([ST.lat[i], ST.lon[i]], {radius: 6, color: '#fff', weight: 2,
      fillColor: C.station, fillOpacity: 1, className: 'c15-station'});
    m.bindTooltip(el('span', null, stationLabel(i)));
    m.bindPopup(function () {
      return table(stationLabel(i), ST.heads.map(function (h, k) { return [h, ST.rows[i][k]]; }));
    }, {maxWidth: 320});
    m.on('click', function () { pick(i); });
    markers.push(m);
  });
  cluster.addLayers(markers);
  add('stations', T.stations, cluster, true);
  // names placed once the bubbles are drawn, and again after each zoom or layer switch
  var placing = null;
  function placeSoon() { clearTimeout(placing); placing = setTimeout(placeLabels, 60); }
  map.on('zoomend moveend overlayadd overlayremove', placeSoon);
  cluster.on('animationend', placeSoon);
  placeSoon();
  // a station found by search: its own isochrone in view, its marker out of its group
  function show(i) {
    var layer = pick(i).getLayers()[0];
    if (layer) { map.fitBounds(layer.getBounds(), {maxZoom: 16, animate: false, padding: [30, 30]}); }
    else { map.setView([ST.lat[i], ST.lon[i]], 15, {animate: false}); }
    // (markercluster waits for a move that never comes when a circle marker is in view)
    if (map.hasLayer(markers[i])) { markers[i].openPopup(); }
    else { cluster.zoomToShowLayer(markers[i], function () { markers[i].openPopup(); }); }
  }

  // proposed sites with their rank and gain
  if (D.sites.length) {
    var sg = L.layerGroup();
    D.sites.forEach(function (s) {
      var icon = el('div', 'c15-site', s[0]); icon.style.background = C.site;
      L.marker([s[3], s[4]], {icon: L.divIcon({className: '', html: icon, iconSize: [22, 22],
                                               iconAnchor: [11, 11]})})
        .bindPopup(function () {
          return table(T.site, [[T.rank, s[0]], [T.site, s[1]], [T.gain, num(Math.round(s[2]))]]);
        }).addTo(sg);
    });
    add('sites', T.sites, sg, true);
  }

  // extra layers handed in by other parts of the project
  D.overlays.forEach(function (o, n) {
    var layer = L.geoJSON(o.geojson, {
      style: function () { return o.style; },
      pointToLayer: function (f, ll) { return L.circleMarker(ll, L.extend({radius: 5}, o.style)); },
      onEachFeature: function (f, l) {
        var props = f.properties || {};
        var keys = o.fields || Object.keys(props);
        l.bindPopup(function () {
          return table(o.name, keys.map(function (k) { return [k, props[k]]; }));
        });
      }});
    add('overlay' + n, o.name, layer, o.show);
  });
  control.addTo(map);

  // the legend shows which layers are on
  function legendState() {
    document.querySelectorAll('.c15-legend-sec').forEach(function (sec) {
      var layer = layers[sec.dataset.layer];
      sec.classList.toggle('c15-off', !!layer && !map.hasLayer(layer));
    });
    gapBox.hidden = !(layers.gaps && map.hasLayer(layers.gaps));
  }
  map.on('overlayadd overlayremove layeradd layerremove', legendState);
  legendState();
  function zoomClass() {
    var c = map.getContainer(), z = map.getZoom();
    c.classList.toggle('c15-zoom-low', z < 12); c.classList.toggle('c15-zoom-high', z >= 14);
  }
  map.on('zoomend', zoomClass); zoomClass();

  // search stations by name, id or any of their fields
  var box = document.getElementById('c15-search'), results = document.getElementById('c15-results');
  var haystack = ST.ids.map(function (id, i) {
    return [id, ST.names[i]].concat(ST.rows[i]).join(' ').toLowerCase();
  });
  function search(q) {
    q = String(q).trim().toLowerCase();
    var hits = [];
    if (!q) { return hits; }
    for (var i = 0; i < haystack.length && hits.length < 12; i++) {
      if (haystack[i].indexOf(q) >= 0) { hits.push(i); }
    }
    return hits;
  }
  function list() {
    var hits = search(box.value);
    results.textContent = '';
    if (box.value.trim() && !hits.length) { results.appendChild(el('div', 'c15-hit-none', T.no_match)); }
    hits.forEach(function (i) {
      var d = el('div', 'c15-hit', stationLabel(i));
      d.addEventListener('click', function () { show(i); results.textContent = ''; });
      results.appendChild(d);
    });
    return hits;
  }
  box.addEventListener('input', list);
  box.addEventListener('keydown', function (e) {
    if (e.key === 'Enter') { var hits = list(); if (hits.length) { show(hits[0]); results.textContent = ''; } }
  });
  L.DomEvent.disableClickPropagation(document.querySelector('.c15-search'));

  // full screen: the whole page, so the legend and panels stay
  var Full = L.Control.extend({options: {position: 'topleft'}, onAdd: function () {
    var b = L.DomUtil.create('a', 'leaflet-bar c15-fullscreen'); b.href = '#';
    b.title = T.fullscreen;
    var ns = 'http://www.w3.org/2000/svg', svg = document.createElementNS(ns, 'svg'),
      path = document.createElementNS(ns, 'path');
    svg.setAttribute('width', '16'); svg.setAttribute('height', '16');
    svg.setAttribute('viewBox', '0 0 16 16');
    path.setAttribute('d', 'M1 6V1h5M10 1h5v5M15 10v5h-5M6 15H1v-5');
    path.setAttribute('fill', 'none'); path.setAttribute('stroke', '#333');
    path.setAttribute('stroke-width', '2');
    svg.appendChild(path); b.appendChild(svg);
    L.DomEvent.on(b, 'click', function (e) {
      L.DomEvent.preventDefault(e);
      if (document.fullscreenElement) { document.exitFullscreen(); }
      else if (document.documentElement.requestFullscreen) { document.documentElement.requestFullscreen(); }
    });
    return b;
  }});
  new Full().addTo(map);

  window.c15 = {map: map, data: D, layers: layers, markers: markers, cluster: cluster,
                pick: pick, show: show, search: search, keyOf: keyOf};
}());
