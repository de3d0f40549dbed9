#!/usr/bin/env python3
"""check_dockerfile.py must accept the repository's Dockerfile and reject broken variants of it
(each run on a scratch copy of the files the Dockerfile uses).

usage: test_check_dockerfile.py REPO_ROOT
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(sys.argv[1])
CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_dockerfile.py")
FILES = ["CMakeLists.txt", "Dockerfile", ".dockerignore", "deploy/install-deps.sh", "deploy/docker/build.sh",
         "deploy/docker/healthcheck.sh", "deploy/docker/ouroboros.yaml"]


def scratch():
    d = tempfile.mkdtemp(prefix="ouro-dockerfile-")
    for f in FILES:
        os.makedirs(os.path.join(d, os.path.dirname(f)), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), os.path.join(d, f))
    os.makedirs(os.path.join(d, "src"))  # the sources' directory (empty: only its presence matters)
    return d


def edit(d, path, old, new):
    p = os.path.join(d, path)
    text = open(p).read()
    assert old in text, f"{old!r} not in {path}"
    open(p, "w").write(text.replace(old, new, 1))


def append(d, path, text):
    with open(os.path.join(d, path), "a") as f:
        f.write(text)


def chmod_minus_x(d, path):
    p = os.path.join(d, path)
    os.chmod(p, os.stat(p).st_mode & ~(stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))


CASES = [
    ("missing COPY source", "does not exist",
     lambda d: edit(d, "Dockerfile", "COPY deploy/docker/ouroboros.yaml", "COPY deploy/docker/missing.yaml")),
    ("build commands in the Dockerfile", "belong in deploy/docker/build.sh",
     lambda d: edit(d, "Dockerfile", "RUN deploy/docker/build.sh /src/build-release",
                    "RUN cmake -S . -B /src/build-release -G Ninja && cmake --build /src/build-release")),
    ("build.sh not executable", "not executable", lambda d: chmod_minus_x(d, "deploy/docker/build.sh")),
    ("healthcheck not executable", "not executable", lambda d: chmod_minus_x(d, "deploy/docker/healthcheck.sh")),
    ("script excluded by .dockerignore", ".dockerignore", lambda d: append(d, ".dockerignore", "deploy/docker\n")),
    ("binary copied from elsewhere", "builds /src/build-release/src/app/ouroboros",
     lambda d: edit(d, "Dockerfile", "/src/build-release/src/app/ouroboros", "/src/build/src/app/ouroboros")),
    ("sources excluded by .dockerignore", "src is excluded", lambda d: append(d, ".dockerignore", "src\n")),
    ("root user", "non-root", lambda d: edit(d, "Dockerfile", "USER 10001:10001", "USER root")),
    ("other entrypoint", "ENTRYPOINT", lambda d: edit(d, "Dockerfile", '"--config", ', "")),
    ("health probe not copied", "is not copied",
     lambda d: edit(d, "Dockerfile", 'CMD ["/usr/local/bin/ouroboros-healthcheck"]', 'CMD ["/usr/local/bin/probe"]')),
    ("runtime deps missing", "--runtime",
     lambda d: edit(d, "Dockerfile", "/tmp/install-deps.sh --runtime", "/tmp/install-deps.sh --build")),
]


def run(d):
    return subprocess.run([sys.executable, CHECKER, d], capture_output=True, text=True)


def main():
    failures = 0
    d = scratch()
    r = run(d)
    shutil.rmtree(d)
    if r.returncode != 0:
        print("FAIL: the unmodified Dockerfile is rejected:\n" + r.stdout + r.stderr)
        failures += 1
    for name, expected, mutate in CASES:
        d = scratch()
        try:
            mutate(d)
            r = run(d)
        finally:
            shutil.rmtree(d)
        if r.returncode == 0 or expected not in r.stdout:
            print(f"FAIL: {name}: expected a failure mentioning {expected!r}, got rc={r.returncode}:\n{r.stdout}{r.stderr}")
            failures += 1
        else:
            print(f"ok: {name}")
    sys.exit(1 if failures else 0)


main()
