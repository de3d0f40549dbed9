#!/usr/bin/env python3
"""Grafana dashboards under deploy/grafana/dashboards/: valid JSON with a uid, unique panel ids,
non-overlapping panels, every query on the `datasource` variable or the provisioned datasource,
and every PromQL expression (panel targets and label_values() selectors, Grafana variables
replaced by sample values) accepted by `promtool check rules`.

usage: check_dashboard.py PROMTOOL REPO_ROOT
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

promtool, root = sys.argv[1], os.path.abspath(sys.argv[2])
errors = []


def error(msg):
    errors.append(msg)


def provisioned_uids():
    uids = set()
    for path in glob.glob(os.path.join(root, "deploy/grafana/provisioning/datasources/*.yml")):
        uids.update(re.findall(r"^\s*uid:\s*(\S+)", open(path, encoding="utf-8").read(), re.M))
    return uids


def promql(expr):
    """Grafana's variables replaced so promtool can parse the expression."""
    expr = re.sub(r"\$__(rate_interval|interval|range)\b", "5m", expr)
    expr = re.sub(r"\[\$\{?\w+\}?\]", "[5m]", expr)
    return re.sub(r"\$\{?(\w+)(?::\w+)?\}?", ".*", expr)


def panels_of(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        for inner in panel.get("panels", []):
            yield inner


def main():
    uids = provisioned_uids()
    expressions = []
    paths = sorted(glob.glob(os.path.join(root, "deploy/grafana/dashboards/*.json")))
    if not paths:
        error("no dashboard JSON under deploy/grafana/dashboards/")
    for path in paths:
        rel = os.path.relpath(path, root)
        try:
            dashboard = json.load(open(path, encoding="utf-8"))
        except ValueError as e:
            error(f"{rel}: {e}")
            continue
        if not dashboard.get("uid") or not dashboard.get("title"):
            error(f"{rel}: needs a uid and a title (provisioned dashboards are found by uid)")
        if dashboard.get("id") not in (None,):
            error(f"{rel}: remove the instance-specific top-level id")
        variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
        for v in variables.values():
            m = re.match(r"label_values\((.*),\s*\w+\)$", str(v.get("definition") or v.get("query", "")))
            if v.get("type") == "query" and m:
                expressions.append((f"{rel}: variable {v['name']}", m.group(1)))
        seen_ids, cells = set(), {}
        for panel in panels_of(dashboard):
            title = f"{rel}: panel '{panel.get('title')}'"
            if panel.get("id") in seen_ids:
                error(f"{title}: duplicate id {panel.get('id')}")
            seen_ids.add(panel.get("id"))
            g = panel.get("gridPos", {})
            if not all(k in g for k in "hwxy") or g["x"] + g["w"] > 24:
                error(f"{title}: bad gridPos {g}")
                continue
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    if (x, y) in cells:
                        error(f"{title}: overlaps panel '{cells[(x, y)]}'")
                        break
                    cells[(x, y)] = panel.get("title")
                else:
                    continue
                break
            if panel.get("type") == "row":
                continue
            targets = panel.get("targets", [])
            if not targets:
                error(f"{title}: no queries")
            ref_ids = [t.get("refId") for t in targets]
            if len(set(ref_ids)) != len(ref_ids):
                error(f"{title}: duplicate refIds {ref_ids}")
            for t in targets + [panel]:
                ds = t.get("datasource")
                if ds is None:
                    continue
                uid = ds.get("uid") if isinstance(ds, dict) else ds
                if uid == "${datasource}":
                    if "datasource" not in variables:
                        error(f"{title}: uses ${{datasource}} but the dashboard has no datasource variable")
                elif uid not in uids:
                    error(f"{title}: datasource {uid!r} is neither ${{datasource}} nor provisioned ({sorted(uids)})")
            for t in targets:
                if not t.get("expr"):
                    error(f"{title}: target {t.get('refId')} has no expr")
                else:
                    expressions.append((f"{title} {t.get('refId')}", t["expr"]))

    if expressions:
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, (where, expr) in enumerate(expressions):
                f.write(f"      - record: dashboard:expr_{i}\n        expr: {json.dumps(promql(expr))}\n")
            rules = f.name
        try:
            r = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True, timeout=60)
        finally:
            os.unlink(rules)
        if r.returncode != 0:
            out = r.stdout + r.stderr
            for i, (where, expr) in reversed(list(enumerate(expressions))):
                out = out.replace(f"dashboard:expr_{i}", f"{where}")
            error(f"promtool rejects dashboard expressions:\n{out}")
        else:
            print(f"ok: promtool accepts all {len(expressions)} dashboard expressions")

    for e in errors:
        print("error:", e)
    return 1 if errors else 0


sys.exit(main())
