(function() {
  function cellValue(td) {
    var t = td.textContent.trim();
    var n = parseFloat(t.replace(/,/g, ''));
    return isNaN(n) || !/^[-0-9.,]/.test(t) ? t.toLowerCase() : n;
  }
  document.querySelectorAll('table.sortable th').forEach(function(th, i) {
    th.addEventListener('click', function() {
      var table = th.closest('table'),
        body = table.tBodies[0],
        rows = Array.prototype.slice.call(body.rows);
      var asc = !th.classList.contains('sorted-asc');
      table.querySelectorAll('th').forEach(function(h) {
        h.classList.remove('sorted-asc', 'sorted-desc');
      });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
      rows.sort(function(a, b) {
        var x = cellValue(a.cells[idx]),
          y = cellValue(b.cells[idx]);
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach(function(r) {
        body.appendChild(r);
      });
    });
  });
  document.querySelectorAll('input.filter').forEach(function(inp) {
    inp.addEventListener('input', function() {
      var q = inp.value.toLowerCase(),
        t = document.getElementById(inp.getAttribute('data-table'));
      Array.prototype.forEach.call(t.tBodies[0].rows, function(r) {
        r.style.display = r.textContent.toLowerCase().indexOf(q) < 0 ? 'none' : '';
      });
    });
  });
  var tip = document.createElement('div');
  tip.id = 'tip';
  document.body.appendChild(tip);
  document.querySelectorAll('svg [data-tip], svg rect, svg polygon').forEach(function(el) {
    var t = el.querySelector('title');
    if (!t) return;
    var text = t.textContent;
    el.addEventListener('mousemove', function(e) {
      tip.textContent = text;
      tip.style.display = 'block';
      tip.style.left = (e.clientX + 12) + 'px';
      tip.style.top = (e.clientY + 12) + 'px';
    });
    el.addEventListener('mouseleave', function() {
      tip.style.display = 'none';
    });
  });
})();
