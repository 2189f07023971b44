// The planner's workbench: every number shown is an API answer; this script counts nothing.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("c15-data").textContent);
  var W = data.words;
  var $ = function (id) { return document.getElementById(id); };
  var state = { token: sessionStorage.getItem("c15-token") || "", id: null, etag: null,
                sites: null, register: {}, shown: {}, areas: null };
  var map = L.map("map", { preferCanvas: true }).setView([39.9, 116.4], 11);
  if (data.tiles) {
    L.tileLayer(data.tiles.url, { attribution: data.tiles.attribution,
                                  subdomains: data.tiles.subdomains, maxZoom: 19 }).addTo(map);
  }
  map.createPane("streets").style.zIndex = 250;
  map.createPane("areas").style.zIndex = 350;
  map.createPane("labels").style.zIndex = 640;
  map.getPane("labels").style.pointerEvents = "none";
  var streetR = L.canvas({ pane: "streets", padding: 0.3 });
  // the network file's own streets and water (the service's, offline: streets.js)
  function drawStreets(S) { window.c15streets.draw(S, L.layerGroup().addTo(map), streetR); }
  var areaLayer = L.geoJSON(null, { pane: "areas", interactive: false,
                                    style: { color: "#555", weight: 1, fillOpacity: 0 } })
    .addTo(map);
  var isoLayer = L.layerGroup().addTo(map);
  var layer = L.layerGroup().addTo(map), siteLayer = L.layerGroup().addTo(map);
  window.c15plan = { map: map, state: state };  // for tests and the curious

  function say(text) { $("message").textContent = text || ""; }
  function note(html) { $("news").innerHTML = html || ""; }
  function api(method, path, body, extra) {
    var headers = Object.assign({ "Content-Type": "application/json" }, extra || {});
    if (state.token) headers.Authorization = "Bearer " + state.token;
    return fetch(path, { method: method, headers: headers,
                         body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        var tag = r.headers.get("ETag");
        return r.text().then(function (t) {
          var j = {};
          try { j = t ? JSON.parse(t) : {}; } catch (e) { j = { detail: t }; }
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
  function esc(t) { var d = document.createElement("div"); d.textContent = t; return d.innerHTML; }
  function cell(text) { var td = document.createElement("td"); td.textContent = text; return td; }
  function ll(f) { return [f.geometry.coordinates[1], f.geometry.coordinates[0]]; }

  // towns that gain are shaded green, those that lose red (the API's covered_change)
  function shadeAreas(rows) {
    var change = {};
    (rows || []).forEach(function (r) { change[r.name] = r.covered_change; });
    areaLayer.setStyle(function (f) {
      var c = change[f.properties.name] || 0;
      return { color: "#555", weight: 1, dashArray: "3 3",
               fillColor: c > 0 ? "#1a9850" : c < 0 ? "#d73027" : "#000",
               fillOpacity: c ? 0.22 : 0 };
    });
    areaLayer.eachLayer(function (l) {
      var c = change[l.feature.properties.name] || 0;
      l.unbindTooltip();
      l.bindTooltip(esc(l.feature.properties.name) + (c ? " " + (c > 0 ? "+" : "") + fmt(c) : ""),
                    { sticky: true });
    });
  }

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
    box.dataset.cross = last.cross_covered;
    var t = $("towns"); t.innerHTML = "";
    if (a.areas) {
      var head = document.createElement("tr");
      ["", W.covered, W.change].forEach(function (h) {
        var th = document.createElement("th"); th.textContent = h; head.appendChild(th); });
      t.appendChild(head);
      // the largest changes first, gains and losses alike
      a.areas.slice().sort(function (x, y) {
        return Math.abs(y.covered_change) - Math.abs(x.covered_change); })
        .forEach(function (r) {
          var tr = document.createElement("tr");
          tr.appendChild(cell(r.name)); tr.appendChild(cell(fmt(r.covered)));
          var c = document.createElement("td"); c.innerHTML = signed(r.covered_change);
          tr.appendChild(c); t.appendChild(tr);
        });
    }
    shadeAreas(a.areas);
  }

  function dot(kind, label) {
    return L.divIcon({ className: "c15-st " + kind, iconSize: [14, 14], html: label || "" });
  }

  // the scenario's stations (drag to move, click to remove) and the register's stations
  // the scenario removed (grey; click to restore)
  function drawStations(fc) {
    layer.clearLayers(); state.shown = {};
    var pts = [];
    fc.features.forEach(function (f) {
      var p = f.properties, here = ll(f); pts.push(here); state.shown[p.id] = true;
      var kind = !state.register[p.id] ? "added" :
        (p.status !== "existing" ? "planned" : "kept");
      var m = L.marker(here, { icon: dot(kind), draggable: true, autoPan: true,
                               title: p.id + " " + p.name, keyboard: false });
      m.bindTooltip(esc(p.id + " " + p.name) + '<br><span class="hint">' + W.drag + "</span>");
      m.on("click", function (e) {
        L.DomEvent.stopPropagation(e);
        if (window.confirm(W.remove + " " + p.id + "?")) edit({ op: "remove", station_id: p.id });
      });
      m.on("dragend", function () {
        var to = m.getLatLng();
        edit({ op: "move", station_id: p.id, lon: to.lng, lat: to.lat }, p.id);
      });
      m._c15id = p.id;
      m.addTo(layer);
    });
    Object.keys(state.register).forEach(function (id) {
      if (state.shown[id]) return;
      var f = state.register[id], p = f.properties;
      var m = L.marker(ll(f), { icon: dot("removed"), keyboard: false });
      m.bindTooltip(esc(p.id + " " + p.name) + " · " + W.restore);
      m.on("click", function (e) {
        L.DomEvent.stopPropagation(e);
        edit({ op: "add", station: { id: p.id, name: p.name, address: p.address || "",
                                     amenities: p.amenities || [],
                                     opening_hours: p.opening_hours || "24/7",
                                     lon: f.geometry.coordinates[0],
                                     lat: f.geometry.coordinates[1] } });
      });
      m._c15id = p.id; m._c15removed = true;
      m.addTo(layer);
    });
    if (pts.length && !state.fitted) { map.fitBounds(pts, { padding: [20, 20] }); state.fitted = true; }
  }

  function showEdits(edits) {
    var ol = $("edits"); ol.innerHTML = "";
    edits.forEach(function (e) {
      var li = document.createElement("li");
      li.textContent = (W["op_" + e.op] || e.op) + " " +
        (e.station_id || (e.station && e.station.id) || "") + " · " + e.user;
      ol.appendChild(li);
    });
  }

  function links(id) {
    var box = $("links"); box.innerHTML = "";
    if (!id) return;
    [["csv", "CSV"], ["xlsx", "XLSX"], ["geojson", "GeoJSON"], ["gpkg", "GPKG"]].forEach(
      function (f) {
        var a = document.createElement("a"); a.textContent = f[1];
        a.href = "/scenarios/" + id + "/stations?format=" + f[0]; a.download = "";
        box.appendChild(a);
      });
    ["pdf", "html"].forEach(function (f) {
      var a = document.createElement("a"); a.textContent = W.report + " " + f.toUpperCase();
      a.href = "/scenarios/" + id + "/report." + f + "?lang=" + data.lang; a.target = "_blank";
      a.className = "report"; box.appendChild(a);
    });
  }

  function load(id) {
    state.id = id; siteLayer.clearLayers(); isoLayer.clearLayers(); note(""); links(id);
    if (!id) { note(W.none); return Promise.resolve(); }
    return api("GET", "/scenarios/" + id).then(function (s) {
      drawStations(s.stations); showEdits(s.edits);
      return api("GET", "/scenarios/" + id + "/coverage");
    }).then(showAnswer).then(function () { say(""); }).catch(function (e) { say(e.message); });
  }

  function list(select) {
    return api("GET", "/scenarios").then(function (r) {
      var sel = $("scenario"); sel.innerHTML = "";
      state.scenarios = r.scenarios;
      r.scenarios.forEach(function (s) {
        var o = document.createElement("option"); o.value = s.id;
        o.textContent = s.name + " (v" + s.version + ")"; sel.appendChild(o);
      });
      if (select) sel.value = select;
      return load(sel.value || null);
    }).catch(function (e) { say(e.message); });
  }

  // a station's 15-minute walking area and what the edit changed, as the API answers them
  function showIsochrone(stationId, change) {
    note(W.newly + " " + signed(change.covered) + " " + W.people + " · " + W.cross + " " +
         signed(change.cross_covered));
    if (!stationId) return;
    api("GET", "/scenarios/" + state.id + "/isochrone?station=" + encodeURIComponent(stationId))
      .then(function (fc) {
        isoLayer.clearLayers();
        L.geoJSON(fc, { interactive: false, style: { color: "#e6550d", weight: 2,
                                                     fillOpacity: 0.12 } }).addTo(isoLayer);
      }).catch(function () { /* the numbers stand without the outline */ });
  }

  // edits go one after another, each under the version the previous one answered
  state.queue = Promise.resolve();
  function edit(body, focus) {
    if (!state.id) return Promise.resolve();
    state.queue = state.queue.then(function () {
      say("…");
      return api("POST", "/scenarios/" + state.id + "/edits", body, { "If-Match": state.etag })
        .then(function (a) { return api("GET", "/scenarios/" + state.id).then(function (s) {
          drawStations(s.stations); showEdits(s.edits); showAnswer(a); say("");
          isoLayer.clearLayers();
          var shown = focus || (body.op === "add" ? body.station.id : null);
          showIsochrone(shown, a.this_edit);
          var opt = $("scenario").selectedOptions[0];
          if (opt) opt.textContent = s.name + " (v" + s.version + ")"; }); })
        .catch(function (e) { say(e.message); return load(state.id); });
    });
    return state.queue;
  }

  map.on("click", function (e) {
    if (!state.id) { note(W.none); return; }
    var name = window.prompt(W.add_name, "");
    if (!name) return;
    var id = "P" + Date.now().toString(36).toUpperCase();
    edit({ op: "add", station: { id: id, name: name, lon: e.latlng.lng, lat: e.latlng.lat } });
  });
  $("signin").onclick = function () {
    state.token = $("token").value.trim(); sessionStorage.setItem("c15-token", state.token);
    start();
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
    if (!state.id || !window.confirm(W.adopt + "?")) return;
    api("POST", "/scenarios/" + state.id + "/adopt", undefined, { "If-Match": state.etag })
      .then(function () { return register(); }).then(function () { return load(state.id); })
      .catch(function (e) { say(e.message); });
  };
  $("suggest").onclick = function () {
    if (!state.id) return;
    say("…");
    note("");
    api("POST", "/scenarios/" + state.id + "/suggest?k=5").then(function (r) {
      siteLayer.clearLayers(); state.sites = r.sites;
      r.sites.forEach(function (s) {
        var icon = L.divIcon({ className: "c15-site", html: String(s.rank), iconSize: [22, 22] });
        var m = L.marker([s.lat, s.lon], { icon: icon, zIndexOffset: 1000 });
        m.bindTooltip("#" + s.rank + " +" + fmt(s.marginal_gain) + " " + W.people +
                      "<br>" + W.take);
        m.on("click", function (e) {
          // the other suggestions' gains were for the scenario before this one: gone
          L.DomEvent.stopPropagation(e); siteLayer.clearLayers();
          edit({ op: "add", station: { id: "S" + s.rank + "-" + Date.now().toString(36).toUpperCase(),
                                       name: W.site + " " + s.rank, lon: s.lon, lat: s.lat } });
        });
        m.addTo(siteLayer);
      });
      say("");
    }).catch(function (e) { say(e.message); });
  };

  // compare 2-4 scenarios: the API's table, and a small map each of where they differ
  // from the register (added green, removed red)
  $("compare").onclick = function () {
    var box = $("picker"); box.innerHTML = "";
    var all = state.scenarios || [], at = 0;
    all.forEach(function (s, i) { if (s.id === state.id) at = i; });
    var other = at > 0 ? at - 1 : at + 1;  // the current scenario and its neighbour
    all.forEach(function (s, i) {
      var lab = document.createElement("label");
      lab.innerHTML = '<input type="checkbox" value="' + esc(s.id) + '"' +
        (i === at || i === other ? " checked" : "") + "> " + esc(s.name);
      box.appendChild(lab);
    });
    $("cmp").hidden = false;
  };
  $("cmp-close").onclick = function () { $("cmp").hidden = true; };
  $("cmp-go").onclick = function () {
    var ids = Array.prototype.map.call(
      document.querySelectorAll("#picker input:checked"), function (c) { return c.value; });
    if (ids.length < 2 || ids.length > 4) { $("cmp-msg").textContent = W.pick; return; }
    $("cmp-msg").textContent = "…";
    api("GET", "/scenarios/compare?ids=" + ids.join(",")).then(function (r) {
      $("cmp-msg").textContent = "";
      var t = $("cmp-table"); t.innerHTML = "";
      var head = "<tr><th></th>" + r.scenarios.map(function (s) {
        return "<th>" + esc(s.name) + "</th>"; }).join("") + "</tr>";
      var row = function (label, key, change) {
        return "<tr><td>" + label + "</td>" + r.scenarios.map(function (s) {
          return "<td>" + fmt(s[key]) + (change ? " " + signed(s[change]) : "") + "</td>";
        }).join("") + "</tr>";
      };
      var body = row(W.stations, "stations", "stations_change") +
        row(W.covered, "covered", "covered_change") +
        row(W.cross, "cross_covered", "cross_covered_change");
      // towns where the scenarios differ most first, each with its change
      var spread = function (a) {
        var v = r.scenarios.map(function (s) { return a[s.id + "_covered"]; });
        return Math.max.apply(null, v) - Math.min.apply(null, v); };
      (r.areas || []).slice().sort(function (x, y) { return spread(y) - spread(x); })
        .forEach(function (a) {
          body += "<tr class='town" + (spread(a) > 0 ? " differs" : "") + "'><td>" +
            esc(a.name) + "</td>" + r.scenarios.map(function (s) {
              var c = a[s.id + "_covered_change"];
              return "<td>" + fmt(a[s.id + "_covered"]) + (c ? " " + signed(c) : "") + "</td>";
            }).join("") + "</tr>";
        });
      t.innerHTML = head + body;
      $("cmp-dl").href = "/scenarios/compare?format=xlsx&ids=" + ids.join(",");
      return Promise.all(ids.map(function (id) { return api("GET", "/scenarios/" + id); }));
    }).then(function (scs) {
      if (!scs) return;
      var maps = $("cmp-maps"), minis = []; maps.innerHTML = "";
      scs.forEach(function (s) {
        var wrap = document.createElement("div"); wrap.className = "mini";
        var title = document.createElement("div"); title.textContent = s.name;
        var div = document.createElement("div"); div.className = "minimap";
        wrap.appendChild(title); wrap.appendChild(div); maps.appendChild(wrap);
        var m = L.map(div, { zoomControl: false, attributionControl: false,
                             preferCanvas: true });
        var all = s.stations.features.map(ll);
        if (all.length) m.fitBounds(all, { padding: [6, 6] });
        else m.setView(map.getCenter(), map.getZoom() - 2);
        minis.push([m, all]);
        if (state.areas) L.geoJSON(state.areas, { style: { color: "#777", weight: 1,
                                                           fillOpacity: 0 } }).addTo(m);
        var ids = {};
        s.stations.features.forEach(function (f) {
          ids[f.properties.id] = true;
          var was = state.register[f.properties.id], added = !was;
          var moved = was && (Math.abs(ll(was)[0] - ll(f)[0]) > 1e-5 ||
                              Math.abs(ll(was)[1] - ll(f)[1]) > 1e-5);
          var kind = added ? "#1a7f37" : moved ? "#e6550d" : null;
          // unchanged stations faint, so that the few differences stand out
          L.circleMarker(ll(f), kind ? { radius: 6, weight: 1, color: kind, fillOpacity: 0.9 }
                                     : { radius: 1.5, weight: 0, fillColor: "#08519c",
                                         fillOpacity: 0.35 }).addTo(m);
        });
        Object.keys(state.register).forEach(function (id) {
          if (ids[id]) return;
          L.circleMarker(ll(state.register[id]), { radius: 6, color: "#b42318", weight: 2,
                                                   fillOpacity: 0 }).addTo(m);
        });
      });
      // sized once all are laid out (the first was sized alone, then squeezed)
      state.minimaps = maps.querySelectorAll(".minimap");
      setTimeout(function () { minis.forEach(function (x) {
        x[0].invalidateSize(); if (x[1].length) x[0].fitBounds(x[1], { padding: [6, 6] }); });
      }, 0);
    }).catch(function (e) { $("cmp-msg").textContent = e.message; });
  };

  function register() {
    return api("GET", "/stations").then(function (fc) {
      state.register = {};
      fc.features.forEach(function (f) { state.register[f.properties.id] = f; });
      // before any scenario: the register's stations, the district framed on them
      if (!state.id) drawStations(fc);
    });
  }
  if (!data.tiles) {
    api("GET", "/maps/streets.json").then(drawStreets).catch(function () { /* none */ });
  }
  var labelLayer = L.layerGroup().addTo(map);
  function start() {
    return register().then(function () {
      return api("GET", "/coverage/areas?format=geojson").then(function (fc) {
        state.areas = fc; areaLayer.clearLayers(); areaLayer.addData(fc);
        shadeAreas([]);
        labelLayer.clearLayers();
        areaLayer.eachLayer(function (l) {  // town names, above the stations, not in the way
          L.marker(l.getBounds().getCenter(), { pane: "labels", interactive: false,
            keyboard: false, icon: L.divIcon({ className: "town-label", iconSize: null,
              html: "<span>" + esc(l.feature.properties.name) + "</span>" }) })
            .addTo(labelLayer);
        });
      }).catch(function () { /* no towns configured: no shading */ });
    }).then(function () { return list(); }).catch(function (e) { say(e.message); });
  }
  $("token").value = state.token;
  start();
})();
