// The courier page: nearest stations by walking time, whether they are open, and
// one-tap navigation in Amap or Baidu Maps. Offline, the page reads a lookup grid
// (circle15.geo.courier.grid: per cell near a street, the stations within twice the
// limit and the walk to each, as base64 varints); served, it asks /nearest. Both
// follow one rule: the nearest k within the limit that pass the filters, or, when
// none does, the nearest k up to twice the limit, saying so.
// Opening hours come already evaluated (circle15.geo.inputs.station_hours): open
// intervals in epoch milliseconds; the page only compares the clock with them.
// Every text from the data goes into the page as text (textContent), never as HTML.
(function () {
'use strict';
var D = JSON.parse(document.getElementById('c15-data').textContent);
var G = D.grid, L_ = D.labels;

function now() {
  var q = new URLSearchParams(location.search).get('now');
  return q ? new Date(q) : new Date();
}

// open at t (epoch ms): true, false, or null (unknown, or past the evaluated days)
function openAt(h, t) {
  if (!h) return null;
  if (h.state) return h.state === 'open' ? true : h.state === 'closed' ? false : null;
  if (!(D.hours_from <= t && t < D.hours_until)) return null;
  var i;
  for (i = 0; i < h.open.length; i++) if (h.open[i][0] <= t && t < h.open[i][1]) return true;
  var unknown = h.unknown || [];
  for (i = 0; i < unknown.length; i++) if (unknown[i][0] <= t && t < unknown[i][1]) return null;
  return false;
}

// metres between lon/lat points (equirectangular: fine at walking scale)
function dist(lon1, lat1, lon2, lat2) {
  var k = Math.PI / 180, x = (lon2 - lon1) * k * Math.cos((lat1 + lat2) * k / 2),
    y = (lat2 - lat1) * k;
  return 6371009 * Math.sqrt(x * x + y * y);
}

// the lookup grid: sorted cell keys, each cell's run of (station, metres) nearest first
var cells, starts, sta, metres;
if (G) (function () {
  var bin = atob(G.data), pos = 0, i, j;
  function next() {  // one unsigned LEB128 varint
    var v = 0, mul = 1, b;
    do { b = bin.charCodeAt(pos++); v += (b & 127) * mul; mul *= 128; } while (b & 128);
    return v;
  }
  cells = new Float64Array(G.cells); starts = new Int32Array(G.cells + 1);
  sta = new Int32Array(G.entries); metres = new Float64Array(G.entries);
  var key = 0;
  for (i = 0; i < G.cells; i++) { key += next(); cells[i] = key; }
  for (i = 0; i < G.cells; i++) starts[i + 1] = starts[i] + next();
  for (j = 0; j < G.entries; j++) sta[j] = next();
  for (i = 0; i < G.cells; i++) {
    var d = 0;
    for (j = starts[i]; j < starts[i + 1]; j++) { d += next(); metres[j] = d * G.unit_m; }
  }
})();
function findCell(key) {
  var lo = 0, hi = cells.length - 1;
  while (lo <= hi) {
    var mid = (lo + hi) >> 1;
    if (cells[mid] === key) return mid;
    if (cells[mid] < key) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}
// the cell answering for (lon, lat), and the straight walk added to its centre when
// the position's own cell is not kept (far from streets); null beyond the streets' reach
function lookup(lon, lat) {
  var col = Math.floor((lon - G.lon0) / G.dlon), row = Math.floor((lat - G.lat0) / G.dlat);
  var rings = Math.ceil(D.max_snap_m / G.cell_m), best = -1, bd = Infinity;
  for (var ring = 0; ring <= rings; ring++) {
    for (var dr = -ring; dr <= ring; dr++) {
      for (var dc = -ring; dc <= ring; dc++) {
        if (Math.max(Math.abs(dr), Math.abs(dc)) !== ring) continue;
        var r = row + dr, c = col + dc;
        if (r < 0 || c < 0 || r >= G.ny || c >= G.nx) continue;
        var i = findCell(r * G.nx + c);
        if (i < 0) continue;
        if (ring === 0) return {cell: i, extra: 0};
        var d = dist(lon, lat, G.lon0 + (c + 0.5) * G.dlon, G.lat0 + (r + 0.5) * G.dlat);
        if (d < bd) { bd = d; best = i; }
      }
    }
    if (best >= 0 && bd <= (ring + 0.5) * G.cell_m) break;
  }
  return best < 0 || bd > D.max_snap_m ? null : {cell: best, extra: bd};
}

function el(tag, className, text) {
  var e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

var map = L.map('map', {zoomControl: true, maxZoom: 19}), layer = L.layerGroup().addTo(map);
// the main streets from the network file, under the tiles: the map when offline
if (D.streets) {
  map.createPane('c15-streets').style.zIndex = D.basemap === 'osm' ? 150 : 250;
  window.c15streets.draw(D.streets, L.layerGroup().addTo(map),
                         L.canvas({pane: 'c15-streets', padding: 0.3}));
}
if (D.basemap === 'osm') {
  L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png',
    {maxZoom: 19, attribution: '&copy; OpenStreetMap contributors'}).addTo(map);
}
var byId = {};
D.stations.forEach(function (s) { byId[s.id] = s; });
var num = function (a, b) { return a - b; };
var lats = D.stations.map(function (s) { return s.lat; }).sort(num);
var lons = D.stations.map(function (s) { return s.lon; }).sort(num);
// a few stations: all of them in view; many: the busiest few kilometres (not a district
// of dots on a phone), until the courier's position is known
if (lats.length && lats.length <= 30) {
  map.fitBounds([[lats[0], lons[0]], [lats[lats.length - 1], lons[lons.length - 1]]]);
} else if (D.start) map.fitBounds(D.start);
else map.setView([0, 0], 2);
L.control.scale({imperial: false}).addTo(map);
// the stations, grouped into numbered clusters where they would crowd each other
var stationLayer = (L.markerClusterGroup && D.stations.length > 30) ?
  L.markerClusterGroup({maxClusterRadius: 40, showCoverageOnHover: false,
    disableClusteringAtZoom: 16, iconCreateFunction: function (c) {
      // the stations' own blue, as on the planner map (the plug-in's default is green)
      var d = el('div'); d.appendChild(el('span', null, String(c.getChildCount())));
      return L.divIcon({html: d, className: 'marker-cluster c15-cluster',
                        iconSize: L.point(40, 40)});
    }}) : L.layerGroup();
D.stations.forEach(function (s) {
  L.circleMarker([s.lat, s.lon], {radius: 7, color: '#fff', weight: 2, fillColor: '#08519c',
    fillOpacity: 1, className: 'c15-station'})
    .bindTooltip(el('span', 'c15-tip', s.name)).addTo(stationLayer);
});
stationLayer.addTo(map);
// try the courier's position at once when they already allowed it (no prompt otherwise)
if (navigator.permissions && navigator.geolocation) {
  navigator.permissions.query({name: 'geolocation'}).then(function (p) {
    if (p.state === 'granted') document.getElementById('locate').click();
  }).catch(function () { /* the button stays */ });
}
function amenityText(list) {
  return list.map(function (a) { return L_[a] || a; }).join(D.lang === 'zh' ? '、' : ', ');
}

// navigation links: the same URL patterns as circle15.geo.courier.navigation, GCJ-02
function enc(x) {  // as Python's quote(x, safe=''): !'()* escaped too
  return encodeURIComponent(x).replace(/[!'()*]/g, function (c) {
    return '%' + c.charCodeAt(0).toString(16).toUpperCase();
  });
}
function navOf(s) {
  var v = {lon: s.glon.toFixed(6), lat: s.glat.toFixed(6), name: enc(s.name),
    amap: D.nav.modes.amap, baidu: D.nav.modes.baidu};
  function fill(tpl) { return tpl.replace(/\{(\w+)\}/g, function (_, k) { return v[k]; }); }
  return {amap: fill(D.nav.urls.amap), baidu: fill(D.nav.urls.baidu), gcj02: [s.glon, s.glat],
    wgs84: [s.lon, s.lat]};
}

// a row has the fields of /nearest's answer (circle15.geo.courier.nearest.NearestStation); offline
// the route is the straight line (the apps give the way)
function row(s, m, open, from) {
  return {id: s.id, name: s.name, distance_m: m, walk_min: m / D.speed_m_per_min,
    amenities: s.amenities, opening_hours: s.opening_hours, open_now: open, open_24h: !!s.h24,
    lon: s.lon, lat: s.lat, route: {type: 'LineString', coordinates: [from, [s.lon, s.lat]]},
    nav: navOf(s), straight: true};
}

// offline: the one rule of /nearest, on the cell's list
function answer(lat, lon, want, only24, onlyOpen) {
  var hit = lookup(lon, lat), inside = [], beyond = [];
  if (!hit) return {within_limit: false, stations: []};
  var t = now().getTime();
  for (var j = starts[hit.cell]; j < starts[hit.cell + 1]; j++) {
    var s = D.stations[sta[j]], m = metres[j] + hit.extra, open = openAt(s.hours, t);
    if (m > D.reach_m) break;
    if (want && s.amenities.indexOf(want) < 0) continue;
    if (only24 && !s.h24) continue;
    if (onlyOpen && open !== true) continue;
    (m <= D.limit_m ? inside : beyond).push(row(s, m, open, [lon, lat]));
  }
  return inside.length ? {within_limit: true, stations: inside.slice(0, D.k)}
    : {within_limit: false, stations: beyond.slice(0, D.k)};
}

var last = null, lastAnswer = null;
function show(lat, lon) {
  last = [lat, lon];
  layer.clearLayers();
  var want = document.getElementById('amenity').value,
    only24 = document.getElementById('open24h').checked,
    onlyOpen = document.getElementById('opennow').checked;
  L.circleMarker([lat, lon], {radius: 8, color: '#b2182b', fillColor: '#b2182b', fillOpacity: .8,
    className: 'c15-me'}).bindTooltip(el('span', '', L_.your_position)).addTo(layer);
  if (D.api !== null) {  // served by circle15: ask the service
    var url = D.api + '/nearest?lon=' + lon + '&lat=' + lat + '&k=' + D.k +
      (want ? '&amenity=' + encodeURIComponent(want) : '') + (onlyOpen ? '&open_now=true' : '') +
      (only24 ? '&open_24h=true' : '');
    return fetch(url).then(function (r) { return r.json(); })
      .then(function (j) { return render({within_limit: j.within_limit !== false,
        stations: j.stations || []}); });
  }
  return render(answer(lat, lon, want, only24, onlyOpen));
}

// when a closed station opens next: the service says it (opens_at, local ISO time);
// offline, the first of its evaluated open intervals after now
function opensText(r) {
  var iso = r.opens_at, t = now().getTime(), ahead = iso ? Date.parse(iso) - t : 0;
  if (!iso) {
    var h = (byId[r.id] || {}).hours, i;
    if (!h || !h.open || !D.timezone) return '';
    for (i = 0; i < h.open.length && h.open[i][0] <= t; i++);
    if (i === h.open.length) return '';
    var parts = {};
    new Intl.DateTimeFormat('en-CA', {timeZone: D.timezone, year: 'numeric', month: '2-digit',
      day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'})
      .formatToParts(new Date(h.open[i][0])).forEach(function (p) { parts[p.type] = p.value; });
    iso = parts.year + '-' + parts.month + '-' + parts.day + 'T' + parts.hour + ':' + parts.minute;
    ahead = h.open[i][0] - t;
  }
  var clock = iso.substr(11, 5);  // the area's own clock, as the hours are written
  var when = ahead > 24 * 3600e3 ? iso.substr(5, 5) + ' ' + clock : clock;
  return L_.opens.replace('{t}', when);
}
function status(open, r) {
  if (open === true) return el('span', 'c15-open', L_.open);
  if (open === false) {
    var next = r ? opensText(r) : '';
    return el('span', 'c15-shut', L_.shut + (next ? ' · ' + next : ''));
  }
  return el('span', 'c15-unknown', L_.hours_unknown);
}

function copy(text, button) {
  function done() { button.textContent = L_.copied; }
  function fallback() {  // in-app browsers without the clipboard API
    var box = el('textarea');
    box.value = text;
    document.body.appendChild(box);
    box.select();
    try { if (document.execCommand('copy')) done(); } catch (e) { /* the text stays shown */ }
    box.remove();
  }
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(text).then(done, fallback);
  } else fallback();
}

function navBlock(r) {
  var box = el('div', 'c15-nav');
  var amap = el('a', 'c15-amap', L_.amap), baidu = el('a', 'c15-baidu', L_.baidu);
  amap.href = r.nav.amap; baidu.href = r.nav.baidu;
  amap.rel = baidu.rel = 'noopener';
  var w = r.nav.wgs84, g = r.nav.gcj02,
    text = 'WGS84 ' + w[1].toFixed(6) + ',' + w[0].toFixed(6) + ' · GCJ-02 ' +
      g[1].toFixed(6) + ',' + g[0].toFixed(6);
  var button = el('button', 'c15-copy', L_.copy);
  button.type = 'button';
  button.onclick = function (e) { e.stopPropagation(); copy(text, button); };
  box.appendChild(amap); box.appendChild(baidu); box.appendChild(button);
  box.appendChild(el('div', 'c15-coords', text + ' (lat,lon)'));
  return box;
}

function render(ans) {
  var rows = ans.stations, list = document.getElementById('list');
  lastAnswer = ans;
  if (!document.body.classList.contains('c15-answered')) {
    document.body.classList.add('c15-answered');  // the list gets its room
    map.invalidateSize();
  }
  list.replaceChildren();
  document.getElementById('hint').style.display = 'none';
  if (!rows.length) {
    list.appendChild(el('div', 'c15-none', L_.none_reach));
    return [];
  }
  if (!ans.within_limit) list.appendChild(el('div', 'c15-beyond', L_.beyond));
  function draw(r) {
    layer.eachLayer(function (l) { if (l.options.className === 'c15-route') layer.removeLayer(l); });
    var line = r.route.coordinates.map(function (c) { return [c[1], c[0]]; });
    var pl = L.polyline(line, {color: '#08519c', weight: 5, opacity: .8, className: 'c15-route',
      dashArray: r.straight ? '8 8' : null}).addTo(layer);
    if (r.straight) pl.bindTooltip(el('span', '', L_.straight));
    if (!map.getBounds().contains(pl.getBounds()) || map.getZoom() < 13) {
      map.fitBounds(pl.getBounds().pad(0.3), {maxZoom: 16});
    }
  }
  rows.forEach(function (r, idx) {
    var div = el('div', 'c15-item' + (idx === 0 ? ' sel' : '') +
        (ans.within_limit ? '' : ' c15-far')),
      address = (byId[r.id] || {}).address || '';
    div.dataset.id = r.id;
    div.dataset.minutes = r.walk_min.toFixed(2);
    div.appendChild(el('span', 'c15-time', r.walk_min.toFixed(0) + ' ' + L_.min));
    div.appendChild(el('b', '', r.name));
    div.appendChild(el('br'));
    div.appendChild(document.createTextNode(Math.round(r.distance_m) + ' ' + L_.m + ' · '));
    div.appendChild(status(r.open_now, r));
    if (r.open_24h) div.appendChild(el('span', 'c15-h24', ' · ' + L_.open_24h));
    div.appendChild(el('br'));
    div.appendChild(el('small', '', amenityText(r.amenities) + (address ? ' · ' + address : '')));
    if (r.nav) div.appendChild(navBlock(r));
    div.onclick = function () {
      draw(r);
      Array.prototype.forEach.call(list.querySelectorAll('.c15-item'),
        function (c) { c.classList.remove('sel'); });
      div.classList.add('sel');
    };
    list.appendChild(div);
  });
  draw(rows[0]);
  return rows;
}

map.on('click', function (e) { show(e.latlng.lat, e.latlng.lng); });
document.getElementById('amenity').onchange = document.getElementById('opennow').onchange =
  document.getElementById('open24h').onchange =
  function () { if (last) show(last[0], last[1]); };
document.getElementById('locate').onclick = function () {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(function (p) {
    map.setView([p.coords.latitude, p.coords.longitude], 16);
    show(p.coords.latitude, p.coords.longitude);
  });
};
window.c15 = {
  show: show,
  // the last answer as /nearest gives it: {within_limit, stations}
  answer: function () { return lastAnswer; },
  // offline: the answer at (lat, lon) for many positions at once, no drawing
  answers: function (points, want, only24, onlyOpen) {
    return points.map(function (p) { return answer(p[0], p[1], want, only24, onlyOpen); });
  },
  // the centre [lat, lon] of the grid cell holding (lat, lon): where the page's answer is
  // the service's (offline)
  cellCentre: function (lat, lon) {
    var col = Math.floor((lon - G.lon0) / G.dlon), row = Math.floor((lat - G.lat0) / G.dlat);
    return [G.lat0 + (row + 0.5) * G.dlat, G.lon0 + (col + 0.5) * G.dlon];
  },
  // open at `when` (anything Date reads) by the page's own evaluated hours
  openAt: function (id, when) { return openAt((byId[id] || {}).hours, new Date(when).getTime()); }
};
})();
