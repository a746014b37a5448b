import AetherCore

/// The live page, a war-room dashboard: self-contained like the report (inline CSS and JS, a
/// canvas chart drawn in the page), it talks only to the server it came from and reconnects by
/// itself. Dark unless the toggle (or `?theme=light`, or `?theme=auto` with a light system) says otherwise. Everything taken from a
/// packet is set as text, never parsed as markup.
enum LivePage {
    static let html = """
        <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>AetherLens live</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="dark light"><link rel="icon" href="data:,">
        <meta http-equiv="Content-Security-Policy" content="default-src 'self'; connect-src 'self' ws: wss:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data:">
        <style>\(css)</style></head><body>
        <header class="bar">
          <h1>AetherLens <small>live</small></h1><span id="status">connecting</span>
          <span class="clock" title="event time of the sample shown (UTC)"><span id="clock">–</span> UTC</span>
          <span class="spacer"></span>
          <button id="pause" type="button" aria-pressed="false">Pause</button>
          <label class="scrub">back <input id="scrub" type="range" min="0" max="0" value="0" disabled aria-label="scroll back over the last 15 minutes"></label>
          <span id="scrub-label" class="muted">live</span>
          <button id="theme" type="button">Light</button>
        </header>
        <main>
        <section class="tiles">
          <div class="tile"><span>packets/s</span><b id="pps">0</b><small>total <span id="total-packets">0</span></small></div>
          <div class="tile"><span>bytes/s</span><b id="bps">0</b><small>total <span id="total-bytes">0</span></small></div>
          <div class="tile"><span>connections/s</span><b id="cps">0</b><small>undecoded <span id="undecoded">0</span></small></div>
          <div class="tile"><span>alerts</span><b id="alert-count">0</b><small id="sev-counts">high 0 · medium 0 · low 0</small></div>
          <div class="tile"><span>drops</span><b id="drops">0</b><small>by the capture</small></div>
          <div class="tile"><span>latency</span><b id="latency">–</b><small>packet read → page</small></div>
        </section>
        <section class="grid2">
          <div class="card"><h2>Traffic by protocol <small>packets/s, last 2 minutes</small></h2><div class="canvas-box"><canvas id="traffic" role="img" aria-label="packets per second by protocol"></canvas></div><div id="legend" class="legend"></div></div>
          <div class="card"><h2>Protocol mix <small>in view</small></h2><div id="mix"></div></div>
        </section>
        <section class="grid3">
          <div class="card"><h2>Alerts <small>newest first; open one for its evidence</small></h2><ol id="feed" class="feed"></ol></div>
          <div class="card"><h2>Top talkers <small>last second</small></h2><table><thead><tr><th>host</th><th class="num">bytes</th><th class="num">pkts</th></tr></thead><tbody id="talkers"></tbody></table></div>
          <div class="card"><h2>Top ports <small>new connections</small></h2><table><thead><tr><th>port</th><th class="num">conns</th></tr></thead><tbody id="ports"></tbody></table></div>
        </section>
        <section class="card"><h2>Recent connections</h2><div class="table-box"><table><thead><tr><th>source</th><th>destination</th><th>proto</th><th>service</th><th>state</th><th class="num">bytes</th></tr></thead><tbody id="recent"></tbody></table></div></section>
        </main>
        <dialog id="detail"><form method="dialog"><button class="close" aria-label="close">close</button></form><div id="detail-body"></div></dialog>
        <script>\(script)</script></body></html>
        """

