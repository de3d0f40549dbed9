#!/usr/bin/env python3
"""Static checks of the Dockerfile (no Docker engine needed).

- every COPY/ADD source from the build context exists in the repository and is not excluded by
  .dockerignore;
- every script a RUN, HEALTHCHECK or ENTRYPOINT executes by path was copied into the image from
  the repository, exists, is executable and is not excluded by .dockerignore;
- the build stage builds by calling deploy/docker/build.sh (which also builds outside Docker) and
  does not repeat its cmake/ninja commands; the binary the runtime stage copies is where build.sh
  puts it;
- the runtime stage: debian:bookworm-slim, install-deps.sh --runtime, a non-root USER, EXPOSE 6432
  9930, STOPSIGNAL SIGTERM, a HEALTHCHECK, the agreed ENTRYPOINT.

usage: check_dockerfile.py REPO_ROOT
"""
import json
import os
import posixpath
import re
import shlex
import sys

BUILD_SCRIPT = "deploy/docker/build.sh"
ENTRYPOINT = ["ouroboros", "--config", "/etc/ouroboros/ouroboros.yaml"]

errors = []


def error(msg):
    errors.append(msg)


def instructions(text):
    """(line number, KEYWORD, arguments) with continuation lines joined and comments dropped."""
    out = []
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped by Docker too
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        pending += stripped
        keyword, _, args = pending.partition(" ")
        out.append((start, keyword.upper(), args.strip()))
        pending = ""
    if pending:
        error("Dockerfile ends inside a continued instruction")
    return out


def exec_form(args):
    """A JSON array (exec form) or None (shell form)."""
    if args.startswith("["):
        try:
            value = json.loads(args)
        except ValueError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return None


def dockerignore_rules(root):
    path = os.path.join(root, ".dockerignore")
    rules = []
    if not os.path.exists(path):
        return rules
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = posixpath.normpath(line.lstrip("!").strip().lstrip("/"))
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**", i):
                regex += ".*"
                i += 2
                if pattern.startswith("/", i):
                    regex = regex[:-2] + "(?:.*/)?"
                    i += 1
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        rules.append((re.compile(regex + r"\Z"), negate, line))
    return rules


def ignored_by(rules, relpath):
    """The .dockerignore line that excludes relpath (or one of its parents), or None."""
    relpath = posixpath.normpath(relpath)
    if relpath == ".":
        return None
    parts = relpath.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = None
    for regex, negate, line in rules:
        if any(regex.match(c) for c in candidates):
            verdict = None if negate else line
    return verdict


class Stage:
    def __init__(self, image, name):
        self.image, self.name = image, name
        self.workdir = "/"
        self.copies = []  # (repo source or None for --from, in-image destination, from stage)
        self.runs = []
        self.user = None
        self.expose = []
        self.stopsignal = None
        self.healthcheck = None
        self.entrypoint = None


def resolve_in_image(stage, path):
    """What provides `path` inside this stage: ("repo", repository path), ("from-stage", (stage,
    source)) or None."""
    path = posixpath.normpath(posixpath.join(stage.workdir, path))
    for source, dest, from_stage in reversed(stage.copies):
        if source is None:
            if dest == path:
                return ("from-stage", from_stage)
        elif dest == path:
            return ("repo", source)
        elif source_is_dir(source) and path.startswith(dest.rstrip("/") + "/"):
            return ("repo", posixpath.normpath(posixpath.join(source, posixpath.relpath(path, dest))))
    return None


def source_is_dir(source):
    return os.path.isdir(os.path.join(ROOT, source))


def executed_paths(command):
    """Paths that a shell command executes directly: the first word of each simple command."""
    found = []
    for segment in re.split(r"&&|\|\||;|\|", command):
        try:
            words = shlex.split(segment)
        except ValueError:
            words = segment.split()
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words = words[1:]
        if not words:
            continue
        if words[0] in ("bash", "sh") and len(words) > 1 and not words[1].startswith("-"):
            found.append((words[1], False))
        elif "/" in words[0]:
            found.append((words[0], True))
    return found


