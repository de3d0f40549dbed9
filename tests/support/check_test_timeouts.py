#!/usr/bin/python3
"""Fails when a test of the build tree (argv[1]) has no ctest TIMEOUT: a hang must fail its test,
not stop the whole run. Reads `ctest --show-only=json-v1`."""
import json
import subprocess
import sys

build_dir = sys.argv[1]
out = subprocess.run(["ctest", "--test-dir", build_dir, "--show-only=json-v1"], check=True,
                     capture_output=True, text=True, timeout=60).stdout
tests = json.loads(out)["tests"]
without = []
for test in tests:
    props = {p["name"]: p["value"] for p in test.get("properties", [])}
    if not props.get("TIMEOUT"):
        without.append(test["name"])
print(f"{len(tests)} tests, {len(tests) - len(without)} with a TIMEOUT")
if without:
    print("tests without a TIMEOUT (set one, e.g. with ouro_test_timeout):\n  " + "\n  ".join(without))
    sys.exit(1)
