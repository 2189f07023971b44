// The planner's workbench: every number shown is an API answer; this script counts nothing.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("c15-data").textContent);
  var W = data.words;
  var $ = function (id) { return document.getElementById(id); };
  var state = { token: sessionStorage.getItem("c15-token") || "", id: null, etag: null,
                stations: null, sites: null, busy: false };
  var map = L.map("map", { preferCanvas: true }).setView([39.9, 116.4], 11);
  if (data.tiles) {
    L.tileLayer(data.tiles.url, { attribution: data.tiles.attribution,
                                  subdomains: data.tiles.subdomains, maxZoom: 19 }).addTo(map);
  }
  var layer = L.layerGroup().addTo(map), siteLayer = L.layerGroup().addTo(map);
  window.c15plan = { map: map, state: state };  // for tests and the curious

  function say(text) { $("message").textContent = text || ""; }
  function api(method, path, body, extra) {
    var headers = Object.assign({ "Content-Type": "application/json" }, extra || {});
    if (state.token) headers.Authorization = "Bearer " + state.token;
    return fetch(path, { method: method, headers: headers,
                         body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        var tag = r.headers.get("ETag");
        return r.text().then(function (t) {
          var j = t ? JSON.parse(t) : {};
          if (!r.ok) { throw new Error((j.detail || r.statusText) + " (" + r.status + ")"); }
          if (tag && state.id && path.indexOf("/scenarios/" + state.id) === 0) state.etag = tag;
          return j;
        });
      });
  }
  function fmt(v) { return Math.round(v).toLocaleString(); }
  function signed(v) {
    var s = (v > 0 ? "+" : "") + fmt(v);
    return '<span class="' + (v > 0 ? "up" : v < 0 ? "down" : "") + '">' + s + "</span>";
  }
  function cell(text) { var td = document.createElement("td"); td.textContent = text; return td; }

  function showAnswer(a) {
    var last = a.bands[a.bands.length - 1], d = a.delta || {};
    var rows = [[W.stations, fmt(a.stations), d.stations],
                [W.covered, fmt(last.covered), d.covered],
                [W.cross, fmt(last.cross_covered), d.cross_covered]];
    var box = $("totals"); box.innerHTML = "";
    rows.forEach(function (r) {
      var k = document.createElement("div"); k.textContent = r[0];
      var v = document.createElement("div"); v.className = "v"; v.textContent = r[1];
      var c = document.createElement("div"); c.innerHTML = r[2] === undefined ? "" : signed(r[2]);
      box.appendChild(k); box.appendChild(v); box.appendChild(c);
    });
    box.dataset.covered = last.covered; box.dataset.stations = a.stations;
    var t = $("towns"); t.innerHTML = "";
    if (a.areas) {
      var head = document.createElement("tr");
      ["", W.covered, W.change].forEach(function (h) {
        var th = document.createElement("th"); th.textContent = h; head.appendChild(th); });
      t.appendChild(head);
      a.areas.slice().sort(function (x, y) { return x.covered_change - y.covered_change; })
        .forEach(function (r) {
          var tr = document.createElement("tr");
          tr.appendChild(cell(r.name)); tr.appendChild(cell(fmt(r.covered)));
          var c = document.createElement("td"); c.innerHTML = signed(r.covered_change);
          tr.appendChild(c); t.appendChild(tr);
        });
    }
  }

  function drawStations(fc) {
    layer.clearLayers();
    var pts = [];
    fc.features.forEach(function (f) {
      var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]]; pts.push(ll);
      var p = f.properties;
      var m = L.circleMarker(ll, { radius: 6, color: "#08519c", fillColor: "#3182bd",
                                   fillOpacity: p.status === "existing" ? 0.9 : 0.3,
                                   weight: 1.5 });
      m.bindTooltip(p.id + " " + p.name);
      m.on("click", function (e) {
        L.DomEvent.stopPropagation(e);
        if (window.confirm(W.remove + " " + p.id + "?")) edit({ op: "remove", station_id: p.id });
      });
      m.addTo(layer);
      m._c15id = p.id;
    });
    if (pts.length && !state.fitted) { map.fitBounds(pts, { padding: [20, 20] }); state.fitted = true; }
  }

  function showEdits(edits) {
    var ol = $("edits"); ol.innerHTML = "";
    edits.forEach(function (e) {
      var li = document.createElement("li");
      li.textContent = e.op + " " + (e.station_id || (e.station && e.station.id) || "") +
        " · " + e.user;
      ol.appendChild(li);
    });
  }

  function load(id) {
    state.id = id; siteLayer.clearLayers();
    if (!id) { say(W.none); return Promise.resolve(); }
    return api("GET", "/scenarios/" + id).then(function (s) {
      drawStations(s.stations); showEdits(s.edits);
      return api("GET", "/scenarios/" + id + "/coverage");
    }).then(showAnswer).then(function () { say(""); }).catch(function (e) { say(e.message); });
  }

  function list(select) {
    return api("GET", "/scenarios").then(function (r) {
      var sel = $("scenario"); sel.innerHTML = "";
      r.scenarios.forEach(function (s) {
        var o = document.createElement("option"); o.value = s.id;
        o.textContent = s.name + " (v" + s.version + ")"; sel.appendChild(o);
      });
      if (select) sel.value = select;
      return load(sel.value || null);
    }).catch(function (e) { say(e.message); });
  }

  // edits go one after another, each under the version the previous one answered
  state.queue = Promise.resolve();
  function edit(body) {
    if (!state.id) return Promise.resolve();
    state.queue = state.queue.then(function () {
      say("…");
      return api("POST", "/scenarios/" + state.id + "/edits", body, { "If-Match": state.etag })
        .then(function (a) { return api("GET", "/scenarios/" + state.id).then(function (s) {
          drawStations(s.stations); showEdits(s.edits); showAnswer(a); say("");
          var opt = $("scenario").selectedOptions[0];
          if (opt) opt.textContent = s.name + " (v" + s.version + ")"; }); })
        .catch(function (e) { say(e.message); });
    });
    return state.queue;
  }

  map.on("click", function (e) {
    if (!state.id) { say(W.none); return; }
    var name = window.prompt(W.add_name, W.add_name);
    if (!name) return;
    var id = "P" + Date.now().toString(36).toUpperCase();
    edit({ op: "add", station: { id: id, name: name, lon: e.latlng.lng, lat: e.latlng.lat } });
  });
  $("signin").onclick = function () {
    state.token = $("token").value.trim(); sessionStorage.setItem("c15-token", state.token);
    list();
  };
  $("scenario").onchange = function () { state.fitted = true; load(this.value); };
  $("new").onclick = function () {
    api("POST", "/scenarios", { name: $("newname").value || W.new, from: "register" })
      .then(function (s) { list(s.id); }).catch(function (e) { say(e.message); });
  };
  $("copy").onclick = function () {
    if (!state.id) return;
    api("POST", "/scenarios", { name: ($("newname").value || W.copy), from: state.id })
      .then(function (s) { list(s.id); }).catch(function (e) { say(e.message); });
  };
  $("undo").onclick = function () {
    if (!state.id) return;
    api("POST", "/scenarios/" + state.id + "/undo", undefined, { "If-Match": state.etag })
      .then(function () { return load(state.id); }).catch(function (e) { say(e.message); });
  };
  $("adopt").onclick = function () {
    if (!state.id) return;
    api("POST", "/scenarios/" + state.id + "/adopt", undefined, { "If-Match": state.etag })
      .then(function () { return load(state.id); }).catch(function (e) { say(e.message); });
  };
  $("suggest").onclick = function () {
    if (!state.id) return;
    say("…");
    api("POST", "/scenarios/" + state.id + "/suggest?k=5").then(function (r) {
      siteLayer.clearLayers(); state.sites = r.sites;
      r.sites.forEach(function (s) {
        var icon = L.divIcon({ className: "c15-site", html: String(s.rank), iconSize: [20, 20] });
        var m = L.marker([s.lat, s.lon], { icon: icon });
        m.bindTooltip("#" + s.rank + " +" + fmt(s.marginal_gain) + " " + W.people);
        m.on("click", function (e) {
          L.DomEvent.stopPropagation(e); siteLayer.removeLayer(m);
          edit({ op: "add", station: { id: "S" + s.rank + "-" + Date.now().toString(36).toUpperCase(),
                                       name: W.suggest + " #" + s.rank, lon: s.lon, lat: s.lat } });
        });
        m.addTo(siteLayer);
      });
      say("");
    }).catch(function (e) { say(e.message); });
  };
  $("token").value = state.token;
  list();
})();
