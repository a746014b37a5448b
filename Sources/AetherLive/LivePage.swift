import AetherCore

/// The live page: self-contained like the report (inline CSS and JS, SVG drawn in the page),
/// it talks only to the server it came from and reconnects by itself.
enum LivePage {
    static let html = """
        <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>AetherLens live</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="Content-Security-Policy" content="default-src 'self'; connect-src 'self' ws: wss:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
        <style>
        body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#1d2330;background:#f5f7fa}main{max-width:1180px;margin:0 auto;padding:16px 24px;background:#fff}
        h1{font-size:22px;margin:6px 0}h2{font-size:16px;border-bottom:2px solid #dde2ea;padding-bottom:3px}
        .facts{display:flex;gap:28px;flex-wrap:wrap}.facts div{min-width:120px}.facts b{display:block;font-size:20px}
        #status{padding:2px 8px;border-radius:3px;color:#fff;background:#8c8c8c}#status.open{background:#2e7d4f}#status.closed{background:#c0392b}
        svg{width:100%;height:auto}.grid{stroke:#e6e9ef}.lab{font-size:10px;fill:#5b6577}
        table{border-collapse:collapse;width:100%;font-size:12.5px}th,td{border-bottom:1px solid #dde2ea;padding:3px 6px;text-align:left}th{background:#eef1f6}
        .num{text-align:right}.sev{color:#fff;padding:0 6px;border-radius:3px;white-space:nowrap}\(Palette.severityCSS)
        .key{margin-right:12px;font-size:12px}.key i{display:inline-block;width:10px;height:10px;margin-right:4px}
        </style></head><body><main>
        <h1>AetherLens live <span id="status">connecting</span></h1>
        <div class="facts">
          <div>packets<b id="total-packets">0</b></div><div>bytes<b id="total-bytes">0</b></div>
          <div>packets/s<b id="pps">0</b></div><div>bytes/s<b id="bps">0</b></div>
          <div>drops<b id="drops">0</b></div><div>alerts<b id="alert-count">0</b></div><div>event time (UTC)<b id="clock">–</b></div>
        </div>
        <h2>Packets per second by protocol</h2><div id="chart-pps"></div>
        <h2>Bytes per second</h2><div id="chart-bps"></div><div id="legend"></div>
        <h2>Alerts</h2><table><thead><tr><th>id</th><th>severity</th><th>kind</th><th>source</th><th>target</th><th>ports</th><th>state</th><th>first seen</th><th>last</th></tr></thead><tbody id="alerts"></tbody></table>
        <h2>Top talkers (last second)</h2><table><thead><tr><th>host</th><th class="num">bytes</th><th class="num">packets</th></tr></thead><tbody id="talkers"></tbody></table>
        </main><script>
        (function(){
        var colors=\(Palette.protocolsJS);
        var keys=['tcp','udp','icmp','icmpv6','other_ip','arp','other'];var history=[];var alerts={};var retry=1000;
        function $(id){return document.getElementById(id);}
        function fmt(v){return v>=1e9?(v/1e9).toFixed(1)+'G':v>=1e6?(v/1e6).toFixed(1)+'M':v>=1e3?(v/1e3).toFixed(1)+'k':String(v);}
        // Every element is built as a node and every value set as text or an attribute: nothing
        // taken from a packet is ever parsed as markup.
        var SVG='http://www.w3.org/2000/svg';
        function h(tag,attrs,children,ns){var el=ns?document.createElementNS(ns,tag):document.createElement(tag);
          for(var k in attrs){el.setAttribute(k,attrs[k]);}
          (children||[]).forEach(function(c){el.appendChild(typeof c==='object'?c:document.createTextNode(String(c)));});return el;}
        function s(tag,attrs,children){return h(tag,attrs,children,SVG);}
        function fill(el,nodes){el.replaceChildren.apply(el,nodes);}
        function iso(t){return new Date(t*1000).toISOString().slice(11,19);}
        function chart(el,field,unit,stack){var W=900,H=180,L=50,B=22,T=8;var n=history.length;if(!n){fill(el,[]);return;}
          var max=1;history.forEach(function(m){var v=stack?keys.reduce(function(a,k){return a+(m.protocols[k]||0);},0):m[field];if(v>max)max=v;});
          var x=function(i){return L+(n<2?0:i/(n-1))*(W-L-10);},y=function(v){return T+(H-T-B)*(1-v/max);};
          var parts=[];for(var k=0;k<=4;k++){var v=max*k/4;parts.push(s('line',{'class':'grid',x1:L,x2:W-10,y1:y(v),y2:y(v)}));
            parts.push(s('text',{'class':'lab',x:L-4,y:y(v)+4,'text-anchor':'end'},[fmt(Math.round(v))]));}
          parts.push(s('text',{'class':'lab',x:L,y:H-6},[iso(history[0].t)+' UTC']));
          parts.push(s('text',{'class':'lab',x:W-10,y:H-6,'text-anchor':'end'},[iso(history[n-1].t)]));
          parts.push(s('text',{'class':'lab',x:2,y:10},[unit]));
          if(stack){var base=history.map(function(){return 0;});keys.forEach(function(k){var top=[],bot=[];history.forEach(function(m,i){var v=m.protocols[k]||0;top.push(x(i)+','+y(base[i]+v));bot.push(x(i)+','+y(base[i]));base[i]+=v;});
            parts.push(s('polygon',{fill:colors[k],'fill-opacity':'0.75',points:top.join(' ')+' '+bot.reverse().join(' ')},[s('title',{},[k])]));});}
          else{parts.push(s('polyline',{fill:'none',stroke:colors.tcp,'stroke-width':'1.5',points:history.map(function(m,i){return x(i)+','+y(m[field]);}).join(' ')}));}
          fill(el,[s('svg',{viewBox:'0 0 '+W+' '+H},parts)]);}
        // The page is redrawn at most once per animation frame, however fast summaries arrive (a
        // replay at max speed); every summary still enters the history.
        var latest=null,drawPending=false;
        function draw(){drawPending=false;var m=latest;if(!m)return;
          $('total-packets').textContent=m.total_packets;$('total-bytes').textContent=fmt(m.total_bytes);
          $('pps').textContent=m.packets;$('bps').textContent=fmt(m.bytes);$('drops').textContent=m.drops;$('clock').textContent=iso(m.t);
          chart($('chart-pps'),'packets','packets/s',true);chart($('chart-bps'),'bytes','bytes/s',false);
          fill($('talkers'),m.top_talkers.map(function(t){return h('tr',{},[h('td',{},[t.host]),h('td',{'class':'num'},[t.bytes]),h('td',{'class':'num'},[t.packets])]);}));}
        function summary(m){history.push(m);if(history.length>120)history.shift();latest=m;
          if(!drawPending){drawPending=true;requestAnimationFrame(draw);}}
        function alert(m){alerts[m.id]=m;var ids=Object.keys(alerts).map(Number).sort(function(a,b){return a-b;});$('alert-count').textContent=ids.length;
          fill($('alerts'),ids.map(function(id){var a=alerts[id];var target=a.dst||(a.dsts||[]).slice(0,4).join(', ')+((a.dst_count||0)>4?' … ('+a.dst_count+')':'');
            return h('tr',{},[h('td',{},[a.id]),h('td',{},[h('span',{'class':'sev '+a.severity},[a.severity])]),h('td',{},[a.kind]),h('td',{},[a.src]),
              h('td',{},[target]),h('td',{},[(a.ports||[]).slice(0,8).join(',')]),h('td',{},[a.state||'']),h('td',{},[iso(a.start)]),h('td',{},[iso(a.end)])]);}));}
        function connect(){var token=new URLSearchParams(location.search).get('token');var url=(location.protocol==='https:'?'wss://':'ws://')+location.host+'/ws'+(token?'?token='+encodeURIComponent(token):'');
          var ws=new WebSocket(url);$('status').textContent='connecting';$('status').className='';
          ws.onopen=function(){retry=1000;$('status').textContent='live';$('status').className='open';};
          ws.onmessage=function(e){var m=JSON.parse(e.data);if(m.type==='summary')summary(m);else if(m.type==='alert')alert(m);else if(m.type==='end'){$('status').textContent='replay ended ('+m.total_packets+' packets)';}};
          ws.onclose=function(){$('status').textContent='reconnecting';$('status').className='closed';setTimeout(connect,retry);retry=Math.min(retry*2,5000);};}
        fill($('legend'),keys.map(function(k){return h('span',{'class':'key'},[h('i',{style:'background:'+colors[k]}),k]);}));
        connect();})();
        </script></body></html>
        """
}
