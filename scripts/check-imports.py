#!/usr/bin/env python3
"""Fails when a Swift module imports a module that Package.swift does not declare as its
dependency (a target, or a product of a package), so that the manifest stays the true map of
what depends on what. The toolchain's own modules are always allowed.
Usage: check-imports.py   (from the checkout; reads `swift package dump-package`)"""
import json
import os
import re
import subprocess
import sys

TOOLCHAIN = {"Foundation", "FoundationEssentials", "Glibc", "Dispatch", "Synchronization", "XCTest", "Testing", "_StringProcessing", "os"}

manifest = json.loads(subprocess.run(["swift", "package", "dump-package"], capture_output=True, text=True, check=True).stdout)
problems = []
for target in manifest["targets"]:
    if target["type"] == "system":
        continue
    declared = {target["name"]}
    for dep in target["dependencies"]:
        kind, value = next(iter(dep.items()))
        declared.add(value[0])
    folder = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", target["name"])
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            if not name.endswith(".swift"):
                continue
            path = os.path.join(root, name)
            for n, line in enumerate(open(path, encoding="utf-8"), 1):
                m = re.match(r"\s*(?:@testable\s+|@_exported\s+|public\s+|package\s+|internal\s+)?import\s+(?:struct\s+|class\s+|enum\s+|func\s+)?([A-Za-z_][A-Za-z0-9_]*)", line)
                if m and m.group(1) not in declared and m.group(1) not in TOOLCHAIN:
                    problems.append(f"{path}:{n}: imports {m.group(1)}, which Package.swift does not declare for {target['name']}")
for p in problems:
    print(p)
print(f"imports: {len(problems)} undeclared" if problems else "imports ok: every module a target imports is declared in Package.swift")
sys.exit(1 if problems else 0)
