#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian 12 machine, then exits.
# Idempotent: a second run only checks. Used by the README's commands and by .ci/run.
#   - Debian packages: the real peers (net-snmp snmpd and tools, VictoriaMetrics, InfluxDB
#     1.x, Alertmanager, prometheus-snmp-exporter, fping for the ping bench) and
#     python3-venv for snmpsim's own venv; zsh for the shell-completion test (bash, man and
#     systemd-analyze come with the base system).
#   - .venv: Lifeline itself, editable, with its test extra (Python >= 3.11 from PATH), every
#     package at the exact version in tests/requirements.lock (refresh: tests/lock.sh).
#   - .venv-snmpsim: snmpsim + pysmi on Debian's /usr/bin/python3, kept apart from the
#     agent's environment (snmpsim drops privileges to nobody, who cannot read /root/.pyenv),
#     at the versions in tests/requirements-snmpsim.lock.
#   - faketime (Debian): libfaketime, which steps a running agent's wall clock in
#     tests/agent/test_clock_jumps.py.
#   - chromium (Debian): the headless browser the console tests drive through playwright's
#     executable_path (no browser download); postgresql (Debian, 15): the cluster tests start
#     their own server in a temp dir (the package's own cluster is never used).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(snmpd snmp victoria-metrics influxdb prometheus-alertmanager prometheus-snmp-exporter fping python3-venv zsh faketime chromium postgresql)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=(-m pip install -q --disable-pip-version-check)
stamp=.venv/.lifeline-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ tests/requirements.lock -nt "$stamp" ]; then
  echo "setup: installing Lifeline and its test extra into .venv (tests/requirements.lock)"
  .venv/bin/python "${PIP[@]}" -c tests/requirements.lock -e '.[test]'
  # A dependency added to pyproject.toml but not to the lock would install unpinned.
  unlocked=$(.venv/bin/python -m pip freeze --exclude-editable --disable-pip-version-check \
             | grep -vxiF -f <(grep -v '^#' tests/requirements.lock) || true)
  if [ -n "$unlocked" ]; then
    echo "setup: not in tests/requirements.lock (run bash tests/lock.sh): $unlocked" >&2
    exit 1
  fi
  touch "$stamp"
fi

stamp=.venv-snmpsim/.lifeline-installed
if [ ! -f "$stamp" ] || [ tests/requirements-snmpsim.lock -nt "$stamp" ]; then
  echo "setup: installing snmpsim into .venv-snmpsim (Debian's python3)"
  [ -x .venv-snmpsim/bin/python ] || /usr/bin/python3 -m venv .venv-snmpsim
  .venv-snmpsim/bin/python "${PIP[@]}" -r tests/requirements-snmpsim.lock
  touch "$stamp"
fi
# snmpsim runs as nobody: the venv and the recordings it reads must be reachable by it.
chmod -R o+rX .venv-snmpsim tests 2>/dev/null || true
echo "setup: ready"
