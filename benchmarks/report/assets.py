"""The HTML report's inline CSS and JavaScript (no external file, font or script).

The script sorts a table when its header is clicked (numbers by ``data-v``, "—" last) and hides
blocks and rows whose ``data-dataset / data-mechanism / data-rate`` do not match the filter's
selectors, counting the result blocks shown.
"""

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1200px;padding:1rem 1.5rem 3rem;color:#1b1f24;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2rem;
margin-top:2.2rem}h3{margin-top:1.6rem}h4{margin:1.2rem 0 .3rem}
nav{font-size:.9rem;margin:.6rem 0 1rem}nav a{margin-right:1rem}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.88rem}
th,td{border:1px solid #d0d7de;padding:.25rem .55rem;vertical-align:top}
th{background:#f3f5f7;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}table.sortable th{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.best{background:#e6f4ea}.note{color:#57606a;font-size:.88rem}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;font-size:.8rem;white-space:pre-wrap}
details{margin:.4rem 0}summary{cursor:pointer}figure{margin:1rem 0}
figure svg{max-width:100%;height:auto}figcaption{color:#57606a;font-size:.88rem}
code{background:#f3f5f7;padding:0 .2rem}
#filter{position:sticky;top:0;background:#fff;padding:.4rem 0;border-bottom:1px solid #d0d7de;
z-index:1}#filter label{margin-right:.8rem}
tr.agree td{background:#e6f4ea}tr.disagree td{background:#fde7e9}
"""

JS = """
(function () {
  function key(td) {
    if (!td) { return [2, ""]; }
    var v = td.getAttribute("data-v");
    if (v !== null) { return [0, parseFloat(v)]; }
    var t = td.textContent.trim();
    return t === "\u2014" ? [2, ""] : [1, t.toLowerCase()];
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      th.title = "click to sort";
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (x[0] !== y[0]) { return x[0] - y[0]; }
          var c = x[1] < y[1] ? -1 : (x[1] > y[1] ? 1 : 0);
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  var selects = document.querySelectorAll("#filter select");
  function applyFilter() {
    var want = {};
    selects.forEach(function (s) { want[s.name] = s.value; });
    var shown = 0, total = 0;
    document.querySelectorAll("[data-dataset]").forEach(function (el) {
      var ok = ["dataset", "mechanism", "rate"].every(function (k) {
        var v = el.getAttribute("data-" + k);
        return !want[k] || v === null || v === want[k];
      });
      el.hidden = !ok;
      if (el.classList.contains("block")) { total += 1; if (ok) { shown += 1; } }
    });
    var count = document.getElementById("filter-count");
    if (count) { count.textContent = shown + " of " + total + " result blocks shown"; }
  }
  selects.forEach(function (s) { s.addEventListener("change", applyFilter); });
  if (selects.length) { applyFilter(); }
})();
"""
