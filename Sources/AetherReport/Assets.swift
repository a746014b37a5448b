import AetherCore

extension Report {
    static let css = """
        :root{--fg:#1d2330;--mut:#5b6577;--line:#dde2ea;--bg:#fff;--lo:\(Palette.color(ofSeverity: "low"))}
        *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#f5f7fa}
        main{max-width:1180px;margin:0 auto;padding:16px 24px 48px;background:var(--bg)}
        header h1{margin:8px 0 2px;font-size:24px}.sub{color:var(--mut);margin:0 0 8px}
        nav a{margin-right:12px;color:var(--lo);text-decoration:none;font-size:13px}
        h2{border-bottom:2px solid var(--line);padding-bottom:4px;margin-top:32px;font-size:19px}h3{font-size:15px;margin:18px 0 6px}
        table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:12.5px}
        th,td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
        th{background:#eef1f6;cursor:pointer;user-select:none;white-space:nowrap}th.sorted-asc::after{content:" ▲"}th.sorted-desc::after{content:" ▼"}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}td code{white-space:nowrap}code.hash,code.path{display:block;max-width:30ch;overflow-x:auto;white-space:nowrap}td.num,td.keep{white-space:nowrap;overflow-wrap:normal}.table-box{overflow-x:auto}details summary{white-space:nowrap}pre{background:#f4f6f9;padding:8px;overflow:auto;font-size:12px;max-height:320px}
        .facts{display:grid;grid-template-columns:repeat(3,auto 1fr);gap:2px 12px}.facts dt{color:var(--mut)}.facts dd{margin:0;font-weight:600}
        .sev{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px;margin-right:4px;white-space:nowrap}
        \(Palette.severityCSS)
        .verdict{font-size:16px;font-weight:600}.verdict.ok{color:#2e7d4f}.ok{color:#2e7d4f}.bad{color:var(--hi)}
        figure{margin:8px 0 16px}figcaption{font-weight:600;margin-bottom:4px}
        svg.chart{width:100%;height:auto;display:block}svg.bars{max-width:760px}svg.hist{max-width:460px}svg.coverage{max-width:660px}
        .grid{stroke:#e6e9ef;stroke-width:1}.xlab{font-size:10px;fill:var(--mut);text-anchor:middle}.ylab{font-size:10px;fill:var(--fg);text-anchor:end}
        .ylab.small{font-size:7px}.val{font-size:10px;fill:var(--mut)}.unit{font-size:10px;fill:var(--mut)}.unit.end{text-anchor:end}
        .legend .key{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
        .filter{margin:4px 0;padding:3px 6px;width:260px;font-size:12px}.note{color:var(--mut);font-size:12px}
        .cmd{white-space:nowrap;font-size:11px}article.alert-detail{border-left:3px solid var(--line);padding-left:12px;margin:12px 0}
        #tip{position:fixed;pointer-events:none;background:#1d2330;color:#fff;font-size:12px;padding:3px 6px;border-radius:3px;display:none;z-index:9}
        footer{margin-top:36px;color:var(--mut);font-size:12px}
        @media print{body{background:#fff}main{max-width:none;padding:0}code.hash,code.path{max-width:none;white-space:normal;word-break:break-all}nav,.filter,#tip{display:none}
          section{break-inside:auto}tr,figure,article{break-inside:avoid}details>pre{display:block}h2{break-after:avoid}
          a{color:inherit;text-decoration:none}}
        """

    static let script = """
        (function(){
        function cellValue(td){var t=td.textContent.trim();var n=parseFloat(t.replace(/,/g,''));return isNaN(n)||!/^[-0-9.,]/.test(t)?t.toLowerCase():n;}
        document.querySelectorAll('table.sortable th').forEach(function(th,i){th.addEventListener('click',function(){
          var table=th.closest('table'),body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
          var asc=!th.classList.contains('sorted-asc');table.querySelectorAll('th').forEach(function(h){h.classList.remove('sorted-asc','sorted-desc');});
          th.classList.add(asc?'sorted-asc':'sorted-desc');var idx=Array.prototype.indexOf.call(th.parentNode.children,th);
          rows.sort(function(a,b){var x=cellValue(a.cells[idx]),y=cellValue(b.cells[idx]);return (x<y?-1:x>y?1:0)*(asc?1:-1);});
          rows.forEach(function(r){body.appendChild(r);});});});
        document.querySelectorAll('input.filter').forEach(function(inp){inp.addEventListener('input',function(){
          var q=inp.value.toLowerCase(),t=document.getElementById(inp.getAttribute('data-table'));
          Array.prototype.forEach.call(t.tBodies[0].rows,function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':'';});});});
        var tip=document.createElement('div');tip.id='tip';document.body.appendChild(tip);
        document.querySelectorAll('svg [data-tip], svg rect, svg polygon').forEach(function(el){var t=el.querySelector('title');if(!t)return;
          var text=t.textContent;el.addEventListener('mousemove',function(e){tip.textContent=text;tip.style.display='block';tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';});
          el.addEventListener('mouseleave',function(){tip.style.display='none';});});
        })();
        """
}
