/* Keyboard shortcuts and small conveniences for the staff pages; the pages work without it. */
(function () {
  "use strict";

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // The element whose attribute lists this key, e.g. data-shortcut="j n".
  function byKey(attr, key) {
    var nodes = document.querySelectorAll("[" + attr + "]");
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].getAttribute(attr).split(" ").indexOf(key) !== -1) return nodes[i];
    }
    return null;
  }

  // Queue: j/n and k move through the rows, Enter (native, on the focused link) or o opens.
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
  var current = -1;
  function moveTo(i) {
    if (!rows.length) return;
    if (current >= 0) rows[current].classList.remove("current");
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows[current].classList.add("current");
    rows[current].querySelector("[data-open]").focus();
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (typing(document.activeElement)) {
      if (e.key === "Escape") document.activeElement.blur();
      return;
    }
    if (rows.length && (e.key === "j" || e.key === "n" || e.key === "k" || e.key === "o")) {
      e.preventDefault();
      if (e.key === "o") { if (current >= 0) rows[current].querySelector("[data-open]").click(); }
      else moveTo(current + (e.key === "k" ? -1 : 1));
      return;
    }
    var focus = byKey("data-focus-shortcut", e.key);
    if (focus) { e.preventDefault(); focus.focus(); return; }
    var target = byKey("data-shortcut", e.key);
    if (target) { e.preventDefault(); target.click(); }
  });

  // One submission per form: a double press must not record a verdict twice.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var guard = form.getAttribute("data-guard");
    if (guard && changed(document.getElementById(guard))) {
      e.preventDefault();
      form.querySelector(".guard-message").hidden = false;
      return;
    }
    if (form.getAttribute("method") === "post") {
      if (form.dataset.sent) { e.preventDefault(); return; }
      form.dataset.sent = "1";
    }
  });

  // "Confirm" confirms what is shown; refuse it while the correction form says otherwise.
  function changed(form) {
    if (!form) return false;
    var selects = form.querySelectorAll("select[data-current]");
    for (var i = 0; i < selects.length; i++) {
      if (selects[i].value !== selects[i].getAttribute("data-current")) return true;
    }
    var box = form.querySelector("input[name=new_label]");
    return !!(box && box.checked);
  }

  var auto = document.querySelectorAll("form[data-autosubmit] select");
  for (var i = 0; i < auto.length; i++) {
    auto[i].addEventListener("change", function () { this.form.submit(); });
  }
})();
