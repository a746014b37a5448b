(function() {
  'use strict';
  var colors = /*@protocols*/ {};
  var keys = ['tcp', 'udp', 'icmp', 'icmpv6', 'other_ip', 'arp', 'other'];
  var HISTORY = 900,
    WINDOW = 120;
  var waiting = false,
    hist = [],
    alerts = {},
    retry = 1000,
    paused = false,
    cursor = -1,
    lastArrival = 0,
    interval = 1000,
    domDirty = true,
    lastDom = 0,
    yMax = 1,
    fresh = {};

  function $(id) {
    return document.getElementById(id);
  }

  function fmt(v) {
    v = Number(v) || 0;
    return v >= 1e9 ? (v / 1e9).toFixed(1) + 'G' : v >= 1e6 ? (v / 1e6).toFixed(1) + 'M' : v >= 1e3 ? (v / 1e3).toFixed(1) + 'k' : String(Math.round(v));
  }

  function iso(t) {
    return new Date(t * 1000).toISOString().slice(11, 19);
  }
  // Nodes only: text from packets becomes text nodes, never markup.
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    for (var k in attrs) {
      el.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function(c) {
      el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    });
    return el;
  }

  function fill(el, nodes) {
    el.replaceChildren.apply(el, nodes);
  }
  // Theme: dark by default (a browser with no preference reports light, so the system's
  // choice is followed only with ?theme=auto); the toggle, remembered, picks either.
  var root = document.documentElement;
  var asked = new URLSearchParams(location.search).get('theme');
  if (asked === 'auto' || asked === 'light' || asked === 'dark') root.dataset.theme = asked;

  function theme() {
    var t = root.dataset.theme || 'dark';
    return t === 'auto' ? (matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark') : t;
  }
  var css = {};

  function readColors() {
    var s = getComputedStyle(root);
    ['--fg', '--muted', '--line', '--panel', '--accent'].forEach(function(k) {
      css[k] = s.getPropertyValue(k).trim();
    });
    $('theme').textContent = theme() === 'dark' ? 'Light' : 'Dark';
    patterns = makePatterns();
  }
  $('theme').onclick = function() {
    root.dataset.theme = theme() === 'dark' ? 'light' : 'dark';
    try {
      localStorage.setItem('aether-theme', root.dataset.theme);
    } catch (e) {}
    readColors();
  };
  try {
    var saved = localStorage.getItem('aether-theme');
    if (!asked && (saved === 'light' || saved === 'dark')) root.dataset.theme = saved;
  } catch (e) {}
  matchMedia('(prefers-color-scheme: light)').addEventListener('change', readColors);
  // Canvas: sized once per resize (never per frame), drawn in device pixels.
  var cv = $('traffic'),
    ctx = cv.getContext('2d'),
    W = 0,
    H = 0,
    dpr = 1,
    patterns = {};

  function resize() {
    var r = cv.getBoundingClientRect();
    dpr = window.devicePixelRatio || 1;
    W = Math.max(200, r.width);
    H = Math.max(120, r.height);
    cv.width = Math.round(W * dpr);
    cv.height = Math.round(H * dpr);
  }
  if (window.ResizeObserver) {
    new ResizeObserver(resize).observe(cv);
  } else {
    window.addEventListener('resize', resize);
  }

  function makePatterns() {
    var out = {};
    keys.forEach(function(k, i) {
      var c = document.createElement('canvas');
      c.width = c.height = 8;
      var g = c.getContext('2d');
      g.fillStyle = colors[k];
      g.fillRect(0, 0, 8, 8);
      g.strokeStyle = 'rgba(255,255,255,0.45)';
      g.lineWidth = 1.5;
      g.beginPath();
      if (i % 4 === 0) {
        g.moveTo(0, 8);
        g.lineTo(8, 0);
      } else if (i % 4 === 1) {
        g.moveTo(0, 0);
        g.lineTo(8, 8);
      } else if (i % 4 === 2) {
        g.moveTo(0, 4);
        g.lineTo(8, 4);
      } else {
        g.moveTo(4, 0);
        g.lineTo(4, 8);
      }
      if (i >= 4) {
        g.moveTo(0, 0);
        g.lineTo(8, 8);
      }
      g.stroke();
      out[k] = ctx.createPattern(c, 'repeat');
    });
    return out;
  }

  function total(m) {
    var t = 0;
    for (var i = 0; i < keys.length; i++) {
      t += m.protocols[keys[i]] || 0;
    }
    return t;
  }
  // One frame: the samples slide left between arrivals so the chart moves at the display's
  // rate; between samples only the offset changes. No DOM is read or written here.
  function frame(now) {
    if (!W) {
      resize();
    }
    var end = paused ? cursor : hist.length - 1;
    var n = Math.min(WINDOW, end + 1);
    var f = paused ? 1 : Math.min(1, (now - lastArrival) / interval);
    var L = 48,
      R = 8,
      T = 26,
      B = 20,
      pw = W - L - R,
      ph = H - T - B,
      dx = pw / (WINDOW - 1);
    var target = 1;
    for (var i = end - n + 1; i <= end; i++) {
      if (i >= 0) {
        var v = total(hist[i]);
        if (v > target) target = v;
      }
    }
    var goal = target * 1.1;
    yMax = paused || Math.abs(goal - yMax) < goal * 0.002 ? goal : yMax + (goal - yMax) * 0.15;
    if (yMax < 1) yMax = 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.font = '11px system-ui,sans-serif';
    ctx.fillStyle = css['--muted'];
    ctx.strokeStyle = css['--line'];
    ctx.lineWidth = 1;
    ctx.textAlign = 'left';
    ctx.fillText('packets/s', 2, 12);
    ctx.textAlign = 'right';
    for (var k = 0; k <= 4; k++) {
      var gy = T + ph * (1 - k / 4);
      ctx.beginPath();
      ctx.moveTo(L, gy);
      ctx.lineTo(W - R, gy);
      ctx.stroke();
      ctx.fillText(fmt(yMax * k / 4), L - 4, gy + 4);
    }
    if (n > 0) {
      ctx.save();
      ctx.beginPath();
      ctx.rect(L, T - 1, pw, ph + 2);
      ctx.clip();
      var x = function(j) {
        return L + pw - (end - j) * dx + (1 - f) * dx;
      };
      var y = function(v) {
        return T + ph * (1 - v / yMax);
      };
      var base = new Array(n).fill(0);
      keys.forEach(function(key) {
        ctx.beginPath();
        var j, idx;
        for (j = 0; j < n; j++) {
          idx = end - n + 1 + j;
          var v = (hist[idx].protocols[key] || 0);
          var px = x(idx),
            py = y(base[j] + v);
          if (j === 0) ctx.moveTo(px, py);
          else ctx.lineTo(px, py);
        }
        for (j = n - 1; j >= 0; j--) {
          idx = end - n + 1 + j;
          ctx.lineTo(x(idx), y(base[j]));
          base[j] += (hist[idx].protocols[key] || 0);
        }
        ctx.closePath();
        ctx.fillStyle = patterns[key] || colors[key];
        ctx.fill();
      });
      ctx.restore();
      ctx.fillStyle = css['--muted'];
      ctx.textAlign = 'left';
      ctx.fillText(iso(hist[Math.max(0, end - n + 1)].t), L, H - 5);
      ctx.textAlign = 'right';
      ctx.fillText(iso(hist[end].t) + ' UTC', W - R, H - 5);
    }
    if (domDirty && now - lastDom > 250) {
      lastDom = now;
      domDirty = false;
      dom();
    }
    requestAnimationFrame(frame);
  }
  // The numbers, tables and mix: redrawn at most four times a second.
  function shown() {
    return paused ? hist[cursor] : hist[hist.length - 1];
  }

  function dom() {
    var m = shown();
    if (!m) return;
    $('total-packets').textContent = m.total_packets;
    $('total-bytes').textContent = fmt(m.total_bytes);
    $('pps').textContent = fmt(m.packets);
    $('bps').textContent = fmt(m.bytes);
    $('cps').textContent = fmt(m.connections || 0);
    $('drops').textContent = m.drops;
    $('undecoded').textContent = m.undecoded || 0;
    $('clock').textContent = iso(m.t);
    if (m.e2e != null) $('latency').textContent = m.e2e < 1000 ? Math.round(m.e2e) + ' ms' : (m.e2e / 1000).toFixed(1) + ' s';
    fill($('talkers'), (m.top_talkers || []).map(function(t) {
      return h('tr', {}, [h('td', {
        'class': 'addr'
      }, [t.host]), h('td', {
        'class': 'num'
      }, [fmt(t.bytes)]), h('td', {
        'class': 'num'
      }, [t.packets])]);
    }));
    fill($('ports'), (m.top_ports || []).map(function(p) {
      return h('tr', {}, [h('td', {}, [p.proto + '/' + p.port]), h('td', {
        'class': 'num'
      }, [p.connections])]);
    }));
    fill($('recent'), (m.recent || []).map(function(c) {
      return h('tr', {}, [h('td', {
          'class': 'addr'
        }, [c.src + ':' + c.sport]), h('td', {
          'class': 'addr'
        }, [c.dst + ':' + c.dport]),
        h('td', {}, [c.proto]), h('td', {}, [c.service || '–']), h('td', {}, [c.state]), h('td', {
          'class': 'num'
        }, [fmt(c.bytes)])
      ]);
    }));
    var end = paused ? cursor : hist.length - 1,
      sums = {},
      all = 0;
    keys.forEach(function(k) {
      sums[k] = 0;
    });
    for (var i = Math.max(0, end - WINDOW + 1); i <= end; i++) {
      keys.forEach(function(k) {
        var v = hist[i].protocols[k] || 0;
        sums[k] += v;
        all += v;
      });
    }
    fill($('mix'), keys.filter(function(k) {
      return sums[k] > 0;
    }).map(function(k) {
      var pc = all ? sums[k] / all * 100 : 0;
      return h('div', {
        'class': 'mixrow'
      }, [h('span', {}, [k]), h('div', {
        'class': 'mixbar p-' + k,
        style: 'width:' + Math.max(1, pc).toFixed(1) + '%'
      }), h('span', {
        'class': 'num'
      }, [pc.toFixed(1) + '%'])]);
    }));
    $('scrub').max = String(Math.max(0, hist.length - 1));
    if (!paused) $('scrub').value = $('scrub').max;
    $('scrub-label').textContent = paused ? ('paused at ' + iso(m.t)) : 'live';
  }

  function summary(m) {
    var now = performance.now();
    if (lastArrival) {
      interval = Math.min(2000, Math.max(100, interval * 0.8 + (now - lastArrival) * 0.2));
    }
    lastArrival = now;
    m.e2e = (m.latency_ms || 0) + (m.sent_ms ? Math.max(0, Date.now() - m.sent_ms) : 0);
    hist.push(m);
    if (hist.length > HISTORY) {
      hist.shift();
      if (paused && cursor > 0) cursor--;
    }
    domDirty = true;
  }
  // Alerts: newest episode first; a new or grown episode flashes with its label.
  function alertMsg(a) {
    var old = alerts[a.id];
    alerts[a.id] = a;
    fresh[a.id] = old ? 'grown' : 'new';
    var ids = Object.keys(alerts);
    if (ids.length > 2000) {
      delete alerts[ids[0]];
    }
    feed();
  }

  function target(a) {
    return a.dst || (a.dsts || []).slice(0, 3).join(', ') + ((a.dst_count || 0) > 3 ? ' … (' + a.dst_count + ')' : '');
  }

  function feed() {
    var list = Object.keys(alerts).map(function(k) {
      return alerts[k];
    }).sort(function(a, b) {
      return b.end - a.end || b.id - a.id;
    }).slice(0, 200);
    var sev = {
      critical: 0,
      high: 0,
      medium: 0,
      low: 0
    };
    Object.keys(alerts).forEach(function(k) {
      sev[alerts[k].severity] = (sev[alerts[k].severity] || 0) + 1;
    });
    $('alert-count').textContent = Object.keys(alerts).length;
    $('sev-counts').textContent = (sev.critical ? 'critical ' + sev.critical + ' · ' : '') + 'high ' + sev.high + ' · medium ' + sev.medium + ' · low ' + sev.low;
    fill($('feed'), list.map(function(a) {
      var li = h('li', {
        'data-id': a.id,
        tabindex: '0'
      }, [h('span', {
          'class': 'sev ' + a.severity
        }, [a.severity]),
        h('span', {}, [a.kind]), h('span', {
          'class': 'what'
        }, [a.src + ' → ' + target(a) + ((a.ports || []).length ? ' ports ' + (a.ports || []).slice(0, 6).join(',') : '')]),
        h('span', {
          'class': 'muted'
        }, [iso(a.end)])
      ]);
      if (fresh[a.id]) {
        li.className = 'flash';
        li.appendChild(h('span', {
          'class': 'tag'
        }, [fresh[a.id]]));
      }
      li.onclick = function() {
        open(a.id);
      };
      li.onkeydown = function(e) {
        if (e.key === 'Enter') open(a.id);
      };
      return li;
    }));
    fresh = {};
  }

  function kv(obj) {
    return h('dl', {
      'class': 'kv'
    }, Object.keys(obj || {}).reduce(function(out, k) {
      var v = obj[k];
      out.push(h('dt', {}, [k]));
      out.push(h('dd', {}, [typeof v === 'object' ? JSON.stringify(v) : String(v)]));
      return out;
    }, []));
  }

  function open(id) {
    var a = alerts[id];
    if (!a) return;
    var body = $('detail-body');
    var conns = h('div', {}, [h('p', {
      'class': 'muted'
    }, ['loading the connections…'])]);
    fill(body, [h('h2', {}, ['#' + a.id + ' ' + a.kind + ' ']), h('p', {}, [h('span', {
        'class': 'sev ' + a.severity
      }, [a.severity]), ' ' + a.src + ' → ' + target(a) + ' · ' + iso(a.start) + '–' + iso(a.end) + ' UTC · ' + (a.flows || 0) + ' connections' + (a.technique ? ' · ' + a.technique : '')]),
      h('h2', {}, ['why']), kv(a.why), h('h2', {}, ['evidence']), kv(a.evidence), h('h2', {}, ['connections']), conns
    ]);
    $('detail').showModal();
    loadConnections(id, conns, 0);
  }

  function loadConnections(id, box, tries) {
    var token = new URLSearchParams(location.search).get('token');
    fetch('/api/alert?id=' + encodeURIComponent(id) + (token ? '&token=' + encodeURIComponent(token) : '')).then(function(r) {
      return r.json();
    }).then(function(d) {
      if (!d.connections.length && tries < 5) {
        setTimeout(function() {
          loadConnections(id, box, tries + 1);
        }, 1500);
        return;
      }
      fill(box, [d.connections.length ? h('div', {
        'class': 'table-box'
      }, [h('table', {}, [h('thead', {}, [h('tr', {}, ['start', 'source', 'destination', 'proto', 'service', 'state', 'orig bytes', 'resp bytes'].map(function(t) {
          return h('th', {}, [t]);
        }))]),
        h('tbody', {}, d.connections.map(function(c) {
          return h('tr', {}, [h('td', {}, [iso(Number(c.ts))]), h('td', {
              'class': 'addr'
            }, [c.orig_h + ':' + c.orig_p]), h('td', {
              'class': 'addr'
            }, [c.resp_h + ':' + c.resp_p]),
            h('td', {}, [c.proto]), h('td', {}, [c.service || '–']), h('td', {}, [c.conn_state]), h('td', {
              'class': 'num'
            }, [c.orig_bytes]), h('td', {
              'class': 'num'
            }, [c.resp_bytes])
          ]);
        }))
      ])]) : h('p', {
        'class': 'muted'
      }, ['not in the store yet'])]);
    }).catch(function() {
      fill(box, [h('p', {
        'class': 'muted'
      }, ['connections unavailable'])]);
    });
  }
  $('pause').onclick = function() {
    paused = !paused;
    this.setAttribute('aria-pressed', String(paused));
    this.textContent = paused ? 'Resume' : 'Pause';
    $('scrub').disabled = !paused;
    cursor = hist.length - 1;
    $('scrub').value = String(cursor);
    domDirty = true;
  };
  $('scrub').oninput = function() {
    cursor = Math.min(hist.length - 1, Number(this.value));
    domDirty = true;
  };

  function connect() {
    var token = new URLSearchParams(location.search).get('token');
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws' + (token ? '?token=' + encodeURIComponent(token) : '');
    var ws = new WebSocket(url);
    $('status').textContent = 'connecting';
    $('status').className = '';
    ws.onopen = function() {
      retry = 1000;
      $('status').textContent = 'live';
      $('status').className = 'open';
    };
    ws.onmessage = function(e) {
      var m = JSON.parse(e.data);
      if (m.type === 'summary') {
        if (waiting) {
          waiting = false;
          $('status').textContent = 'live';
        }
        summary(m);
      } else if (m.type === 'alert') alertMsg(m);
      else if (m.type === 'end') {
        $('status').textContent = 'replay ended (' + m.total_packets + ' packets)';
      } else if (m.type === 'waiting') {
        waiting = true;
        $('status').textContent = 'waiting for ' + m.grpc_subscribers + ' gRPC subscriber' + (m.grpc_subscribers > 1 ? 's' : '') + ' on ' + m.address;
      }
    };
    ws.onclose = function() {
      $('status').textContent = 'reconnecting';
      $('status').className = 'closed';
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }
  fill($('legend'), keys.map(function(k) {
    return h('span', {}, [h('i', {
      'class': 'sw p-' + k
    }), k]);
  }));
  readColors();
  resize();
  connect();
  requestAnimationFrame(frame);
})();
