/* Appeals pages: small enhancements on top of forms that work without JavaScript.
   - a live character count under the appeal text;
   - "use my location" (navigator.geolocation) filling the hidden coordinates;
   - anonymous appeals hide the contact fields.
   Action forms that show their errors after an HTMX post are core/yishi.js's (every page). */
(function () {
  "use strict";

  var lang = (document.documentElement.lang || "zh-Hans").toLowerCase();
  var en = lang.indexOf("en") === 0;
  var t = {
    count: en ? function (n, max) { return n + " / " + max + " characters"; } : function (n, max) { return "已输入 " + n + " / " + max + " 字"; },
    left: en ? function (n) { return n + " characters left"; } : function (n) { return "还可以输入 " + n + " 字"; },
    full: en ? "Character limit reached" : "已达到字数上限",
    locating: en ? "Finding your location…" : "正在获取位置……",
    located: en ? function (lat, lng) { return "Location found: " + lat + ", " + lng; } : function (lat, lng) { return "已获取位置：" + lat + ", " + lng; },
    denied: en ? "Could not get your location. You can still choose the community and type the address." : "无法获取位置。您仍可以选择社区并填写地址。",
    cleared: en ? "Location cleared" : "已清除位置"
  };

  function initCounters(root) {
    root.querySelectorAll("[data-count-for]").forEach(function (out) {
      var area = document.getElementById(out.getAttribute("data-count-for"));
      if (!area || out.dataset.ready) { return; }
      out.dataset.ready = "1";
      var max = parseInt(area.getAttribute("maxlength"), 10) || 0;
      var live = document.createElement("span");
      live.className = "visually-hidden";
      live.setAttribute("aria-live", "polite");
      out.hidden = false;
      out.setAttribute("aria-hidden", "true");
      out.parentNode.insertBefore(live, out.nextSibling);
      var lastBand = null;
      function update() {
        var n = area.value.length;
        out.textContent = t.count(n, max);
        out.classList.toggle("near", max && n >= max * 0.9);
        // Announce only when crossing into the last 10 % or reaching the limit, not on every keystroke.
        var band = !max ? 0 : (n >= max ? 2 : (n >= max * 0.9 ? 1 : 0));
        if (band !== lastBand && lastBand !== null) {
          live.textContent = band === 2 ? t.full : (band === 1 ? t.left(max - n) : "");
        }
        lastBand = band;
      }
      area.addEventListener("input", update);
      update();
    });
  }

  function initLocate(root) {
    root.querySelectorAll("[data-locate]").forEach(function (box) {
      if (box.dataset.ready) { return; }
      box.dataset.ready = "1";
      var button = box.querySelector("[data-locate-button]");
      var clear = box.querySelector("[data-locate-clear]");
      var status = box.querySelector("[data-locate-status]");
      var lat = box.querySelector("input[name$='latitude']");
      var lng = box.querySelector("input[name$='longitude']");
      if (!button || !lat || !lng || !("geolocation" in navigator)) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        status.textContent = t.locating;
        button.disabled = true;
        navigator.geolocation.getCurrentPosition(function (pos) {
          lat.value = pos.coords.latitude.toFixed(6);
          lng.value = pos.coords.longitude.toFixed(6);
          status.textContent = t.located(lat.value, lng.value);
          button.disabled = false;
          if (clear) { clear.hidden = false; }
        }, function () {
          status.textContent = t.denied;
          button.disabled = false;
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
      if (clear) {
        clear.addEventListener("click", function () {
          lat.value = "";
          lng.value = "";
          status.textContent = t.cleared;
          clear.hidden = true;
          button.focus();
        });
      }
    });
  }

  function initAnonymous(root) {
    var box = root.querySelector("input[name='anonymous']");
    var contact = root.querySelector("[data-contact-fields]");
    var consent = root.querySelector("input[name='consent_contact']");
    if (!box || box.dataset.ready) { return; }
    box.dataset.ready = "1";
    function sync() {
      if (contact) { contact.hidden = box.checked; }
      if (consent) {
        consent.disabled = box.checked;
        if (box.checked) { consent.checked = false; }
      }
    }
    box.addEventListener("change", sync);
    sync();
  }

  function init(root) {
    initCounters(root);
    initLocate(root);
    initAnonymous(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });

  document.addEventListener("htmx:afterSettle", function () { init(document); });
})();