    static let css = """
        :root{--bg:#0d1117;--panel:#161b22;--line:#30363d;--fg:#e6edf3;--muted:#8b949e;--accent:#58a6ff;--flash:#3d2f00;--ok:#3fb950;--bad:#f85149;color-scheme:dark}
        :root[data-theme=light]{--bg:#f5f7fa;--panel:#fff;--line:#dde2ea;--fg:#1d2330;--muted:#5b6577;--accent:#3b6fb6;--flash:#fff3c4;--ok:#2e7d4f;--bad:#c0392b;color-scheme:light}
        @media (prefers-color-scheme: light){:root[data-theme=auto]{--bg:#f5f7fa;--panel:#fff;--line:#dde2ea;--fg:#1d2330;--muted:#5b6577;--accent:#3b6fb6;--flash:#fff3c4;--ok:#2e7d4f;--bad:#c0392b;color-scheme:light}}
        @media print{:root{--bg:#fff;--panel:#fff;--line:#ccc;--fg:#000;--muted:#444;color-scheme:light}.bar button,.scrub{display:none}}
        *{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,sans-serif;background:var(--bg);color:var(--fg)}
        .bar{position:sticky;top:0;z-index:2;display:flex;flex-wrap:wrap;align-items:center;gap:8px 14px;padding:8px 16px;background:var(--panel);border-bottom:1px solid var(--line)}
        h1{font-size:18px;margin:0}h1 small{color:var(--muted);font-weight:400}.spacer{flex:1}.muted{color:var(--muted)}
        #status{padding:1px 8px;border-radius:10px;font-size:12px;border:1px solid var(--muted)}#status.open{border-color:var(--ok);color:var(--ok)}#status.closed{border-color:var(--bad);color:var(--bad)}
        .clock{font-variant-numeric:tabular-nums;white-space:nowrap}
        button{font:inherit;color:var(--fg);background:transparent;border:1px solid var(--line);border-radius:4px;padding:2px 10px;cursor:pointer}button[aria-pressed=true]{border-color:var(--accent);color:var(--accent)}
        .scrub{display:flex;align-items:center;gap:4px;color:var(--muted)}
        main{max-width:1400px;margin:0 auto;padding:12px 16px;display:flex;flex-direction:column;gap:12px}
        .tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}
        .tile{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 12px}
        .tile span{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}.tile b{display:block;font-size:26px;font-variant-numeric:tabular-nums;white-space:nowrap}.tile small{color:var(--muted);white-space:nowrap}
        .grid2{display:grid;grid-template-columns:3fr 1fr;gap:12px}.grid3{display:grid;grid-template-columns:2fr 1fr 1fr;gap:12px}
        @media (max-width:900px){.grid2,.grid3{grid-template-columns:1fr}}
        .card{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:0}
        h2{font-size:14px;margin:2px 0 8px}h2 small{color:var(--muted);font-weight:400}
        .canvas-box{position:relative;height:230px}canvas{display:block;width:100%;height:100%}
        .legend{display:flex;flex-wrap:wrap;gap:4px 12px;margin-top:6px;font-size:12px}.legend span{display:inline-flex;align-items:center;gap:4px}
        .sw{display:inline-block;width:22px;height:12px;border:1px solid var(--line)}
        \(patternCSS)
        .mixrow{display:grid;grid-template-columns:64px 1fr 52px;align-items:center;gap:6px;font-size:12px;margin:3px 0}.mixbar{height:12px;border:1px solid var(--line)}
        table{border-collapse:collapse;width:100%;font-size:12.5px}th,td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:left;white-space:nowrap}th{color:var(--muted);font-weight:600}
        .num{text-align:right;font-variant-numeric:tabular-nums}.table-box{overflow-x:auto}td.addr{font-family:ui-monospace,monospace;font-size:12px}
        .feed{list-style:none;margin:0;padding:0;max-height:330px;overflow-y:auto}
        .feed li{display:grid;grid-template-columns:auto auto 1fr auto;gap:4px 8px;align-items:center;padding:4px 6px;border-bottom:1px solid var(--line);cursor:pointer}
        .feed li:hover{background:var(--bg)}.feed .what{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
        .feed li.flash{animation:flash 2.5s ease-out}@keyframes flash{from{background:var(--flash)}to{background:transparent}}
        .tag{font-size:11px;border:1px solid var(--accent);color:var(--accent);border-radius:3px;padding:0 4px}
        .sev{color:#fff;padding:0 6px;border-radius:3px;white-space:nowrap;font-size:12px}\(Palette.severityCSS)
        dialog{background:var(--panel);color:var(--fg);border:1px solid var(--line);border-radius:8px;max-width:min(900px,94vw);width:100%;max-height:86vh}
        dialog::backdrop{background:rgba(0,0,0,.55)}.close{float:right}dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:13px}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;word-break:break-word}
        """

