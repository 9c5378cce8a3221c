#!/usr/bin/env bash
# System packages the converter needs from Debian: Graphviz (`dot`) lays out the report graphs;
# bubblewrap (`bwrap`) is the sandbox DAG files are imported in with Airflow (docs/sandbox.md);
# with --test, Chromium too, for the browser test of the HTML reports. Idempotent and quiet:
# nothing happens when the commands are already there. Installs with apt-get when run as root (as
# CI does); otherwise it says what is missing and leaves it to the user.
set -euo pipefail
want=()
command -v dot >/dev/null 2>&1 || want+=(graphviz)
command -v bwrap >/dev/null 2>&1 || want+=(bubblewrap)
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || want+=(chromium fonts-dejavu-core)
fi
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system_packages: missing ${want[*]}; install them (e.g. apt-get install -y ${want[*]})" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
