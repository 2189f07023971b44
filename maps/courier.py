"""The courier page: where is the nearest open station, and how do I walk there?

A light, mobile-friendly page. "Locate me" (browser geolocation) or a tap on
the map picks a position; the page then lists the nearest stations by walking
time, with their amenities and whether they are open now, and draws the
walking route. Filters: an amenity, and open now.

The page carries the walking network (node coordinates and a compact
adjacency list) and walks it itself with Dijkstra's algorithm, so it works as
a single file with no server and no internet. Served by the service, it asks
``/nearest`` instead and carries no network.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
from circle15.geo.layers import AMENITY_ALIASES, Stations
from circle15.geo.network import Network
from circle15.maps.assets import inline_head
from circle15.maps.i18n import LABELS, check_lang, t


def _network_payload(net: Network) -> dict[str, object]:
    csr = net.csr
    return {
        "lon": np.round(net.node_lonlat[:, 0], 6).tolist(),
        "lat": np.round(net.node_lonlat[:, 1], 6).tolist(),
        "indptr": csr.indptr.tolist(),
        "indices": csr.indices.tolist(),
        "length": np.round(csr.data, 1).tolist(),
    }


def _stations_payload(stations: Stations) -> list[dict[str, object]]:
    f = stations.frame
    sn = stations.snapped
    out = []
    for i, rec in enumerate(f.to_dict("records")):
        out.append({
            "id": rec["id"], "name": rec.get("name") or rec["id"],
            "address": rec.get("address", ""), "hours": rec.get("opening_hours", ""),
            "amenities": [a for a in str(rec.get("amenities", "")).split(";") if a],
            "lon": round(float(rec["lon"]), 6), "lat": round(float(rec["lat"]), 6),
            # where the station joins the network: its edge's two ends, metres to each
            "u": int(sn.u[i]), "v": int(sn.v[i]),
            "du": round(float(sn.off_m[i] + sn.to_u_m[i]), 1),
            "dv": round(float(sn.off_m[i] + sn.to_v_m[i]), 1),
        })
    return out


def courier_page(
    net: Network,
    stations: Stations,
    *,
    lang: str = "zh",
    speed_kmh: float = 4.0,
    limit_min: float = 30.0,
    k: int = 3,
    basemap: str = "osm",
    api: str | None = None,
) -> str:
    """The courier page as one HTML string.

    With ``api`` (the service's base URL, ``""`` for the same origin) the page
    asks the service's ``/nearest`` and carries no network (small at any size);
    without it, it carries the network and searches it itself (works offline).
    """
    lang_ = check_lang(lang)
    labels = {key: LABELS[key][lang_] for key in LABELS}
    data = {
        "network": None if api is not None else _network_payload(net),
        "api": api,
        "stations": _stations_payload(stations),
        "speed_m_per_min": speed_kmh * 1000 / 60,
        "limit_m": limit_min * speed_kmh * 1000 / 60,
        "k": k,
        "lang": lang_,
        "basemap": basemap,
        "labels": labels,
        "amenities": list(AMENITY_ALIASES),
    }
    options = "".join(f'<option value="{a}">{html.escape(t(a, lang_))}</option>'
                      for a in AMENITY_ALIASES)
    page = _TEMPLATE
    for key, value in {
        "__LANG__": "zh-CN" if lang_ == "zh" else "en",
        "__TITLE__": html.escape(t("courier_title", lang_)),
        "__HEAD__": inline_head(),
        "__LOCATE__": html.escape(t("locate", lang_)),
        "__ANY__": html.escape(t("any_amenity", lang_)),
        "__OPTIONS__": options,
        "__OPEN_NOW__": html.escape(t("open_now", lang_)),
        "__HINT__": html.escape(t("tap_hint", lang_)),
        "__DATA__": json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace(
            "</", "<\\/"),
        "__SCRIPT__": _SCRIPT,
    }.items():
        page = page.replace(key, value)
    return page


def save_courier_page(page: str, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


_TEMPLATE = """<!DOCTYPE html>
<html lang="__LANG__"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, maximum-scale=1">
<title>__TITLE__</title>
__HEAD__
<style>
html,body{margin:0;height:100%;font:15px/1.4 system-ui,sans-serif}
#map{position:absolute;top:0;left:0;right:0;bottom:42%}
#panel{position:absolute;left:0;right:0;bottom:0;height:42%;overflow:auto;background:#fff;
  box-shadow:0 -2px 6px rgba(0,0,0,.2);padding:8px 10px;box-sizing:border-box}
