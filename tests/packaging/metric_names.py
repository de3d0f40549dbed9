#!/usr/bin/env python3
"""The Ouroboros metric names the Grafana dashboards and Prometheus rules use, checked against a
real /metrics scrape.

Names are every `ouroboros_[a-z_]+` in deploy/grafana/**/*.json and deploy/prometheus/*.yml, with
a histogram's _bucket/_sum/_count suffix removed.

usage:
  metric_names.py [--root REPO] --list          print the names used, one per line
  metric_names.py [--root REPO] SCRAPE           exit 1 and list the names SCRAPE lacks
SCRAPE is a file holding a Prometheus text exposition (e.g. `curl -s host:9930/metrics`),
`-` for standard input, or an http:// URL to fetch.
"""
import argparse
import glob
import os
import re
import sys
import urllib.request

NAME = re.compile(r"ouroboros_[a-z_]+")
SUFFIXES = ("_bucket", "_sum", "_count")


def base_name(name):
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def source_files(root):
    files = glob.glob(os.path.join(root, "deploy", "grafana", "**", "*.json"), recursive=True)
    files += glob.glob(os.path.join(root, "deploy", "prometheus", "*.yml"))
    return sorted(files)


def used_names(root):
    """{metric name: [files that use it]}"""
    names = {}
    for path in source_files(root):
        text = open(path, encoding="utf-8").read()
        for name in NAME.findall(text):
            names.setdefault(base_name(name), set()).add(os.path.relpath(path, root))
    return {k: sorted(v) for k, v in names.items()}


def scraped_names(text):
    """Metric family names in a Prometheus text exposition: # TYPE / # HELP names and sample names
    (samples with _bucket/_sum/_count also count for their family)."""
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split()
            if len(parts) >= 3 and parts[1] in ("TYPE", "HELP"):
                names.add(parts[2])
            continue
        m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
        if m:
            names.add(m.group(0))
            names.add(base_name(m.group(0)))
    return names


def read_scrape(source):
    if source == "-":
        return sys.stdin.read()
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as response:
            return response.read().decode("utf-8")
    return open(source, encoding="utf-8").read()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    parser.add_argument("--list", action="store_true", help="print the metric names used and exit")
    parser.add_argument("scrape", nargs="?")
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)

    used = used_names(root)
    if not used:
        print(f"no ouroboros_* metric names found under {root}/deploy", file=sys.stderr)
        return 1
    if args.list:
        print("\n".join(sorted(used)))
        return 0
    if not args.scrape:
        parser.error("give a scrape (file, - or URL) or --list")

    available = scraped_names(read_scrape(args.scrape))
    missing = sorted(n for n in used if n not in available)
    for name in missing:
        print(f"missing from the scrape: {name} (used in {', '.join(used[name])})")
    if missing:
        return 1
    print(f"all {len(used)} metric names used by the dashboards and alert rules are in the scrape")
    return 0


if __name__ == "__main__":
    sys.exit(main())