    /// Each protocol's fill also has its own hatching, so that the chart, its legend and the mix
    /// read without colour.
    static let hatches = ["45deg", "-45deg", "0deg", "90deg", "30deg", "-60deg", "135deg"]
    static var patternCSS: String {
        Palette.protocols.enumerated().map { i, p in
            ".p-\(p.name){background-color:\(p.color);background-image:repeating-linear-gradient(\(hatches[i % hatches.count]),rgba(255,255,255,.45) 0 2px,transparent 2px \(5 + i)px)}"
        }.joined()
    }

    static let script = """
        (function(){
        'use strict';
        var colors=\(Palette.protocolsJS);
        var keys=['tcp','udp','icmp','icmpv6','other_ip','arp','other'];
        var HISTORY=900,WINDOW=120;
        var hist=[],alerts={},retry=1000,paused=false,cursor=-1,lastArrival=0,interval=1000,domDirty=true,lastDom=0,yMax=1,fresh={};
        function $(id){return document.getElementById(id);}
        function fmt(v){v=Number(v)||0;return v>=1e9?(v/1e9).toFixed(1)+'G':v>=1e6?(v/1e6).toFixed(1)+'M':v>=1e3?(v/1e3).toFixed(1)+'k':String(Math.round(v));}
        function iso(t){return new Date(t*1000).toISOString().slice(11,19);}
        // Nodes only: text from packets becomes text nodes, never markup.
        function h(tag,attrs,children){var el=document.createElement(tag);
          for(var k in attrs){el.setAttribute(k,attrs[k]);}
          (children||[]).forEach(function(c){el.appendChild(typeof c==='object'?c:document.createTextNode(String(c)));});return el;}
        function fill(el,nodes){el.replaceChildren.apply(el,nodes);}
        // Theme: dark by default (a browser with no preference reports light, so the system's
        // choice is followed only with ?theme=auto); the toggle, remembered, picks either.
        var root=document.documentElement;
        var asked=new URLSearchParams(location.search).get('theme');
        if(asked==='auto'||asked==='light'||asked==='dark')root.dataset.theme=asked;
        function theme(){var t=root.dataset.theme||'dark';return t==='auto'?(matchMedia('(prefers-color-scheme: light)').matches?'light':'dark'):t;}
        var css={};
        function readColors(){var s=getComputedStyle(root);['--fg','--muted','--line','--panel','--accent'].forEach(function(k){css[k]=s.getPropertyValue(k).trim();});
          $('theme').textContent=theme()==='dark'?'Light':'Dark';patterns=makePatterns();}
        $('theme').onclick=function(){root.dataset.theme=theme()==='dark'?'light':'dark';try{localStorage.setItem('aether-theme',root.dataset.theme);}catch(e){}readColors();};
        try{var saved=localStorage.getItem('aether-theme');if(!asked&&(saved==='light'||saved==='dark'))root.dataset.theme=saved;}catch(e){}
        matchMedia('(prefers-color-scheme: light)').addEventListener('change',readColors);
        // Canvas: sized once per resize (never per frame), drawn in device pixels.
        var cv=$('traffic'),ctx=cv.getContext('2d'),W=0,H=0,dpr=1,patterns={};
        function resize(){var r=cv.getBoundingClientRect();dpr=window.devicePixelRatio||1;W=Math.max(200,r.width);H=Math.max(120,r.height);
          cv.width=Math.round(W*dpr);cv.height=Math.round(H*dpr);}
        if(window.ResizeObserver){new ResizeObserver(resize).observe(cv);}else{window.addEventListener('resize',resize);}
        function makePatterns(){var out={};keys.forEach(function(k,i){var c=document.createElement('canvas');c.width=c.height=8;var g=c.getContext('2d');
          g.fillStyle=colors[k];g.fillRect(0,0,8,8);g.strokeStyle='rgba(255,255,255,0.45)';g.lineWidth=1.5;g.beginPath();
          if(i%4===0){g.moveTo(0,8);g.lineTo(8,0);}else if(i%4===1){g.moveTo(0,0);g.lineTo(8,8);}else if(i%4===2){g.moveTo(0,4);g.lineTo(8,4);}else{g.moveTo(4,0);g.lineTo(4,8);}
          if(i>=4){g.moveTo(0,0);g.lineTo(8,8);}g.stroke();out[k]=ctx.createPattern(c,'repeat');});return out;}
        function total(m){var t=0;for(var i=0;i<keys.length;i++){t+=m.protocols[keys[i]]||0;}return t;}
        // One frame: the samples slide left between arrivals so the chart moves at the display's
        // rate; between samples only the offset changes. No DOM is read or written here.
        function frame(now){
          if(!W){resize();}
          var end=paused?cursor:hist.length-1;var n=Math.min(WINDOW,end+1);
          var f=paused?1:Math.min(1,(now-lastArrival)/interval);
          var L=48,R=8,T=26,B=20,pw=W-L-R,ph=H-T-B,dx=pw/(WINDOW-1);
          var target=1;for(var i=end-n+1;i<=end;i++){if(i>=0){var v=total(hist[i]);if(v>target)target=v;}}
          var goal=target*1.1;yMax=paused||Math.abs(goal-yMax)<goal*0.002?goal:yMax+(goal-yMax)*0.15;if(yMax<1)yMax=1;
          ctx.setTransform(dpr,0,0,dpr,0,0);ctx.clearRect(0,0,W,H);
          ctx.font='11px system-ui,sans-serif';ctx.fillStyle=css['--muted'];ctx.strokeStyle=css['--line'];ctx.lineWidth=1;
          ctx.textAlign='left';ctx.fillText('packets/s',2,12);
          ctx.textAlign='right';for(var k=0;k<=4;k++){var gy=T+ph*(1-k/4);ctx.beginPath();ctx.moveTo(L,gy);ctx.lineTo(W-R,gy);ctx.stroke();ctx.fillText(fmt(yMax*k/4),L-4,gy+4);}
          if(n>0){ctx.save();ctx.beginPath();ctx.rect(L,T-1,pw,ph+2);ctx.clip();
            var x=function(j){return L+pw-(end-j)*dx+(1-f)*dx;};var y=function(v){return T+ph*(1-v/yMax);};
            var base=new Array(n).fill(0);
            keys.forEach(function(key){ctx.beginPath();var j,idx;
              for(j=0;j<n;j++){idx=end-n+1+j;var v=(hist[idx].protocols[key]||0);var px=x(idx),py=y(base[j]+v);if(j===0)ctx.moveTo(px,py);else ctx.lineTo(px,py);}
              for(j=n-1;j>=0;j--){idx=end-n+1+j;ctx.lineTo(x(idx),y(base[j]));base[j]+=(hist[idx].protocols[key]||0);}
              ctx.closePath();ctx.fillStyle=patterns[key]||colors[key];ctx.fill();});
            ctx.restore();
            ctx.fillStyle=css['--muted'];ctx.textAlign='left';ctx.fillText(iso(hist[Math.max(0,end-n+1)].t),L,H-5);ctx.textAlign='right';ctx.fillText(iso(hist[end].t)+' UTC',W-R,H-5);}
          if(domDirty&&now-lastDom>250){lastDom=now;domDirty=false;dom();}
          requestAnimationFrame(frame);}
        // The numbers, tables and mix: redrawn at most four times a second.
        function shown(){return paused?hist[cursor]:hist[hist.length-1];}
        function dom(){var m=shown();if(!m)return;
          $('total-packets').textContent=m.total_packets;$('total-bytes').textContent=fmt(m.total_bytes);
          $('pps').textContent=fmt(m.packets);$('bps').textContent=fmt(m.bytes);$('cps').textContent=fmt(m.connections||0);
          $('drops').textContent=m.drops;$('undecoded').textContent=m.undecoded||0;$('clock').textContent=iso(m.t);
          if(m.e2e!=null)$('latency').textContent=m.e2e<1000?Math.round(m.e2e)+' ms':(m.e2e/1000).toFixed(1)+' s';
          fill($('talkers'),(m.top_talkers||[]).map(function(t){return h('tr',{},[h('td',{'class':'addr'},[t.host]),h('td',{'class':'num'},[fmt(t.bytes)]),h('td',{'class':'num'},[t.packets])]);}));
          fill($('ports'),(m.top_ports||[]).map(function(p){return h('tr',{},[h('td',{},[p.proto+'/'+p.port]),h('td',{'class':'num'},[p.connections])]);}));
          fill($('recent'),(m.recent||[]).map(function(c){return h('tr',{},[h('td',{'class':'addr'},[c.src+':'+c.sport]),h('td',{'class':'addr'},[c.dst+':'+c.dport]),
            h('td',{},[c.proto]),h('td',{},[c.service||'–']),h('td',{},[c.state]),h('td',{'class':'num'},[fmt(c.bytes)])]);}));
          var end=paused?cursor:hist.length-1,sums={},all=0;keys.forEach(function(k){sums[k]=0;});
          for(var i=Math.max(0,end-WINDOW+1);i<=end;i++){keys.forEach(function(k){var v=hist[i].protocols[k]||0;sums[k]+=v;all+=v;});}
          fill($('mix'),keys.filter(function(k){return sums[k]>0;}).map(function(k){var pc=all?sums[k]/all*100:0;
            return h('div',{'class':'mixrow'},[h('span',{},[k]),h('div',{'class':'mixbar p-'+k,style:'width:'+Math.max(1,pc).toFixed(1)+'%'}),h('span',{'class':'num'},[pc.toFixed(1)+'%'])]);}));
          $('scrub').max=String(Math.max(0,hist.length-1));if(!paused)$('scrub').value=$('scrub').max;
          $('scrub-label').textContent=paused?('paused at '+iso(m.t)):'live';}
        function summary(m){var now=performance.now();if(lastArrival){interval=Math.min(2000,Math.max(100,interval*0.8+(now-lastArrival)*0.2));}lastArrival=now;
          m.e2e=(m.latency_ms||0)+(m.sent_ms?Math.max(0,Date.now()-m.sent_ms):0);
          hist.push(m);if(hist.length>HISTORY){hist.shift();if(paused&&cursor>0)cursor--;}domDirty=true;}
        // Alerts: newest episode first; a new or grown episode flashes with its label.
        function alertMsg(a){var old=alerts[a.id];alerts[a.id]=a;fresh[a.id]=old?'grown':'new';
          var ids=Object.keys(alerts);if(ids.length>2000){delete alerts[ids[0]];}
          feed();}
        function target(a){return a.dst||(a.dsts||[]).slice(0,3).join(', ')+((a.dst_count||0)>3?' … ('+a.dst_count+')':'');}
        function feed(){var list=Object.keys(alerts).map(function(k){return alerts[k];}).sort(function(a,b){return b.end-a.end||b.id-a.id;}).slice(0,200);
          var sev={critical:0,high:0,medium:0,low:0};Object.keys(alerts).forEach(function(k){sev[alerts[k].severity]=(sev[alerts[k].severity]||0)+1;});
          $('alert-count').textContent=Object.keys(alerts).length;$('sev-counts').textContent=(sev.critical?'critical '+sev.critical+' · ':'')+'high '+sev.high+' · medium '+sev.medium+' · low '+sev.low;
          fill($('feed'),list.map(function(a){var li=h('li',{'data-id':a.id,tabindex:'0'},[h('span',{'class':'sev '+a.severity},[a.severity]),
            h('span',{},[a.kind]),h('span',{'class':'what'},[a.src+' → '+target(a)+((a.ports||[]).length?' ports '+(a.ports||[]).slice(0,6).join(','):'')]),
            h('span',{'class':'muted'},[iso(a.end)])]);
            if(fresh[a.id]){li.className='flash';li.appendChild(h('span',{'class':'tag'},[fresh[a.id]]));}
            li.onclick=function(){open(a.id);};li.onkeydown=function(e){if(e.key==='Enter')open(a.id);};return li;}));
          fresh={};}
        function kv(obj){return h('dl',{'class':'kv'},Object.keys(obj||{}).reduce(function(out,k){var v=obj[k];
          out.push(h('dt',{},[k]));out.push(h('dd',{},[typeof v==='object'?JSON.stringify(v):String(v)]));return out;},[]));}
        function open(id){var a=alerts[id];if(!a)return;var body=$('detail-body');
          var conns=h('div',{},[h('p',{'class':'muted'},['loading the connections…'])]);
          fill(body,[h('h2',{},['#'+a.id+' '+a.kind+' ']),h('p',{},[h('span',{'class':'sev '+a.severity},[a.severity]),' '+a.src+' → '+target(a)+' · '+iso(a.start)+'–'+iso(a.end)+' UTC · '+(a.flows||0)+' connections'+(a.technique?' · '+a.technique:'')]),
            h('h2',{},['why']),kv(a.why),h('h2',{},['evidence']),kv(a.evidence),h('h2',{},['connections']),conns]);
          $('detail').showModal();loadConnections(id,conns,0);}
        function loadConnections(id,box,tries){var token=new URLSearchParams(location.search).get('token');
          fetch('/api/alert?id='+encodeURIComponent(id)+(token?'&token='+encodeURIComponent(token):'')).then(function(r){return r.json();}).then(function(d){
            if(!d.connections.length&&tries<5){setTimeout(function(){loadConnections(id,box,tries+1);},1500);return;}
            fill(box,[d.connections.length?h('div',{'class':'table-box'},[h('table',{},[h('thead',{},[h('tr',{},['start','source','destination','proto','service','state','orig bytes','resp bytes'].map(function(t){return h('th',{},[t]);}))]),
              h('tbody',{},d.connections.map(function(c){return h('tr',{},[h('td',{},[iso(Number(c.ts))]),h('td',{'class':'addr'},[c.orig_h+':'+c.orig_p]),h('td',{'class':'addr'},[c.resp_h+':'+c.resp_p]),
                h('td',{},[c.proto]),h('td',{},[c.service||'–']),h('td',{},[c.conn_state]),h('td',{'class':'num'},[c.orig_bytes]),h('td',{'class':'num'},[c.resp_bytes])]);}))])]):h('p',{'class':'muted'},['not in the store yet'])]);
          }).catch(function(){fill(box,[h('p',{'class':'muted'},['connections unavailable'])]);});}
        $('pause').onclick=function(){paused=!paused;this.setAttribute('aria-pressed',String(paused));this.textContent=paused?'Resume':'Pause';
          $('scrub').disabled=!paused;cursor=hist.length-1;$('scrub').value=String(cursor);domDirty=true;};
        $('scrub').oninput=function(){cursor=Math.min(hist.length-1,Number(this.value));domDirty=true;};
        function connect(){var token=new URLSearchParams(location.search).get('token');var url=(location.protocol==='https:'?'wss://':'ws://')+location.host+'/ws'+(token?'?token='+encodeURIComponent(token):'');
          var ws=new WebSocket(url);$('status').textContent='connecting';$('status').className='';
          ws.onopen=function(){retry=1000;$('status').textContent='live';$('status').className='open';};
          ws.onmessage=function(e){var m=JSON.parse(e.data);if(m.type==='summary')summary(m);else if(m.type==='alert')alertMsg(m);else if(m.type==='end'){$('status').textContent='replay ended ('+m.total_packets+' packets)';}};
          ws.onclose=function(){$('status').textContent='reconnecting';$('status').className='closed';setTimeout(connect,retry);retry=Math.min(retry*2,5000);};}
        fill($('legend'),keys.map(function(k){return h('span',{},[h('i',{'class':'sw p-'+k}),k]);}));
        readColors();resize();connect();requestAnimationFrame(frame);})();
        """
}