def check_executed(stage, path, needs_exec_bit, where):
    if not path.startswith("/") and "/" not in path:
        return
    if path.startswith(("/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/")):
        return
    provider = resolve_in_image(stage, path)
    if provider is None:
        error(f"{where}: {path} is not copied into stage '{stage.name}' from the repository")
        return
    kind, source = provider
    if kind == "from-stage":
        return
    check_repo_file(source, where, needs_exec_bit)


def check_repo_file(source, where, needs_exec_bit=False):
    full = os.path.join(ROOT, source)
    if not os.path.exists(full):
        error(f"{where}: {source} does not exist in the repository")
        return
    rule = ignored_by(IGNORE, source)
    if rule:
        error(f"{where}: {source} is excluded from the build context by .dockerignore line '{rule}'")
    if needs_exec_bit and os.path.isfile(full) and not os.access(full, os.X_OK):
        error(f"{where}: {source} is run directly but is not executable (chmod +x)")


def main():
    text = open(os.path.join(ROOT, "Dockerfile"), encoding="utf-8").read()
    stages = []
    for number, keyword, args in instructions(text):
        where = f"Dockerfile:{number}"
        if keyword == "FROM":
            m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", args, re.I)
            if not m:
                error(f"{where}: cannot parse FROM {args}")
                continue
            stages.append(Stage(m.group(1), m.group(2) or str(len(stages))))
            continue
        if not stages:
            if keyword != "ARG":
                error(f"{where}: {keyword} before FROM")
            continue
        stage = stages[-1]
        if keyword == "WORKDIR":
            stage.workdir = posixpath.normpath(posixpath.join(stage.workdir, args))
        elif keyword in ("COPY", "ADD"):
            words = exec_form(args) or shlex.split(args)
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            if len(paths) < 2:
                error(f"{where}: {keyword} needs a source and a destination")
                continue
            from_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
            dest = paths[-1]
            into_dir = dest.endswith("/") or dest == "." or len(paths) > 2
            dest_abs = posixpath.normpath(posixpath.join(stage.workdir, dest))
            for source in paths[:-1]:
                if from_stage is not None:
                    target = posixpath.join(dest_abs, posixpath.basename(source)) if into_dir else dest_abs
                    stage.copies.append((None, target, (from_stage, source)))
                    continue
                if re.match(r"^[a-z]+://", source):
                    error(f"{where}: {keyword} from a URL ({source}): only repository files are allowed")
                    continue
                norm = posixpath.normpath(source.lstrip("/"))
                if any(ch in norm for ch in "*?["):
                    error(f"{where}: wildcard source {source}: name the files so they can be checked")
                    continue
                check_repo_file(norm, where)
                if into_dir and not source_is_dir(norm):
                    stage.copies.append((norm, posixpath.join(dest_abs, posixpath.basename(norm)), None))
                else:
                    stage.copies.append((norm, dest_abs, None))
        elif keyword == "RUN":
            command = " ".join(exec_form(args) or []) if exec_form(args) else args
            stage.runs.append((number, command))
            for path, direct in executed_paths(command):
                check_executed(stage, path, direct, where)
        elif keyword == "USER":
            stage.user = args
        elif keyword == "EXPOSE":
            stage.expose += args.split()
        elif keyword == "STOPSIGNAL":
            stage.stopsignal = args
        elif keyword == "HEALTHCHECK":
            stage.healthcheck = args
            m = re.search(r"\bCMD\s+(.*)$", args)
            if m:
                cmd = exec_form(m.group(1))
                if cmd:
                    check_executed(stage, cmd[0], True, where)
                else:
                    for path, direct in executed_paths(m.group(1)):
                        check_executed(stage, path, direct, where)
        elif keyword == "ENTRYPOINT":
            stage.entrypoint = exec_form(args)

    if len(stages) < 2:
        error("expected a multi-stage build (build + runtime)")
        return
    build, runtime = stages[0], stages[-1]

    # The build stage.
    if build.image != "debian:bookworm":
        error(f"build stage is FROM {build.image}, expected debian:bookworm")
    if not any(re.search(r"deploy/install-deps\.sh\s+--build\b", c) for _, c in build.runs):
        error("build stage does not run deploy/install-deps.sh --build")
    if any(source == "." for source, _, _ in build.copies):
        # The whole context is copied: what the CMake build reads must be in it.
        for needed in ("CMakeLists.txt", "src", "cmake", BUILD_SCRIPT):
            if os.path.exists(os.path.join(ROOT, needed)):
                check_repo_file(needed, "build stage (COPY . )")
    build_dirs = []
    for number, command in build.runs:
        m = re.search(re.escape(BUILD_SCRIPT) + r"(?:\s+(\S+))?", command)
        if m:
            build_dirs.append(posixpath.normpath(posixpath.join(build.workdir, m.group(1) or "build-release")))
    if len(build_dirs) != 1:
        error(f"build stage must run {BUILD_SCRIPT} exactly once (found {len(build_dirs)})")
    for stage in stages:
        for number, command in stage.runs:
            if re.search(r"\b(cmake|ninja|make|c\+\+|g\+\+)\b", command):
                error(f"Dockerfile:{number}: build commands belong in {BUILD_SCRIPT} (run by CI too), not in the Dockerfile")
    script = os.path.join(ROOT, BUILD_SCRIPT)
    if not os.access(script, os.X_OK):
        error(f"{BUILD_SCRIPT} is not executable")
    else:
        body = open(script, encoding="utf-8").read()
        for needle in ("-DCMAKE_BUILD_TYPE=Release", "--target ouroboros", "-G Ninja"):
            if needle not in body:
                error(f"{BUILD_SCRIPT} does not contain '{needle}'")

    # The runtime stage.
    if runtime.image != "debian:bookworm-slim":
        error(f"runtime stage is FROM {runtime.image}, expected debian:bookworm-slim")
    if not any(re.search(r"install-deps\.sh\s+--runtime\b", c) for _, c in runtime.runs):
        error("runtime stage does not run install-deps.sh --runtime")
    binaries = [c for c in runtime.copies if c[0] is None]
    if not binaries:
        error("runtime stage copies nothing from the build stage")
    for _, dest, (from_stage, source) in binaries:
        if from_stage != build.name:
            error(f"runtime stage copies from '{from_stage}', expected the build stage '{build.name}'")
        if build_dirs and posixpath.normpath(posixpath.join(build.workdir, source)) != posixpath.join(build_dirs[0], "src/app/ouroboros"):
            error(f"runtime stage copies {source}, but {BUILD_SCRIPT} builds {build_dirs[0]}/src/app/ouroboros")
    if "/usr/local/bin/ouroboros" not in [d for _, d, _ in binaries]:
        error("the binary is not copied to /usr/local/bin/ouroboros (the ENTRYPOINT runs `ouroboros` from PATH)")
    user = (runtime.user or "").split(":")[0]
    if not user or user in ("root", "0"):
        error("runtime stage must switch to a non-root USER")
    for port in ("6432", "9930"):
        if port not in runtime.expose:
            error(f"runtime stage does not EXPOSE {port}")
    if runtime.stopsignal != "SIGTERM":
        error("runtime stage must set STOPSIGNAL SIGTERM")
    if not runtime.healthcheck or "CMD" not in runtime.healthcheck:
        error("runtime stage has no HEALTHCHECK CMD")
    if runtime.entrypoint != ENTRYPOINT:
        error(f"ENTRYPOINT is {runtime.entrypoint}, expected {json.dumps(ENTRYPOINT)}")
    config = resolve_in_image(runtime, ENTRYPOINT[2])
    if config is None:
        error(f"{ENTRYPOINT[2]} is not copied into the runtime stage")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    ROOT = os.path.abspath(sys.argv[1])
    IGNORE = dockerignore_rules(ROOT)
    main()
    for e in errors:
        print("error:", e)
    if errors:
        sys.exit(1)
    print("Dockerfile: ok")
