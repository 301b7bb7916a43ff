/* Issuing pages: the small bits HTMX does not do by itself. Picking a type-ahead suggestion fills
   its row (or the buyer block); removing a row; numbering the rows so the preview's out-of-band
   errors land on the right inputs; the 含税 placeholders; confirm boxes; the 72-hour countdown. */
(function () {
  "use strict";

  function editor() { return document.getElementById("draft-editor"); }

  function preview() {
    var el = editor();
    if (el && window.htmx) { window.htmx.trigger(el, "lines-changed"); }
  }

  // Error slots and computed cells carry the row's index: err-lines-<i>-<field>, calc-<i>.
  function renumber() {
    var rows = document.querySelectorAll("#line-rows > tr.line-row");
    rows.forEach(function (row, i) {
      row.dataset.index = String(i);
      row.querySelectorAll("[data-slot]").forEach(function (slot) {
        slot.id = "err-lines-" + i + "-" + slot.dataset.slot;
      });
      var calc = row.querySelector(".calc");
      if (calc) { calc.id = "calc-" + i; }
    });
  }

  function applyMode(row) {
    var mode = row.querySelector("select[name=line_mode]");
    if (!mode) { return; }
    var inclusive = mode.value === "incl";
    row.classList.toggle("inclusive", inclusive);
    row.querySelectorAll("[data-placeholder-incl]").forEach(function (input) {
      input.placeholder = inclusive ? input.dataset.placeholderIncl : input.dataset.placeholderExcl;
    });
  }

  function closeSuggestions(except) {
    document.querySelectorAll(".suggest").forEach(function (box) {
      if (box !== except) { box.innerHTML = ""; }
    });
  }

  function fill(button) {
    var data;
    try { data = JSON.parse(button.dataset.fill); } catch (e) { return; }
    var row = button.closest("tr.line-row");
    var scope = row || button.closest("[data-fill-scope]") || document;
    Object.keys(data).forEach(function (name) {
      var input = scope.querySelector('[name="' + name + '"]');
      if (input) { input.value = data[name]; }
    });
    if (row) {
      var inclusive = row.querySelector("select[name=line_mode]").value === "incl";
      var price = inclusive ? data.price_incl : data.price;
      var priceInput = row.querySelector("input[name=line_unit_price]");
      if (price) { priceInput.value = price; }
      var quantity = row.querySelector("input[name=line_quantity]");
      if (price && !quantity.value) { quantity.value = "1"; }
      if (price) { row.querySelector("input[name=line_money]").value = ""; }
    }
    // A list still on its way (typed or focused before the pick) must not reopen over the row.
    var typed = row ? row.querySelector("input[name=line_name]") : scope.querySelector(".typeahead input");
    if (typed) { typed.dataset.picked = typed.value; }
    closeSuggestions();
    var next = row ? row.querySelector("input[name=line_quantity]") : null;
    if (next) { next.focus(); next.select(); }
    preview();
  }

  document.addEventListener("click", function (event) {
    var pick = event.target.closest(".suggestion");
    if (pick) { event.preventDefault(); fill(pick); return; }
    var remove = event.target.closest(".row-remove");
    if (remove) {
      var row = remove.closest("tr.line-row");
      var rows = document.querySelectorAll("#line-rows > tr.line-row");
      if (rows.length > 1) {
        row.remove();
      } else {
        row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      }
      renumber();
      preview();
      return;
    }
    var inside = event.target.closest(".typeahead");
    closeSuggestions(inside ? inside.querySelector(".suggest") : null);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeSuggestions(); }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var config = event.detail.requestConfig;
    var source = config && config.elt;  // the element that made the request
    var target = event.detail.target;
    if (source && target && target.classList.contains("suggest") &&
        source.dataset.picked !== undefined && source.value === source.dataset.picked) {
      event.detail.shouldSwap = false;
    }
  });

  document.addEventListener("input", function (event) {
    delete event.target.dataset.picked;
    // A name typed over a picked item no longer is that item.
    if (event.target.matches("input[name=line_name]")) {
      var row = event.target.closest("tr.line-row");
      var id = row && row.querySelector("input[name=line_item_id]");
      if (id) { id.value = ""; }
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name=line_mode]")) {
      applyMode(event.target.closest("tr.line-row"));
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "line-rows") {
      renumber();
      var rows = event.target.querySelectorAll("tr.line-row");
      var added = rows[rows.length - 1];
      if (added) {
        var previous = rows[rows.length - 2];
        var mode = previous && previous.querySelector("select[name=line_mode]");
        if (mode) { added.querySelector("select[name=line_mode]").value = mode.value; applyMode(added); }
        added.querySelector("input[name=line_name]").focus();
      }
    }
  });

  // 红字确认单: hours and minutes left, kept current without reloading.
  function countdown() {
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Math.max(0, Math.floor((Date.parse(el.dataset.deadline) - Date.now()) / 1000));
      var hours = Math.floor(left / 3600);
      var minutes = Math.floor((left % 3600) / 60);
      el.textContent = hours + " " + el.dataset.hours + " " + minutes + " " + el.dataset.minutes;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    renumber();
    document.querySelectorAll("tr.line-row").forEach(applyMode);
    if (document.querySelector("[data-deadline]")) { countdown(); window.setInterval(countdown, 30000); }
  });
})();
