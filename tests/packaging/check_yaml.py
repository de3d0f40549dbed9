#!/usr/bin/env python3
"""Every YAML file under deploy/ and config/ parses (all documents of it), as does the ouroboros.yaml
embedded in the Kubernetes ConfigMap; every JSON file under deploy/ parses.
YAML needs python3-yaml: without it that part is skipped with a message (no dependency added).

usage: check_yaml.py REPO_ROOT
"""
import glob
import json
import os
import sys

root = os.path.abspath(sys.argv[1])
failed = False


def files(*patterns):
    out = set()
    for p in patterns:
        out.update(glob.glob(os.path.join(root, p), recursive=True))
    return sorted(f for f in out if "node_modules" not in f)


for path in files("deploy/**/*.json"):
    try:
        json.load(open(path, encoding="utf-8"))
        print(f"ok: {os.path.relpath(path, root)}")
    except ValueError as e:
        print(f"FAIL: {os.path.relpath(path, root)}: {e}")
        failed = True

try:
    import yaml
except ImportError:
    print("skipped the YAML part: python3-yaml is not installed (import yaml failed)")
    yaml = None

if yaml is not None:
    for path in files("deploy/**/*.yml", "deploy/**/*.yaml", "config/**/*.yml", "config/**/*.yaml"):
        rel = os.path.relpath(path, root)
        try:
            docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d is not None]
            if not docs:
                raise ValueError("no YAML document")
            for doc in docs:
                if isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
                    for key, value in (doc.get("data") or {}).items():
                        if key.endswith((".yaml", ".yml")):
                            yaml.safe_load(value)
            print(f"ok: {rel}")
        except (yaml.YAMLError, ValueError) as e:
            print(f"FAIL: {rel}: {e}")
            failed = True

sys.exit(1 if failed else 0)
