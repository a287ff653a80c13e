/* WGS-84 <-> GCJ-02 for drawing our WGS-84 data on Gaode (GCJ-02) basemaps.
   The same published formulas as sites/chinacrs.py (Krasovsky ellipsoid offset);
   the inverse iterates the forward transform.  The stored data never changes. */
(function (global) {
  "use strict";
  var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
  function outOfChina(lon, lat) { return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271; }
  function tLat(x, y) {
    var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    r += (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3;
    r += (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3;
    return r;
  }
  function tLon(x, y) {
    var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    r += (20 * Math.sin(x * PI) + 40 * Math.sin(x / 3 * PI)) * 2 / 3;
    r += (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3;
    return r;
  }
  function toGcj(lon, lat) {
    if (outOfChina(lon, lat)) return [lon, lat];
    var dLat = tLat(lon - 105, lat - 35), dLon = tLon(lon - 105, lat - 35);
    var rad = lat / 180 * PI, magic = Math.sin(rad);
    magic = 1 - EE * magic * magic;
    var s = Math.sqrt(magic);
    dLat = (dLat * 180) / ((A * (1 - EE)) / (magic * s) * PI);
    dLon = (dLon * 180) / (A / s * Math.cos(rad) * PI);
    return [lon + dLon, lat + dLat];
  }
  function toWgs(lon, lat) {
    if (outOfChina(lon, lat)) return [lon, lat];
    var x = lon, y = lat;
    for (var i = 0; i < 20; i++) {
      var g = toGcj(x, y), dx = g[0] - lon, dy = g[1] - lat;
      x -= dx; y -= dy;
      if (Math.abs(dx) < 1e-9 && Math.abs(dy) < 1e-9) break;
    }
    return [x, y];
  }
  global.ChinaCRS = { wgs84ToGcj02: toGcj, gcj02ToWgs84: toWgs };
})(window);
