// The courier page: nearest stations by walking time, their route, and whether
// they are open. Offline, the page carries the walking network and searches it
// (nearest node, Dijkstra with a binary heap); served, it asks /nearest.
// Opening hours come already evaluated (circle15.geo.station_hours): open
// intervals in epoch milliseconds; the page only compares the clock with them.
// Every text from the data goes into the page as text (textContent), never as HTML.
(function () {
'use strict';
var D = JSON.parse(document.getElementById('c15-data').textContent);
var N = D.network, L_ = D.labels;

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
function nearestNode(lon, lat) {
  var best = -1, bd = Infinity;
  for (var i = 0; i < N.lon.length; i++) {
    var d = dist(lon, lat, N.lon[i], N.lat[i]);
    if (d < bd) { bd = d; best = i; }
  }
  return [best, bd];
}
function dijkstra(src, limit) {
  var n = N.lon.length, d = new Float64Array(n).fill(Infinity), pred = new Int32Array(n).fill(-1);
  var heap = [[0, src]];
  d[src] = 0;
  function swap(i, j) { var t = heap[i]; heap[i] = heap[j]; heap[j] = t; }
  function push(x) {
    heap.push(x);
    var i = heap.length - 1;
    while (i > 0) { var p = (i - 1) >> 1; if (heap[p][0] <= heap[i][0]) break; swap(p, i); i = p; }
  }
  function pop() {
    var top = heap[0], last = heap.pop();
    if (heap.length) {
      heap[0] = last;
      for (var i = 0; ;) {
        var l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap.length && heap[l][0] < heap[m][0]) m = l;
        if (r < heap.length && heap[r][0] < heap[m][0]) m = r;
        if (m === i) break;
        swap(m, i); i = m;
      }
    }
    return top;
  }
  while (heap.length) {
    var it = pop(), du = it[0], u = it[1];
    if (du > d[u]) continue;
    if (du > limit) break;
    for (var j = N.indptr[u]; j < N.indptr[u + 1]; j++) {
      var v = N.indices[j], nd = du + N.length[j];
      if (nd < d[v]) { d[v] = nd; pred[v] = u; push([nd, v]); }
    }
  }
  return {d: d, pred: pred};
}
function query(lat, lon) {
  var nn = nearestNode(lon, lat), src = nn[0], off = nn[1];
  var res = dijkstra(src, D.limit_m), out = [];
  for (var i = 0; i < D.stations.length; i++) {
    var s = D.stations[i];
    var viaU = res.d[s.u] + s.du, viaV = res.d[s.v] + s.dv, m = off + Math.min(viaU, viaV);
    if (m <= D.limit_m) out.push({i: i, m: m, end: (viaU <= viaV ? s.u : s.v)});
  }
  out.sort(function (a, b) { return a.m - b.m; });
  return {src: src, off: off, res: res, found: out};
}
// network nodes from the courier's nearest node to `end`, as [lon, lat]
function path(q, end) {
  var line = [], v = end;
  while (v >= 0) { line.push([N.lon[v], N.lat[v]]); if (v === q.src) break; v = q.res.pred[v]; }
  return line.reverse();
}

function el(tag, className, text) {
  var e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

var map = L.map('map', {zoomControl: true}), layer = L.layerGroup().addTo(map);
if (D.basemap === 'osm') {
  L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png',
    {maxZoom: 19, attribution: '&copy; OpenStreetMap contributors'}).addTo(map);
}
var byId = {};
D.stations.forEach(function (s) { byId[s.id] = s; });
var num = function (a, b) { return a - b; };
var lats = (N ? N.lat : D.stations.map(function (s) { return s.lat; })).slice().sort(num);
var lons = (N ? N.lon : D.stations.map(function (s) { return s.lon; })).slice().sort(num);
if (lats.length) map.fitBounds([[lats[0], lons[0]], [lats[lats.length - 1], lons[lons.length - 1]]]);
else map.setView([0, 0], 2);
L.control.scale({imperial: false}).addTo(map);
D.stations.forEach(function (s) {
  L.circleMarker([s.lat, s.lon], {radius: 7, color: '#fff', weight: 2, fillColor: '#08519c',
    fillOpacity: 1, className: 'c15-station'})
    .bindTooltip(el('span', 'c15-tip', s.name)).addTo(map);
});
function amenityText(list) {
  return list.map(function (a) { return L_[a] || a; }).join(D.lang === 'zh' ? '、' : ', ');
}

// a row has the fields of /nearest's answer (circle15.geo.nearest.NearestStation)
function row(s, metres, open, coordinates) {
  return {id: s.id, name: s.name, distance_m: metres, walk_min: metres / D.speed_m_per_min,
    amenities: s.amenities, opening_hours: s.opening_hours, open_now: open, lon: s.lon,
    lat: s.lat, route: {type: 'LineString', coordinates: coordinates}};
}

var last = null;
function show(lat, lon) {
  last = [lat, lon];
  layer.clearLayers();
  var want = document.getElementById('amenity').value,
    onlyOpen = document.getElementById('opennow').checked;
  L.circleMarker([lat, lon], {radius: 8, color: '#b2182b', fillColor: '#b2182b', fillOpacity: .8,
    className: 'c15-me'}).bindTooltip(el('span', '', L_.your_position)).addTo(layer);
  if (D.api !== null) {  // served by circle15: ask the service
    var url = D.api + '/nearest?lon=' + lon + '&lat=' + lat + '&k=' + D.k +
      (want ? '&amenity=' + encodeURIComponent(want) : '') + (onlyOpen ? '&open_now=true' : '');
    return fetch(url).then(function (r) { return r.json(); })
      .then(function (j) { return render(j.stations || []); });
  }
  var q = query(lat, lon), t = now().getTime(), rows = [];
  for (var j = 0; j < q.found.length && rows.length < D.k; j++) {
    var f = q.found[j], s = D.stations[f.i], open = openAt(s.hours, t);
    if (want && s.amenities.indexOf(want) < 0) continue;
    if (onlyOpen && open !== true) continue;
    rows.push(row(s, f.m, open, [[lon, lat]].concat(path(q, f.end)).concat([[s.lon, s.lat]])));
  }
  return render(rows);
}

function status(open) {
  if (open === true) return el('span', 'c15-open', L_.open);
  if (open === false) return el('span', 'c15-shut', L_.shut);
  return el('span', 'c15-unknown', L_.hours_unknown);
}

function render(rows) {
  var list = document.getElementById('list');
  list.replaceChildren();
  document.getElementById('hint').style.display = 'none';
  if (!rows.length) { list.appendChild(el('div', 'c15-none', L_.none_found)); return []; }
  function draw(r) {
    layer.eachLayer(function (l) { if (l.options.className === 'c15-route') layer.removeLayer(l); });
    var line = r.route.coordinates.map(function (c) { return [c[1], c[0]]; });
    var pl = L.polyline(line, {color: '#08519c', weight: 5, opacity: .8, className: 'c15-route'})
      .addTo(layer);
    if (!map.getBounds().contains(pl.getBounds())) map.fitBounds(pl.getBounds().pad(0.3));
  }
  rows.forEach(function (r, idx) {
    var div = el('div', 'c15-item' + (idx === 0 ? ' sel' : '')),
      address = (byId[r.id] || {}).address || '';
    div.dataset.id = r.id;
    div.dataset.minutes = r.walk_min.toFixed(2);
    div.appendChild(el('span', 'c15-time', r.walk_min.toFixed(0) + ' ' + L_.min));
    div.appendChild(el('b', '', r.name));
    div.appendChild(el('br'));
    div.appendChild(document.createTextNode(Math.round(r.distance_m) + ' ' + L_.m + ' · '));
    div.appendChild(status(r.open_now));
    div.appendChild(el('br'));
    div.appendChild(el('small', '', amenityText(r.amenities) + (address ? ' · ' + address : '')));
    div.onclick = function () {
      draw(r);
      Array.prototype.forEach.call(list.children, function (c) { c.classList.remove('sel'); });
      div.classList.add('sel');
    };
    list.appendChild(div);
  });
  draw(rows[0]);
  return rows;
}

map.on('click', function (e) { show(e.latlng.lat, e.latlng.lng); });
document.getElementById('amenity').onchange = document.getElementById('opennow').onchange =
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
  // open at `when` (anything Date reads) by the page's own evaluated hours
  openAt: function (id, when) { return openAt((byId[id] || {}).hours, new Date(when).getTime()); }
};
})();
