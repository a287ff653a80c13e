/* The planners' map: loads the sites of the current view and filters from the
   query API and draws them.  The filter state lives in the URL (a link reproduces
   the view; back and forward work).  Every value from data is escaped. */
(function () {
  "use strict";
  var cfg = window.SITEMAP, T = cfg.i18n, L = window.L;
  var map = cfg.mapRef, control = cfg.controlRef;  // folium declares the control with let: passed in by the page
  var form = document.getElementById("filters");
  var gcj = false;  // is a GCJ-02 basemap shown? then our WGS-84 data is shifted for display

  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  var numbers = new Intl.NumberFormat(cfg.lang === "zh" ? "zh-CN" : "en", { maximumFractionDigits: 0 });
  function fmtArea(v) { return v === null || v === undefined ? "—" : numbers.format(v) + " m²"; }
  function fmtPct(v) { return v === null || v === undefined ? T.unknown : (v * 100).toFixed(1) + "%"; }
  function color(v) {
    if (v === null || v === undefined) return "#9e9e9e";
    return v < 0.1 ? "#1a9641" : v < 0.3 ? "#a6d96a" : v < 0.5 ? "#fdae61" : v < 0.75 ? "#f46d43" : "#a50026";
  }
  function radius(idle) { return Math.min(26, 6 + Math.sqrt(idle || 0) / 8); }
  function show(lon, lat) { return gcj ? ChinaCRS.wgs84ToGcj02(lon, lat) : [lon, lat]; }
  function unshow(lon, lat) { return gcj ? ChinaCRS.gcj02ToWgs84(lon, lat) : [lon, lat]; }
  function label(field, value) { return (cfg.enums[field] && cfg.enums[field][value]) || value; }

  // ---- layers: a cluster per status, areas as shapes, districts, heatmap, historic areas
  var statusLayers = {}, order = Object.keys(cfg.enums.status);
  order.forEach(function (s) {
    statusLayers[s] = L.markerClusterGroup({ disableClusteringAtZoom: 15, chunkedLoading: true,
      showCoverageOnHover: false, maxClusterRadius: 50 }).addTo(map);
    control.addOverlay(statusLayers[s], '<span class="swatch status-' + s + '"></span>' + esc(label("status", s)));
  });
  var areas = L.featureGroup().addTo(map);
  control.addOverlay(areas, esc(T.areas));
  var districts = L.geoJSON(null, { style: function (f) {
    return { color: "#555", weight: 1, fillOpacity: 0.45, fillColor: color(f.properties.vacancy_rate) }; },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(esc(f.properties.name) + ": " + fmtPct(f.properties.vacancy_rate) + " · " +
        fmtArea(f.properties.idle_area_m2));
    } });
  control.addOverlay(districts, esc(T.districts));
  var heat = L.heatLayer([], { radius: 25, blur: 20, maxZoom: 14 });
  control.addOverlay(heat, esc(T.heat));
  var historic = L.layerGroup();
  control.addOverlay(historic, esc(T.historic));
  // ---- freshness: the age of each site's latest survey; out-of-date ones outlined on request
  var S = cfg.lang === "zh" ?
    { highlight: "突出显示过期数据（超过 {n} 天未调查）", age: "{n} 天前", never: "从未调查", stale: "数据过期" } :
    { highlight: "Highlight out-of-date records (older than {n} days)", age: "{n} days ago", never: "never surveyed",
      stale: "out of date" };
  var STALE_COLOR = "#e7298a";
  var highlightStale = new URLSearchParams(location.search).get("stale") === "1", lastDrawn = null;
  function ageDays(d) {  // whole days from a YYYY-MM-DD date to today
    if (!d) return null;
    var p = String(d).split("-").map(Number), now = new Date();
    return Math.round((Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()) - Date.UTC(p[0], p[1] - 1, p[2])) / 864e5);
  }
  function isStale(p) { var a = ageDays(p.survey_date); return a === null || a > cfg.staleAfterDays; }
  var staleControl = L.control({ position: "topright" });
  staleControl.onAdd = function () {
    var div = L.DomUtil.create("div", "leaflet-bar stale-control");
    div.style.cssText = "background:#fff;padding:4px 8px;font-size:12px";
    div.innerHTML = '<label style="margin:0;cursor:pointer"><input type="checkbox" id="highlight-stale"> ' +
      esc(S.highlight.replace("{n}", cfg.staleAfterDays)) + "</label>";
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  staleControl.addTo(map);
  var staleBox = document.getElementById("highlight-stale"), staleKey = document.createElement("div");
  staleKey.id = "stale-key";
  staleKey.innerHTML = '<i style="background:transparent;border:3px solid ' + STALE_COLOR + '"></i>' +
    esc(S.stale + " (> " + cfg.staleAfterDays + ")");
  staleBox.checked = highlightStale;
  function showStaleKey() {
    var legend = document.getElementById("legend");
    if (highlightStale && legend && !staleKey.parentNode) legend.insertBefore(staleKey, legend.querySelector("small"));
    if (!highlightStale && staleKey.parentNode) staleKey.parentNode.removeChild(staleKey);
  }
  staleBox.addEventListener("change", function () {
    highlightStale = staleBox.checked;
    showStaleKey(); pushState();
    if (lastDrawn) draw(lastDrawn);
  });
  showStaleKey();
  var markers = {};  // site id -> layer, for the results list
  var openId = null;  // the site whose popup is open: reopened after a reload redraws the markers

  // ---- filters <-> URL
  function params() {
    var p = new URLSearchParams();
    new FormData(form).forEach(function (v, k) { if (v !== "" && cfg.filterNames.indexOf(k) >= 0) p.append(k, v); });
    // statuses are several checkboxes: one comma-separated value
    var statuses = p.getAll("status");
    p.delete("status");
    if (statuses.length) p.set("status", statuses.join(","));
    return p;
  }
  function fillForm(p) {
    form.reset();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) return;
      var v = p.get(el.name);
      if (el.type === "checkbox") {
        el.checked = v !== null && (el.name === "status" ? v.split(",").indexOf(el.value) >= 0 : v === el.value);
      } else if (v !== null) { el.value = v; }
    });
    if (!p.get("city") && !p.has("city")) document.getElementById("city-switch").value = cfg.cities[0].name;
    document.getElementById("shape-note").hidden = !(p.get("within") || p.get("near"));
  }
  function pageParams() {
    var u = new URLSearchParams(location.search), out = new URLSearchParams();
    ["lang", "f"].forEach(function (k) { if (u.get(k)) out.set(k, u.get(k)); });
    if (highlightStale) out.set("stale", "1");
    return out;
  }
  function pushState() {
    var p = params(), page = pageParams();
    page.forEach(function (v, k) { p.set(k, v); });
    var c = map.getCenter(), w = unshow(c.lng, c.lat);
    p.set("view", [w[1].toFixed(5), w[0].toFixed(5), map.getZoom()].join(","));
    history.pushState(null, "", "?" + p.toString());
  }

  // ---- loading
  var pending = null, seq = 0;
  function viewBbox() {
    var b = map.getBounds(), sw = unshow(b.getWest(), b.getSouth()), ne = unshow(b.getEast(), b.getNorth());
    var clamp = function (v, lo, hi) { return Math.max(lo, Math.min(hi, v)); };
    return [clamp(sw[0], -180, 180), clamp(sw[1], -90, 90), clamp(ne[0], -180, 180), clamp(ne[1], -90, 90)]
      .map(function (v) { return v.toFixed(6); }).join(",");
  }
  // what the markers, popups and list show: a smaller response than every property
  var SHOWN = ["name_zh", "name_en", "address_zh", "former_use", "current_use", "heritage_grade", "status",
               "vacancy_rate", "idle_area_m2", "occupied_area_m2", "survey_date", "occupancy_data_status",
               "data_status", "location_precision", "city", "district", "in_historic_area"].join(",");
  var FIRST = 300;  // the largest idle areas in view come first, the rest right after

  function request(p, limit, signal) {
    var q = new URLSearchParams(p);
    q.set("bbox", viewBbox());
    q.set("limit", limit);
    q.set("properties", SHOWN);
    if (!q.get("sortby")) q.set("sortby", "-idle_area_m2");
    return fetch("/collections/sites/items?" + q.toString(), { headers: { Accept: "application/geo+json" },
                                                              signal: signal })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); });
  }
  function load() {
    var mine = ++seq, p = params();
    if (pending) pending.abort();
    pending = new AbortController();
    var signal = pending.signal;
    var shown = function (res) {
      if (mine !== seq) return false;
      if (!res.ok) { notice(T.error + ": " + res.body.description); return false; }
      draw(res.body);
      return true;
    };
    var failed = function (e) { if (e.name !== "AbortError") notice(T.error); };
    var first = Math.min(FIRST, cfg.maxFeatures);
    request(p, first, signal).then(function (res) {
      if (shown(res) && res.body.numberMatched > first) {
        return request(p, cfg.maxFeatures, signal).then(shown);
      }
    }).catch(failed);
    loadDistricts(p);
  }
  function notice(text) { document.getElementById("notice").textContent = text || ""; }

  function popup(f) {
    var p = f.properties, idle = p.idle_area_m2, occ = p.occupied_area_m2, total = (idle || 0) + (occ || 0);
    var bar = total > 0 ? '<div class="occbar"><span class="leased" style="width:' + (100 * occ / total).toFixed(1) +
      '%"></span></div><div class="occlegend">' + esc(T.leased) + " " + fmtArea(occ) + " · " + esc(T.idle) + " " +
      fmtArea(idle) + "</div>" : "";
    var precise = p.location_precision === "surveyed" || p.location_precision === "building";
    var age = ageDays(p.survey_date);
    return '<div class="popup"><h3>' + esc(p.name_zh) + "</h3>" + (p.name_en ? "<h4>" + esc(p.name_en) + "</h4>" : "") +
      "<dl><dt>" + esc(T.address) + "</dt><dd>" + esc(p.address_zh || "—") + "</dd>" +
      "<dt>" + esc(T.former) + " → " + esc(T.current) + "</dt><dd>" + esc(p.former_use || "—") + " → " + esc(p.current_use || "—") + "</dd>" +
      "<dt>" + esc(T.heritage) + "</dt><dd>" + esc(label("heritage_grade", p.heritage_grade) || "—") + "</dd>" +
      "<dt>" + esc(T.status) + "</dt><dd>" + esc(label("status", p.status)) + "</dd>" +
      "<dt>" + esc(T.vacancy) + "</dt><dd>" + fmtPct(p.vacancy_rate) + "</dd></dl>" + bar +
      '<p class="meta">' + esc(T.survey) + " " + esc(p.survey_date || "—") + ' <span class="survey-age">(' +
      esc(age === null ? S.never : S.age.replace("{n}", age)) + ")</span>" +
      (isStale(p) ? ' <b class="stale-note" style="color:' + STALE_COLOR + '">' + esc(S.stale) + "</b>" : "") +
      " · " + esc(T.data) + " " +
      esc(label("data_status", p.occupancy_data_status || p.data_status)) +
      (precise ? "" : " · " + esc(T.approx) + " (" + esc(label("location_precision", p.location_precision)) + ")") +
      '</p><a class="details" href="/sites/' + encodeURIComponent(f.id) + '">' + esc(T.details) + " →</a></div>";
  }

  function shift(geometry) {
    function ring(r) { return r.map(function (c) { return show(c[0], c[1]); }); }
    if (geometry.type === "Polygon") return { type: "Polygon", coordinates: geometry.coordinates.map(ring) };
    if (geometry.type === "MultiPolygon") {
      return { type: "MultiPolygon", coordinates: geometry.coordinates.map(function (p) { return p.map(ring); }) };
    }
    return { type: "Point", coordinates: show(geometry.coordinates[0], geometry.coordinates[1]) };
  }

  var redrawing = false;
  function draw(fc) {
    redrawing = true;
    lastDrawn = fc;
    var byStatus = {};
    order.forEach(function (s) { statusLayers[s].clearLayers(); byStatus[s] = []; });
    areas.clearLayers(); historic.clearLayers(); markers = {};
    var heatPoints = [], list = document.getElementById("results");
    list.innerHTML = "";
    fc.features.forEach(function (f) {
      var p = f.properties, g = shift(f.geometry), layer;
      var approx = p.location_precision === "district" || p.location_precision === "street";
      var stale = highlightStale && isStale(p);  // outlined in its own colour, solid and thick
      if (g.type === "Point") {
        var ll = [g.coordinates[1], g.coordinates[0]];
        layer = L.circleMarker(ll, { radius: radius(p.idle_area_m2),
          color: stale ? STALE_COLOR : approx ? color(p.vacancy_rate) : "#333",
          weight: stale ? 4 : approx ? 3 : 1, dashArray: approx && !stale ? "3 3" : null, fillColor: color(p.vacancy_rate),
          fillOpacity: approx ? 0.25 : 0.85, className: stale ? "site-marker stale-marker" : "site-marker" });
        (byStatus[p.status] || byStatus[order[0]]).push(layer);  // added per status in bulk below
        if (p.idle_area_m2) heatPoints.push([ll[0], ll[1], Math.sqrt(p.idle_area_m2)]);
        if (p.in_historic_area) L.circleMarker(ll, { radius: radius(p.idle_area_m2) + 5, color: "#6a3d9a",
          weight: 2, fill: false }).addTo(historic);
      } else {
        layer = L.geoJSON(g, { style: { color: stale ? STALE_COLOR : color(p.vacancy_rate), weight: stale ? 4 : 2,
          dashArray: stale ? null : "6 4", fillOpacity: 0.08, className: stale ? "stale-marker" : "" } });
        layer.addTo(areas);
      }
      layer.bindPopup(function () { return popup(f); }, { maxWidth: 340 });  // built when opened
      layer.on("popupopen", function () { openId = f.id; });
      layer.on("popupclose", function () { if (openId === f.id && !redrawing) openId = null; });
      layer.bindTooltip(esc(p.name_zh));
      markers[f.id] = layer;
      var li = document.createElement("li");
      li.innerHTML = '<a href="#" data-id="' + esc(f.id) + '"><b>' + esc(p.name_zh) + "</b></a> <span>" +
        fmtPct(p.vacancy_rate) + " · " + fmtArea(p.idle_area_m2) + "</span><br><small>" + esc(p.city) + " " +
        esc(p.district || "") + " · " + esc(label("status", p.status)) + "</small>";
      list.appendChild(li);
    });
    order.forEach(function (s) { statusLayers[s].addLayers(byStatus[s]); });  // one re-cluster per status
    heat.setLatLngs(heatPoints);
    redrawing = false;
    if (openId && markers[openId]) markers[openId].openPopup();
    var shown = fc.numberReturned, matched = fc.numberMatched;
    document.getElementById("count").textContent = matched + " " + T.sites + " " + T.inView;
    notice(matched === 0 ? T.none : shown < matched ? T.zoomIn.replace("{n}", shown) : "");
    updateExports();
  }

  function loadDistricts(p) {
    if (!map.hasLayer(districts)) return;
    var city = p.get("city") || cfg.cities[0].name;
    var s = new URLSearchParams(p); s.delete("sortby");
    Promise.all([
      fetch("/collections/districts/items?limit=200&city=" + encodeURIComponent(city)).then(function (r) { return r.json(); }),
      fetch("/vacancy/summary?" + s.toString()).then(function (r) { return r.json(); })
    ]).then(function (res) {
      var rows = {};
      (res[1].rows || []).forEach(function (r) { if (r.district) rows[r.city + "/" + r.district] = r; });
      districts.clearLayers();
      res[0].features.forEach(function (f) {
        if (f.properties.level !== "district") return;
        var r = rows[f.properties.city + "/" + f.properties.name] || {};
        f.properties.vacancy_rate = r.vacancy_rate === undefined ? null : r.vacancy_rate;
        f.properties.idle_area_m2 = r.idle_area_m2 === undefined ? null : r.idle_area_m2;
        f.geometry = shift(f.geometry);
        districts.addData(f);
      });
    });
  }

  function updateExports() {
    var p = params();
    document.querySelectorAll(".exports a").forEach(function (a) {
      var q = new URLSearchParams(p); q.set("format", a.dataset.format);
      var lang = pageParams().get("lang"); if (lang) q.set("lang", lang);
      a.href = "/export?" + q.toString();
    });
  }

  // ---- events
  var timer = null;
  function reload() { clearTimeout(timer); timer = setTimeout(load, 150); }
  form.addEventListener("change", function (e) {
    if (e.target.name === "city") {
      var c = cfg.cities.filter(function (x) { return x.name === e.target.value; })[0];
      if (c) { var ll = show(c.center[0], c.center[1]); map.setView([ll[1], ll[0]], 11); }
    }
    pushState(); reload();
  });
  form.addEventListener("input", function (e) { if (e.target.name === "q") { pushState(); reload(); } });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  document.getElementById("reset-filters").addEventListener("click", function () {
    setTimeout(function () { pushState(); reload(); document.getElementById("shape-note").hidden = true; }, 0);
  });
  document.getElementById("candidates").addEventListener("click", function () {
    Object.keys(cfg.candidates).forEach(function (k) {
      if (k === "status") {
        form.querySelectorAll('input[name="status"]').forEach(function (el) {
          el.checked = cfg.candidates.status.split(",").indexOf(el.value) >= 0; });
      } else if (form.elements[k]) { form.elements[k].value = k === "kind" ? "" : cfg.candidates[k]; }
    });
    form.elements.sortby.value = "-idle_area_m2";
    pushState(); reload();
  });
  document.getElementById("clear-shape").addEventListener("click", function (e) {
    e.preventDefault(); form.elements.within.value = ""; form.elements.near.value = ""; form.elements.radius.value = "";
    document.getElementById("shape-note").hidden = true; pushState(); reload();
  });
  document.getElementById("results").addEventListener("click", function (e) {
    var a = e.target.closest("a[data-id]");
    if (!a) return;
    e.preventDefault();
    var layer = markers[a.dataset.id];
    if (!layer) return;
    var target = layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter();
    openId = a.dataset.id;
    map.setView(target, Math.max(map.getZoom(), 16));
    setTimeout(function () { if (markers[openId]) markers[openId].openPopup(); }, 300);
  });
  map.on("moveend", function () {
    var p = new URLSearchParams(location.search), c = map.getCenter(), w = unshow(c.lng, c.lat);
    p.set("view", [w[1].toFixed(5), w[0].toFixed(5), map.getZoom()].join(","));
    history.replaceState(null, "", "?" + p.toString());
    reload();
  });
  map.on("overlayadd", function (e) { if (e.layer === districts) loadDistricts(params()); });
  map.on("baselayerchange", function (e) {
    var was = gcj, c = map.getCenter(), w = unshow(c.lng, c.lat);
    gcj = cfg.basemaps[Object.keys(cfg.basemaps).filter(function (k) { return window[k] === e.layer; })[0]] === "gcj02";
    if (was !== gcj) { var s = show(w[0], w[1]); map.setView([s[1], s[0]], map.getZoom(), { animate: false }); }
    reload();
  });
  map.on(L.Draw.Event.CREATED, function (e) {
    var layer = e.layer;
    if (e.layerType === "circle") {
      var c = layer.getLatLng(), w = unshow(c.lng, c.lat);
      form.elements.near.value = w[0].toFixed(6) + "," + w[1].toFixed(6);
      form.elements.radius.value = Math.round(layer.getRadius());
      form.elements.within.value = "";
    } else {
      var ring = layer.getLatLngs()[0].map(function (ll) { var w = unshow(ll.lng, ll.lat); return [w[0], w[1]]; });
      ring.push(ring[0]);
      form.elements.within.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
      form.elements.near.value = ""; form.elements.radius.value = "";
    }
    document.getElementById("shape-note").hidden = false;
    pushState(); reload();
  });
  window.addEventListener("popstate", function () { fillForm(new URLSearchParams(location.search)); reload(); });

  // ---- start: the URL's filters and view
  var start = new URLSearchParams(location.search);
  fillForm(start);
  var view = (start.get("view") || "").split(",").map(Number);
  // the initial basemap decides whether to shift
  Object.keys(cfg.basemaps).forEach(function (k) { if (map.hasLayer(window[k])) gcj = cfg.basemaps[k] === "gcj02"; });
  if (view.length === 3 && view.every(isFinite)) {
    var s0 = show(view[1], view[0]); map.setView([s0[1], s0[0]], view[2], { animate: false });
  } else if (gcj) {
    var c0 = map.getCenter(), g0 = show(c0.lng, c0.lat); map.setView([g0[1], g0[0]], map.getZoom(), { animate: false });
  }
  window.SITEMAP.reload = load;
  window.SITEMAP.markers = function () { return markers; };
  load();
})();
