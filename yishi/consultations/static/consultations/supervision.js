// Bar charts of the failure counts (议而不决、决而不行、行而不久) per level and per room. The numbers come from the
// page's JSON (json_script); the tables beside the charts hold the same figures for readers without JavaScript.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("failure-charts");
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = data[el.getAttribute("data-chart")];
      if (!chart || !chart.labels.length) { el.hidden = true; return; }
      var instance = echarts.init(el, null, { renderer: "svg" });
      instance.setOption({
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 36, bottom: 24, containLabel: true },
        xAxis: { type: "category", data: chart.labels, axisLabel: { interval: 0, rotate: chart.labels.length > 5 ? 30 : 0 } },
        yAxis: { type: "value", minInterval: 1 },
        series: chart.series.map(function (s) { return { name: s.name, type: "bar", stack: "failures", data: s.data }; })
      });
      window.addEventListener("resize", function () { instance.resize(); });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
