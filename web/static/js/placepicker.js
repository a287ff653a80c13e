/* The small map of the site form: a click fills longitude/latitude (as WGS-84), typed
   coordinates (WGS-84, GCJ-02 or BD-09) move the marker.  The form works without it:
   the server converts the typed coordinates.  Gaode basemaps are drawn in GCJ-02, so
   positions are shifted for display there and shifted back when clicked (chinacrs.js). */
(function () {
  "use strict";
  var box = document.getElementById("placepicker"), L = window.L, C = window.ChinaCRS;
  if (!box || !L || !C) return;
  var cfg = JSON.parse(box.getAttribute("data-config"));
  var lonInput = document.getElementById("lon"), latInput = document.getElementById("lat");
  var crsInput = document.getElementById("crs");
  var gcj = false;  // is the basemap shown in GCJ-02?
  var point = null;  // the chosen position, WGS-84 [lon, lat]

  function bd09ToGcj02(lon, lat) {  // Baidu's published inverse
    var x = lon - 0.0065, y = lat - 0.006, k = Math.PI * 3000 / 180;
    var z = Math.sqrt(x * x + y * y) - 0.00002 * Math.sin(y * k);
    var t = Math.atan2(y, x) - 0.000003 * Math.cos(x * k);
    return [z * Math.cos(t), z * Math.sin(t)];
  }
  function toWgs84(lon, lat, crs) {
    if (crs === "GCJ-02") return C.gcj02ToWgs84(lon, lat);
    if (crs === "BD-09") { var g = bd09ToGcj02(lon, lat); return C.gcj02ToWgs84(g[0], g[1]); }
    return [lon, lat];
  }
  function shown(lon, lat) { return gcj ? C.wgs84ToGcj02(lon, lat) : [lon, lat]; }
  function latLng(lonLat) { var p = shown(lonLat[0], lonLat[1]); return L.latLng(p[1], p[0]); }

  var map = L.map(box, { center: latLng(cfg.center), zoom: cfg.zoom, scrollWheelZoom: false });
  var layers = {}, first = null;
  cfg.basemaps.forEach(function (b) {
    var layer = L.tileLayer(b.url, { attribution: b.attribution, subdomains: b.subdomains, maxZoom: b.maxZoom });
    layer.gcj02 = b.gcj02;
    layers[b.name] = layer;
    first = first || layer;
  });
  if (first) { gcj = first.gcj02; first.addTo(map); map.setView(latLng(cfg.center), cfg.zoom); }
  if (cfg.basemaps.length > 1) L.control.layers(layers, {}, { collapsed: true }).addTo(map);

  var outline = null;
  function drawOutline() {
    if (outline) outline.remove();
    if (!cfg.outline) return;
    outline = L.geoJSON(cfg.outline, { coordsToLatLng: function (c) { return latLng(c); },
      style: { color: "#b2182b", weight: 2, fillOpacity: 0.1 }, interactive: false }).addTo(map);
  }
  var marker = L.circleMarker([0, 0], { radius: 9, color: "#b2182b", weight: 3, fillOpacity: 0.4 });
  function drawMarker() {
    if (!point) { marker.remove(); return; }
    marker.setLatLng(latLng(point));
    if (!map.hasLayer(marker)) marker.addTo(map);
  }
  function fromInputs() {
    var lon = parseFloat(lonInput.value), lat = parseFloat(latInput.value);
    point = isFinite(lon) && isFinite(lat) ? toWgs84(lon, lat, crsInput.value) : null;
    drawMarker();
  }

  map.on("baselayerchange", function (e) {
    gcj = !!e.layer.gcj02;
    drawOutline();
    drawMarker();
  });
  map.on("click", function (e) {
    var p = gcj ? C.gcj02ToWgs84(e.latlng.lng, e.latlng.lat) : [e.latlng.lng, e.latlng.lat];
    point = p;
    lonInput.value = p[0].toFixed(7);
    latInput.value = p[1].toFixed(7);
    crsInput.value = "WGS-84";
    drawMarker();
    box.dataset.picked = "1";  // for tests: a click has filled the coordinates
  });
  [lonInput, latInput, crsInput].forEach(function (el) {
    el.addEventListener("change", function () { fromInputs(); if (point) map.panTo(latLng(point)); });
  });
  drawOutline();
  fromInputs();
  window.PLACEPICKER = map;
})();
