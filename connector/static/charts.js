/* The dashboard's charts: each <figure class="chart"> holds its data as JSON in a
   <script type="application/json" class="chart-data"> block (written by the server, escaped)
   and a <canvas>; this draws it with the vendored Chart.js (static/vendor). No inline
   script, no network: the Content-Security-Policy allows only this site's files. */
(function () {
  "use strict";
  var COLOURS = ["#2f6fed", "#e8793a", "#2a9d8f", "#c0398b", "#8a6fdf", "#7a8699"];
  var lang = document.documentElement.lang || "en";

  function formatter(currency, whole) {
    var digits = whole ? { maximumFractionDigits: 0, minimumFractionDigits: 0 } : {};
    try {
      return currency
        ? new Intl.NumberFormat(lang, Object.assign({ style: "currency", currency: currency }, digits))
        : new Intl.NumberFormat(lang, digits);
    } catch (e) {
      return new Intl.NumberFormat(lang);
    }
  }

  function config(spec) {
    var shown = formatter(spec.currency, false);
    var ticks = formatter(spec.currency, true);
    var valueAxis = {
      stacked: spec.stacked,
      beginAtZero: true,
      ticks: { callback: function (v) { return ticks.format(v); }, maxTicksLimit: 6 }
    };
    var labelAxis = { stacked: spec.stacked, ticks: { autoSkip: true, maxRotation: 45 } };
    return {
      type: spec.kind === "line" ? "line" : "bar",
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s, i) {
          return {
            label: s.name,
            data: s.values,
            backgroundColor: COLOURS[i % COLOURS.length],
            borderColor: COLOURS[i % COLOURS.length]
          };
        })
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        scales: spec.horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
        plugins: {
          legend: { display: spec.series.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (item) {
                var raw = spec.horizontal ? item.parsed.x : item.parsed.y;
                return item.dataset.label + ": " + shown.format(raw);
              }
            }
          }
        }
      }
    };
  }

  function narrow() { return window.matchMedia("(max-width: 520px)").matches; }

  function draw(figure) {
    var block = figure.querySelector("script.chart-data");
    var canvas = figure.querySelector("canvas");
    if (!block || !canvas || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(block.textContent);
    Chart.defaults.font.size = narrow() ? 10 : 12;
    new Chart(canvas, config(spec));
    figure.dataset.drawn = "yes";
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("figure.chart"), draw);
  });
})();
