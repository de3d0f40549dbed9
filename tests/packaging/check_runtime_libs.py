#!/usr/bin/env python3
"""Every shared library the ouroboros binary loads comes from a package the runtime image has:
one of `deploy/install-deps.sh --runtime`'s packages, their dependencies, or the packages every
Debian image has (priority required, and apt with its dependencies). This is what keeps the
slim image from failing at start with "error while loading shared libraries".
Uses this machine's dpkg database (Debian 12, as the image); exits 77 (skipped) without dpkg.

usage: check_runtime_libs.py OUROBOROS_BINARY REPO_ROOT
"""
import os
import re
import shutil
import subprocess
import sys

SKIP = 77
binary, root = sys.argv[1], os.path.abspath(sys.argv[2])
if not shutil.which("dpkg-query") or not shutil.which("ldd"):
    print("skipped: dpkg-query or ldd not found")
    sys.exit(SKIP)

script = open(os.path.join(root, "deploy/install-deps.sh"), encoding="utf-8").read()
runtime = re.search(r"RUNTIME_PKGS=\(([^)]*)\)", script)
if not runtime:
    print("error: no RUNTIME_PKGS=( ... ) in deploy/install-deps.sh")
    sys.exit(1)
runtime_pkgs = runtime.group(1).split()

# The installed packages: name -> (priority, [dependency alternatives]).
status = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Priority}\t${Pre-Depends}, ${Depends}\t${Provides}\n"],
                        capture_output=True, text=True, check=True).stdout
packages, provides = {}, {}
for line in status.splitlines():
    name, priority, depends, provided = (line.split("\t") + ["", "", ""])[:4]
    alternatives = []
    for clause in depends.split(","):
        names = [re.sub(r"[\s(:].*", "", a.strip()) for a in clause.split("|") if a.strip()]
        if names:
            alternatives.append(names)
    packages[name] = (priority, alternatives)
    for p in provided.split(","):
        p = re.sub(r"[\s(].*", "", p.strip())
        if p:
            provides.setdefault(p, []).append(name)

allowed, todo = set(), list(runtime_pkgs) + ["apt"] + [n for n, (prio, _) in packages.items() if prio == "required"]
while todo:
    name = todo.pop()
    for real in [name] + provides.get(name, []):
        if real in allowed or real not in packages:
            continue
        allowed.add(real)
        for alternatives in packages[real][1]:
            todo.extend(alternatives)

ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
failed = False
for line in ldd.splitlines():
    m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
    if not m:
        continue
    lib = m.group(1)
    owners = set()
    for path in {lib, os.path.realpath(lib)}:
        r = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True)
        if r.returncode != 0 and path.startswith("/lib"):  # merged /usr: dpkg knows /usr/lib/...
            r = subprocess.run(["dpkg-query", "-S", "/usr" + path], capture_output=True, text=True)
        for out in r.stdout.splitlines():
            owners.update(o.strip().split(":")[0] for o in out.split(":", 1)[0].split(","))
    if not owners:
        print(f"FAIL: {lib} belongs to no Debian package (a locally built library the image lacks)")
        failed = True
    elif not owners & allowed:
        print(f"FAIL: {lib} comes from {', '.join(sorted(owners))}, which install-deps.sh --runtime does not install")
        failed = True
    else:
        print(f"ok: {lib} ({', '.join(sorted(owners))})")
sys.exit(1 if failed else 0)
