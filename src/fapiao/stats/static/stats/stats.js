/* 统计: draws each view's chart with Apache ECharts from the numbers the page's tables show
   (the JSON in #stats-charts), and submits the filter form when a choice changes. */
(function () {
  "use strict";

  var money = new Intl.NumberFormat("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var whole = new Intl.NumberFormat("zh-CN");
  var COLORS = ["#c0392b", "#1a56db", "#0e9f6e", "#d97706", "#7e3af2", "#0891b2", "#db2777",
    "#65a30d", "#6b7280", "#92400e"];

  // Axis labels in 万 and 亿, as Chinese reports write large amounts.
  function short(value) {
    var a = Math.abs(value);
    if (a >= 1e8) return +(value / 1e8).toFixed(a >= 1e9 ? 0 : 1) + "亿";
    if (a >= 1e4) return +(value / 1e4).toFixed(a >= 1e5 ? 0 : 1) + "万";
    return whole.format(value);
  }

  function yuan(value) { return "¥" + money.format(value); }

  // Tooltips are HTML, and their names come from invoices (a buyer's name is what its issuer
  // typed): escaped, always.
  function escape(text) { return window.echarts.format.encodeHTML(String(text)); }

  function axisTooltip(formatters) {
    return {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      formatter: function (items) {
        var lines = [escape(items[0].axisValueLabel)];
        items.forEach(function (item) {
          var format = formatters[item.seriesName] || yuan;
          lines.push(item.marker + escape(item.seriesName) + "：" + format(item.value));
        });
        return lines.join("<br>");
      }
    };
  }

  var BUILDERS = {
    period: function (d) {
      var count = {};
      count["张数"] = function (v) { return whole.format(v) + " 张"; };
      return {
        legend: { top: 0 },
        grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
        tooltip: axisTooltip(count),
        xAxis: { type: "category", data: d.categories, axisLabel: { hideOverlap: true } },
        yAxis: [
          { type: "value", axisLabel: { formatter: short } },
          { type: "value", axisLabel: { formatter: short }, splitLine: { show: false }, minInterval: 1 }
        ],
        series: [
          { name: "金额", type: "bar", stack: "total", data: d.amount, barMaxWidth: 36 },
          { name: "税额", type: "bar", stack: "total", data: d.tax, barMaxWidth: 36 },
          { name: "张数", type: "line", yAxisIndex: 1, data: d.count, symbolSize: 5 }
        ]
      };
    },
    sides: function (d) {
      return {
        legend: { top: 0 },
        grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
        tooltip: axisTooltip({}),
        xAxis: { type: "category", data: d.categories, axisLabel: { hideOverlap: true } },
        yAxis: { type: "value", axisLabel: { formatter: short } },
        series: [
          { name: "开具价税合计", type: "bar", data: d.issued, barMaxWidth: 28 },
          { name: "取得价税合计", type: "bar", data: d.received, barMaxWidth: 28, itemStyle: { color: COLORS[1] } }
        ]
      };
    },
    comparison: function (d) {
      return {
        grid: { left: 8, right: 8, top: 30, bottom: 8, containLabel: true },
        tooltip: axisTooltip({}),
        xAxis: { type: "category", data: d.categories },
        yAxis: { type: "value", axisLabel: { formatter: short } },
        series: [{
          name: "价税合计", type: "bar", data: d.total, barMaxWidth: 56,
          label: { show: true, position: "top", formatter: function (p) { return short(p.value); } },
          itemStyle: { color: function (p) { return p.dataIndex === 2 ? COLORS[0] : "#e5a29b"; } }
        }]
      };
    },
    rate: function (d) {
      return {
        legend: { top: 0 },
        grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
        tooltip: axisTooltip({}),
        xAxis: { type: "category", data: d.categories },
        yAxis: { type: "value", axisLabel: { formatter: short } },
        series: [
          { name: "金额", type: "bar", stack: "total", data: d.amount, barMaxWidth: 48 },
          { name: "税额", type: "bar", stack: "total", data: d.tax, barMaxWidth: 48 }
        ]
      };
    },
    hbar: function (d) {
      // Largest at the top: a category axis draws its first item at the bottom.
      return {
        grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
        tooltip: axisTooltip({}),
        xAxis: { type: "value", axisLabel: { formatter: short } },
        yAxis: {
          type: "category", data: d.categories.slice().reverse(),
          axisLabel: { width: 150, overflow: "truncate" }
        },
        series: [{ name: "价税合计", type: "bar", data: d.total.slice().reverse(), barMaxWidth: 20 }]
      };
    },
    pie: function (d) {
      // A pie cannot show a negative slice (a month of only red invoices): the table does.
      var items = d.items.filter(function (item) { return item.value > 0; });
      return {
        tooltip: {
          trigger: "item",
          formatter: function (p) {
            return p.marker + escape(p.name) + "：" + money.format(p.value) + "（" + p.percent + "%）";
          }
        },
        legend: { type: "scroll", bottom: 0 },
        series: [{
          type: "pie", radius: ["38%", "66%"], center: ["50%", "45%"], data: items,
          label: { formatter: "{b}\n{d}%" }, avoidLabelOverlap: true
        }]
      };
    }
  };

  function empty(d) {
    if (d.kind === "pie") return !d.items.some(function (item) { return item.value > 0; });
    return !d.categories || d.categories.length === 0;
  }

  function draw() {
    var source = document.getElementById("stats-charts");
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var spec = data[element.dataset.chart];
      if (!spec || !BUILDERS[spec.kind]) return;
      var chart = window.echarts.init(element, null, { renderer: "canvas" });
      var option = empty(spec)
        ? { title: { text: "暂无数据", left: "center", top: "middle", textStyle: { color: "#9ca3af", fontWeight: 400 } } }
        : BUILDERS[spec.kind](spec);
      option.color = COLORS;
      option.animationDuration = 300;
      option.textStyle = { fontFamily: getComputedStyle(document.body).fontFamily };
      chart.setOption(option);
      element.dataset.rendered = "true";
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  }

  function autoSubmit() {
    var form = document.getElementById("stats-filters");
    if (!form) return;
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.type === "date") return; // a range is applied with the button
      if (target.name === "year") {
        // A year replaces a date range.
        form.querySelectorAll("input[type=date]").forEach(function (input) { input.value = ""; });
      }
      form.requestSubmit();
    });
    // Empty date fields stay out of the address.
    form.addEventListener("submit", function () {
      form.querySelectorAll("input[type=date]").forEach(function (input) {
        input.disabled = !input.value;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw();
    autoSubmit();
  });
})();