#bar{display:flex;gap:6px;flex-wrap:wrap;align-items:center;margin-bottom:6px}
#bar button,#bar select{font-size:15px;padding:6px 10px}
#bar label{white-space:nowrap}
.c15-item{border-bottom:1px solid #eee;padding:6px 0;cursor:pointer}
.c15-item b{font-size:16px}.c15-time{float:right;font-weight:bold;color:#08519c}
.c15-open{color:#1a9850}.c15-shut{color:#b2182b}.c15-unknown{color:#888}
.c15-item.sel{background:#eef5ff}
</style></head><body>
<div id="map"></div>
<div id="panel">
  <div id="bar"><button id="locate">__LOCATE__</button>
    <select id="amenity"><option value="">__ANY__</option>__OPTIONS__</select>
    <label><input type="checkbox" id="opennow"> __OPEN_NOW__</label></div>
  <div id="hint">__HINT__</div><div id="list"></div>
</div>
<script>var C15 = __DATA__;</script>
<script>__SCRIPT__</script>
</body></html>
"""

# The page's own JavaScript: opening hours (the subset geo/hours.py reads),
# nearest network node, Dijkstra with a binary heap, the list and the route.
_SCRIPT = r"""
(function(){
var D = C15, N = D.network, L_ = D.labels;
var DAYS = ['Mo','Tu','We','Th','Fr','Sa','Su'];
function parseDays(s){var out=[];var parts=s.split(',');for(var i=0;i<parts.length;i++){
  var p=parts[i];if(p.indexOf('-')>=0){var ab=p.split('-');var a=DAYS.indexOf(ab[0]),b=DAYS.indexOf(ab[1]);
  if(a<0||b<0)return null;for(var d=a;;d=(d+1)%7){out.push(d);if(d===b)break;}}
  else{var j=DAYS.indexOf(p);if(j<0)return null;out.push(j);}}return out;}
function parseSpans(s){var out=[];var parts=s.split(',');for(var i=0;i<parts.length;i++){
  var m=/^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(parts[i].trim());if(!m)return null;
  var h1=+m[1],m1=+m[2],h2=+m[3],m2=+m[4];if(h1>24||h2>24||m1>59||m2>59)return null;
  out.push([h1*60+m1,h2*60+m2]);}return out;}
function parseHours(spec){spec=(spec||'').trim();if(!spec)return null;
  var week=[[],[],[],[],[],[],[]];if(spec==='24/7'){for(var d=0;d<7;d++)week[d]=[[0,1440]];return week;}
  var rules=spec.split(';');for(var r=0;r<rules.length;r++){var rule=rules[r].trim();if(!rule)continue;
    var parts=rule.split(/\s+/),days,times;if(parts.length===1){days=[0,1,2,3,4,5,6];times=parts[0];}
    else if(parts.length===2){days=parseDays(parts[0]);times=parts[1];}else return null;
    if(!days)return null;if(times==='off'){for(var i=0;i<days.length;i++)week[days[i]]=[];continue;}
    var spans=parseSpans(times);if(!spans)return null;for(var i2=0;i2<days.length;i2++)week[days[i2]]=spans.slice();}
  return week;}
function isOpen(spec, when){var w=parseHours(spec);if(!w)return null;
  var day=(when.getDay()+6)%7, min=when.getHours()*60+when.getMinutes(), i, s;
  for(i=0;i<w[day].length;i++){s=w[day][i];if((s[0]<=min&&min<s[1])||(s[1]<=s[0]&&min>=s[0]))return true;}
  var y=w[(day+6)%7];for(i=0;i<y.length;i++){s=y[i];if(s[1]<=s[0]&&min<s[1])return true;}return false;}
function now(){var q=new URLSearchParams(location.search).get('now');return q?new Date(q):new Date();}
// metres between lon/lat points (equirectangular: fine at walking scale)
function dist(lon1,lat1,lon2,lat2){var k=Math.PI/180,x=(lon2-lon1)*k*Math.cos((lat1+lat2)*k/2),y=(lat2-lat1)*k;
  return 6371009*Math.sqrt(x*x+y*y);}
function nearestNode(lon,lat){var best=-1,bd=Infinity;for(var i=0;i<N.lon.length;i++){
  var d=dist(lon,lat,N.lon[i],N.lat[i]);if(d<bd){bd=d;best=i;}}return [best,bd];}
function dijkstra(src, limit){var n=N.lon.length,d=new Float64Array(n).fill(Infinity),pred=new Int32Array(n).fill(-1);
  var heap=[[0,src]];d[src]=0;
  function push(x){heap.push(x);var i=heap.length-1;while(i>0){var p=(i-1)>>1;if(heap[p][0]<=heap[i][0])break;var t=heap[p];heap[p]=heap[i];heap[i]=t;i=p;}}
  function pop(){var top=heap[0],last=heap.pop();if(heap.length){heap[0]=last;var i=0;for(;;){var l=2*i+1,r=l+1,m=i;
    if(l<heap.length&&heap[l][0]<heap[m][0])m=l;if(r<heap.length&&heap[r][0]<heap[m][0])m=r;if(m===i)break;
    var t=heap[m];heap[m]=heap[i];heap[i]=t;i=m;}}return top;}
  while(heap.length){var it=pop(),du=it[0],u=it[1];if(du>d[u])continue;if(du>limit)break;
    for(var j=N.indptr[u];j<N.indptr[u+1];j++){var v=N.indices[j],nd=du+N.length[j];
      if(nd<d[v]){d[v]=nd;pred[v]=u;push([nd,v]);}}}
  return {d:d,pred:pred};}
function query(lat, lon){
  var nn=nearestNode(lon,lat), src=nn[0], off=nn[1];
  var res=dijkstra(src, D.limit_m), out=[];
  for(var i=0;i<D.stations.length;i++){var s=D.stations[i];
    var viaU=res.d[s.u]+s.du, viaV=res.d[s.v]+s.dv, m=off+Math.min(viaU,viaV);
    if(m<=D.limit_m) out.push({i:i, m:m, end:(viaU<=viaV? s.u : s.v)});}
  out.sort(function(a,b){return a.m-b.m;});
  return {src:src, off:off, res:res, found:out};}
function route(q, end){var line=[], v=end;while(v>=0){line.push([N.lat[v],N.lon[v]]);if(v===q.src)break;v=q.res.pred[v];}
  return line.reverse();}
var map=L.map('map',{zoomControl:true}), layer=L.layerGroup().addTo(map);
if(D.basemap==='osm'){L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png',{maxZoom:19,attribution:'&copy; OpenStreetMap contributors'}).addTo(map);}
var byId={}; D.stations.forEach(function(s){byId[s.id]=s;});
var num=function(a,b){return a-b;};
var lats=(N?N.lat:D.stations.map(function(s){return s.lat;})).slice().sort(num);
var lons=(N?N.lon:D.stations.map(function(s){return s.lon;})).slice().sort(num);
map.fitBounds([[lats[0],lons[0]],[lats[lats.length-1],lons[lons.length-1]]]);
L.control.scale({imperial:false}).addTo(map);
for(var i=0;i<D.stations.length;i++){var s=D.stations[i];
  L.circleMarker([s.lat,s.lon],{radius:7,color:'#fff',weight:2,fillColor:'#08519c',fillOpacity:1,className:'c15-station'})
   .bindTooltip(s.name).addTo(map);}
function amenityText(list){return list.map(function(a){return L_[a]||a;}).join(D.lang==='zh'?'、':', ');}
var last=null;
function show(lat, lon){
  last=[lat,lon]; layer.clearLayers();
  var want=document.getElementById('amenity').value, onlyOpen=document.getElementById('opennow').checked;
  L.circleMarker([lat,lon],{radius:8,color:'#b2182b',fillColor:'#b2182b',fillOpacity:.8,className:'c15-me'}).bindTooltip(L_.your_position).addTo(layer);
  if(D.api!==null){  // served by circle15: ask the service
    var url=D.api+'/nearest?lon='+lon+'&lat='+lat+'&k='+D.k+(want?'&amenity='+want:'')+(onlyOpen?'&open_now=true':'');
    return fetch(url).then(function(r){return r.json();}).then(function(j){
      return render((j.stations||[]).map(function(s){return {id:s.id,name:s.name,metres:s.distance_m,open:s.open_now,
        amenities:s.amenities,address:(byId[s.id]||{}).address||'',
        line:s.route.coordinates.map(function(c){return [c[1],c[0]];})};}));});}
  var q=query(lat,lon), when=now(), rows=[];
  for(var j=0;j<q.found.length;j++){var f=q.found[j],s=D.stations[f.i],open=isOpen(s.hours,when);
    if(want&&s.amenities.indexOf(want)<0)continue; if(onlyOpen&&open!==true)continue;
    rows.push({id:s.id,name:s.name,metres:f.m,open:open,amenities:s.amenities,address:s.address,
      line:[[lat,lon]].concat(route(q,f.end)).concat([[s.lat,s.lon]])}); if(rows.length>=D.k)break;}
  return render(rows);}
function render(rows){
  var list=document.getElementById('list'); list.innerHTML=''; document.getElementById('hint').style.display='none';
  if(!rows.length){list.innerHTML='<div class="c15-none">'+L_.none_found+'</div>';return [];}
  rows.forEach(function(r,idx){var mins=r.metres/D.speed_m_per_min, div=document.createElement('div');
    div.className='c15-item'+(idx===0?' sel':''); div.dataset.id=r.id; div.dataset.minutes=mins.toFixed(2);
    var st=r.open===true?'<span class="c15-open">'+L_.open+'</span>':r.open===false?'<span class="c15-shut">'+L_.shut+'</span>':'<span class="c15-unknown">'+L_.hours_unknown+'</span>';
    div.innerHTML='<span class="c15-time">'+mins.toFixed(0)+' '+L_.min+'</span><b>'+r.name+'</b><br>'+
      Math.round(r.metres)+' '+L_.m+' · '+st+'<br><small>'+amenityText(r.amenities)+(r.address?' · '+r.address:'')+'</small>';
    div.onclick=function(){draw(r);Array.prototype.forEach.call(list.children,function(c){c.classList.remove('sel');});div.classList.add('sel');};
    list.appendChild(div);});
  function draw(r){layer.eachLayer(function(l){if(l.options.className==='c15-route')layer.removeLayer(l);});
    var pl=L.polyline(r.line,{color:'#08519c',weight:5,opacity:.8,className:'c15-route'}).addTo(layer);
    if(!map.getBounds().contains(pl.getBounds()))map.fitBounds(pl.getBounds().pad(0.3));}
  draw(rows[0]);
  return rows.map(function(r){return {id:r.id, minutes:r.metres/D.speed_m_per_min, open:r.open};});}
map.on('click',function(e){show(e.latlng.lat,e.latlng.lng);});
document.getElementById('amenity').onchange=document.getElementById('opennow').onchange=function(){if(last)show(last[0],last[1]);};
document.getElementById('locate').onclick=function(){if(!navigator.geolocation)return;
  navigator.geolocation.getCurrentPosition(function(p){map.setView([p.coords.latitude,p.coords.longitude],16);show(p.coords.latitude,p.coords.longitude);});};
window.c15={show:show, isOpen:function(spec,iso){return isOpen(spec,new Date(iso));}};
})();
"""
