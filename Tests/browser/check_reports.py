#!/usr/bin/env python3
"""Loads AetherLens reports in headless Chromium (the system's, driven by Playwright) with the
network refused, and checks: zero console errors, zero requests beyond the file itself, no
element smuggled in from packet data, and the numbers equal `stats --json` / `alerts --json`.
Leaves a PNG screenshot of each report under reports/ for a person to look at.

Usage: check_reports.py AETHER_BINARY OUT_DIR CAPTURE...   (exit 1 on any failure)"""
import json
import os
import subprocess
import sys

from playwright.sync_api import sync_playwright

MARKUP = ["<script>alert(1)</script>", 'onerror=alert(2)', "</title><script>alert(3)</script>",
          'onerror=alert(4)', "</title><script>alert(5)</script>", "<svg onload=alert(6)>"]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def main():
    aether, out_dir, captures = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    failures = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND"])
        for cap in captures:
            name = os.path.basename(cap).split(".")[0]
            db = os.path.join(out_dir, name + ".sqlite")
            html = os.path.join(out_dir, name + ".html")
            for suffix in ["", "-wal", "-shm"]:
                if os.path.exists(db + suffix):
                    os.remove(db + suffix)
            code, _, err = run([aether, "analyze", cap, "--db", db, "--report", html, "--force"])
            if code != 0 or not os.path.exists(html):
                failures.append(f"{name}: analyze failed ({code}): {err.strip()}")
                continue
            # The page assets are files with markers (`/*@name*/`) the tool fills: none is left.
            if "/*@" in open(html, encoding="utf-8").read():
                failures.append(f"{name}: an asset marker was left unfilled")
            stats = json.loads(run([aether, "stats", "--db", db, "--json"])[1])
            if stats["packets"] == 0 and name != "empty":
                failures.append(f"{name}: no packets")
            alerts = json.loads(run([aether, "alerts", "--db", db, "--json"])[1])

            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            errors, requests = [], []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            url = "file://" + os.path.abspath(html)
            page.goto(url)
            page.wait_for_load_state("load")
            others = [u for u in requests if u != url]
            if errors:
                failures.append(f"{name}: console errors: {errors}")
            if others:
                failures.append(f"{name}: the report made requests: {others[:5]}")
            # Only our two script elements; no element or handler came from packet data.
            scripts = page.evaluate("document.querySelectorAll('script').length")
            injected = page.evaluate("""() => document.querySelectorAll('img, iframe, object, embed, [onerror], [onload], body svg[onload]').length""")
            if scripts != 2:
                failures.append(f"{name}: {scripts} script elements (expected 2)")
            if injected:
                failures.append(f"{name}: {injected} elements with handlers or images in the DOM")
            if page.title() != "AetherLens incident report":
                failures.append(f"{name}: title changed to {page.title()!r}")
            if name == "markup":
                text = page.evaluate("document.body.innerText")
                for m in MARKUP:
                    if m not in text:
                        failures.append(f"markup: {m!r} not shown as text")
            # The report's numbers are the store's.
            data = json.loads(page.evaluate("document.getElementById('aether-data').textContent"))
            for k in ["packets", "bytes", "wire_bytes", "flows", "connections", "ipv6_packets", "vlan_packets", "dns_queries",
                      "tls_sni", "http_hosts", "protocols"]:
                if data["stats"][k] != stats[k]:
                    failures.append(f"{name}: report {k}={data['stats'][k]!r}, stats --json {stats[k]!r}")
            shown = page.evaluate("document.querySelector('[data-stat=\"packets\"]').textContent")
            if int(shown) != stats["packets"]:
                failures.append(f"{name}: shown packets {shown} != {stats['packets']}")
            key = lambda a: (a["kind"], a["src"], a.get("dst") or ",".join(sorted(a.get("dsts", []))))
            if sorted(map(key, data["alerts"])) != sorted(map(key, alerts)):
                failures.append(f"{name}: report alerts differ from alerts --json")
            rows = page.evaluate("document.querySelectorAll('#alert-table tbody tr').length") if alerts else 0
            if rows != len(alerts):
                failures.append(f"{name}: alert table has {rows} rows, alerts --json {len(alerts)}")
            # At 1300 px ids, severity badges, timestamps and hashes keep to one line (readability:
            # an id of 10 wrapped to "1" over "0", "medium" to "mediu"/"m").
            page.set_viewport_size({"width": 1300, "height": 900})
            wrapped = page.evaluate("""() => {
                const bad = [];
                // Lines the element's text occupies: the height of its text's boxes in line heights.
                const lines = (el) => { const r = document.createRange(); r.selectNodeContents(el);
                    const boxes = Array.from(r.getClientRects()).filter(b => b.width > 0);
                    if (!boxes.length) return 0;
                    const h = Math.max(...boxes.map(b => b.bottom)) - Math.min(...boxes.map(b => b.top));
                    return h / (parseFloat(getComputedStyle(el).fontSize) * 1.5); };
                document.querySelectorAll('#alert-table td:first-child a, .sev, td.keep, code.hash, code.path').forEach(el => {
                    if (lines(el) > 1.6) bad.push(el.textContent.slice(0, 40));
                });
                return bad;
            }""")
            if wrapped:
                failures.append(f"{name}: wrapped at 1300 px: {wrapped[:5]}")
            # Sorting works (a click reorders without errors).
            if page.locator("#conversations th").count():
                page.locator("#conversations th").nth(4).click()
            page.screenshot(path=os.path.join(out_dir, name + ".png"), full_page=False)
            print(f"report ok: {name}: {stats['packets']} packets, {len(alerts)} alerts, {os.path.getsize(html)} bytes") if not [f for f in failures if f.startswith(name)] else None
            context.close()
        browser.close()
    for f in failures:
        print("FAIL " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
