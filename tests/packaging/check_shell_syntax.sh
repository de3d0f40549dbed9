#!/usr/bin/env bash
# `bash -n` on every shell script under deploy/ (*.sh, or a sh/bash shebang), and each of them
# must be executable (they are run by path: Makefile, Dockerfile, Kubernetes hooks).
# usage: check_shell_syntax.sh REPO_ROOT
set -uo pipefail
root=${1:?usage: $0 REPO_ROOT}
status=0 count=0
while IFS= read -r -d '' file; do
  case "$file" in
    *.sh) ;;
    *) head -c 64 "$file" | head -n 1 | grep -Eq '^#!.*[/ ](ba)?sh( |$)' || continue ;;
  esac
  count=$((count + 1))
  rel=${file#"$root"/}
  if ! bash -n "$file"; then
    echo "FAIL: $rel: syntax error"
    status=1
  elif [ ! -x "$file" ]; then
    echo "FAIL: $rel: not executable"
    status=1
  else
    echo "ok: $rel"
  fi
done < <(find "$root/deploy" -type f -not -path '*/node_modules/*' -print0 | sort -z)
if [ "$count" -eq 0 ]; then
  echo "FAIL: no shell scripts found under $root/deploy"
  status=1
fi
exit "$status"
