/* The map on /places, drawn only when the city set a tile server (the page then holds
   #places-map). Markers come from /places.json with the page's own filters, clustered;
   every text is put in with textContent, never as HTML. */
(function () {
  "use strict";

  var element = document.getElementById("places-map");
  if (!element || !window.L) {
    return;
  }
  var language = document.documentElement.lang || "en";

  function escapeText(text) {
    var box = document.createElement("span");
    box.textContent = text;
    return box.innerHTML;
  }

  function localised(properties, name) {
    var translated = (properties.translations || {})[language];
    return (translated && translated[name]) || properties[name] || "";
  }

  function popup(feature) {
    var properties = feature.properties;
    var box = document.createElement("div");
    var title = document.createElement("a");
    title.href = element.dataset.placeBase + "/" + encodeURIComponent(properties.ref);
    title.textContent = localised(properties, "name");
    var heading = document.createElement("p");
    heading.appendChild(title);
    box.appendChild(heading);
    var benefit = localised(properties, "benefit");
    if (benefit) {
      var line = document.createElement("p");
      line.textContent = benefit;
      box.appendChild(line);
    }
    return box;
  }

  var map = L.map(element, { scrollWheelZoom: false, attributionControl: false });
  // Leaflet puts attributions in as HTML: the city's text goes in escaped.
  L.control.attribution({ prefix: false }).addTo(map);
  L.tileLayer(element.dataset.tiles, {
    attribution: escapeText(element.dataset.attribution),
    maxZoom: 19,
    // Tile servers may ask which site uses them; they get the origin, nothing more.
    referrerPolicy: "strict-origin",
  }).addTo(map);
  map.setView([0, 0], 1);

  var cluster = L.markerClusterGroup({ showCoverageOnHover: false });
  map.addLayer(cluster);

  fetch(element.dataset.geojson, { headers: { Accept: "application/geo+json" } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("places " + response.status);
      }
      return response.json();
    })
    .then(function (collection) {
      var markers = [];
      collection.features.forEach(function (feature) {
        if (!feature.geometry) {
          return; // a place without a position is in the list, not on the map
        }
        var position = feature.geometry.coordinates; // [longitude, latitude]
        var marker = L.marker([position[1], position[0]], {
          title: localised(feature.properties, "name"),
          alt: localised(feature.properties, "name"),
          keyboard: true,
        });
        marker.bindPopup(popup(feature));
        markers.push(marker);
      });
      cluster.addLayers(markers);
      if (markers.length) {
        map.fitBounds(cluster.getBounds(), { padding: [24, 24], maxZoom: 16 });
      }
      element.dataset.markers = String(markers.length);
    })
    .catch(function () {
      element.hidden = true; // the list below says everything the map would
    });
})();
