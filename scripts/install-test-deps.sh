#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine: system packages, pipenv and the
# locked Python environment (all categories) in ./.venv. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(chromium wrk docker-compose openjdk-17-jre-headless prometheus postgresql debootstrap)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m pipenv --version >/dev/null 2>&1 || python3 -m pip install --quiet --user pipenv
export PIPENV_VENV_IN_PROJECT=1
python3 -m pipenv sync --categories "packages churn train marketing dev-packages policy spark"
