// Bar charts of the 三率 on the statistics page. The numbers come from the page's JSON (json_script); the tables
// next to the charts hold the same figures for readers without JavaScript or a screen.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("stats-charts");
    if (!source || typeof echarts === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = data[el.getAttribute("data-chart")];
      if (!chart || !chart.labels.length) {
        el.hidden = true;
        return;
      }
      var instance = echarts.init(el, null, { renderer: "svg" });
      instance.setOption({
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + "%"; } },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 36, bottom: 24, containLabel: true },
        xAxis: { type: "category", data: chart.labels, axisLabel: { interval: 0, rotate: chart.labels.length > 6 ? 30 : 0 } },
        yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
        series: chart.series.map(function (s) { return { name: s.name, type: "bar", data: s.data }; })
      });
      window.addEventListener("resize", function () { instance.resize(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
