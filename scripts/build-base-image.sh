#!/usr/bin/env bash
# Build the `python:3.11-slim` base image from Debian packages, for machines that cannot pull from a
# container registry. Debian bookworm (debootstrap, from this host's own apt mirror) with python3 and pip,
# carrying this host's CA bundle and pip index settings so pip inside `docker build` reaches the same index.
# Does nothing when the image already exists (FORCE=1 rebuilds).
#
# LAYOUT=debian (default): Debian's own Python (/usr/bin/python3, packages in dist-packages), tagged
#   python:3.11-slim: the stand-in the Dockerfiles build on offline.
# LAYOUT=official: the layout of the real python:3.11-slim, for testing the Dockerfiles against it offline:
#   this host's CPython 3.11 copied under /usr/local (binary, libpython, stdlib; site-packages emptied and
#   pip reinstalled by ensurepip), found by ldconfig, tagged churn-system/python-official-layout:3.11-slim.
set -euo pipefail

LAYOUT="${LAYOUT:-debian}"
case "$LAYOUT" in
  debian) TAG="${BASE_IMAGE:-python:3.11-slim}"; packages=python3,python3-pip,python3-venv,ca-certificates ;;
  # What CPython's extension modules link against, as the official image installs them.
  official) TAG="${BASE_IMAGE:-churn-system/python-official-layout:3.11-slim}"
    packages=ca-certificates,libssl3,libsqlite3-0,libffi8,libbz2-1.0,liblzma5,zlib1g,libreadline8,libncursesw6,libuuid1,libgdbm6,libexpat1,libtirpc3 ;;
  *) echo "error: LAYOUT must be debian or official, got '$LAYOUT'" >&2; exit 2 ;;
esac
SUITE="${SUITE:-bookworm}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

if [ "${FORCE:-0}" != 1 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "base image $TAG already present"
  exit 0
fi

sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
if ! command -v debootstrap >/dev/null; then
  echo "installing debootstrap"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq debootstrap >/dev/null
fi

# The mirror this host already uses (never a hard-coded host): deb822 sources first, then sources.list.
mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
if [ -z "$mirror" ]; then
  mirror="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1 || true)"
fi
[ -n "$mirror" ] || { echo "error: no Debian mirror found in /etc/apt/sources.list*" >&2; exit 1; }

if [ "$LAYOUT" = official ] && ! command -v strip >/dev/null; then  # strips the copied CPython as the official build does
  echo "installing binutils"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq binutils >/dev/null
fi

rootfs="$(mktemp -d /tmp/python-base-rootfs.XXXXXX)"
log="$rootfs.log"  # one per run: the two layouts may be built at once
trap '$sudo_cmd rm -rf "$rootfs" "$log"' EXIT
echo "debootstrap $SUITE from $mirror (about a minute)"
$sudo_cmd debootstrap --variant=minbase --include="$packages" \
  "$SUITE" "$rootfs" "$mirror" >"$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }
if [ "$LAYOUT" = official ]; then
  $sudo_cmd bash "$(dirname "$0")/install-cpython-usr-local.sh" "$rootfs"
fi

# Slim it: caches, docs, man pages and locales are not needed to run Python services.
$sudo_cmd rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/info/*
# Behave like the official image: pip may install into the system Python, and `python` exists.
$sudo_cmd rm -f "$rootfs"/usr/lib/python3.*/EXTERNALLY-MANAGED
[ "$LAYOUT" = official ] || $sudo_cmd ln -sf python3 "$rootfs/usr/bin/python"
# This host's CA bundle (it may carry a proxy CA Debian's lacks) so TLS to the index verifies inside.
$sudo_cmd cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"

changes=(
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  --change 'ENV LANG=C.UTF-8'
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt'
  --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt'
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'
  --change 'CMD ["python3"]'
)
# The host's pip index settings, when it has any (env first, then pip's own config).
index_url="${PIP_INDEX_URL:-$(python3 -m pip config get global.index-url 2>/dev/null || true)}"
extra_url="${PIP_EXTRA_INDEX_URL:-$(python3 -m pip config get global.extra-index-url 2>/dev/null || true)}"
trusted="${PIP_TRUSTED_HOST:-$(python3 -m pip config get global.trusted-host 2>/dev/null || true)}"
[ -z "$index_url" ] || changes+=(--change "ENV PIP_INDEX_URL=$index_url" --change "ENV PIPENV_PYPI_MIRROR=$index_url")
[ -z "$extra_url" ] || changes+=(--change "ENV PIP_EXTRA_INDEX_URL=$extra_url")
[ -z "$trusted" ] || changes+=(--change "ENV PIP_TRUSTED_HOST=$trusted")

echo "importing $TAG"
$sudo_cmd tar -C "$rootfs" -c . | docker import "${changes[@]}" - "$TAG" >/dev/null
docker image inspect "$TAG" --format "$TAG: {{.Size}} bytes, $($sudo_cmd chroot "$rootfs" /bin/sh -c 'command -v python3; python3 --version' 2>&1 | tr '\n' ' ')"
