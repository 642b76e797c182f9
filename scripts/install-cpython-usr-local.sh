#!/usr/bin/env bash
# Put this host's CPython 3.11 under ROOTFS/usr/local the way the official python:3.11-slim image has it
# (python3 and pip in /usr/local/bin, libpython in /usr/local/lib, packages in site-packages), so the
# Dockerfiles can be tested against that layout without a registry. Used by build-base-image.sh LAYOUT=official.
set -euo pipefail
rootfs="$1"
python="${HOST_PYTHON:-python3}"
read -r prefix version < <("$python" -c 'import sys; print(sys.base_prefix, "%d.%d" % sys.version_info[:2])')
[ "$version" = 3.11 ] || { echo "error: $python is CPython $version; the official layout test needs 3.11" >&2; exit 1; }
libpython="$(ls "$prefix"/lib/libpython3.11.so.1.0 2>/dev/null || true)"
[ -n "$libpython" ] || { echo "error: $prefix has no shared libpython3.11 (build CPython with --enable-shared)" >&2; exit 1; }

echo "copying CPython $version from $prefix to /usr/local"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib" "$rootfs/usr/local/include"
cp -a "$prefix"/lib/libpython3*.so* "$rootfs/usr/local/lib/"
cp -a "$prefix/include/python3.11" "$rootfs/usr/local/include/"
cp -a "$prefix/bin/python3.11" "$rootfs/usr/local/bin/"
# The standard library without what the slim image leaves out too (tests, IDLE, Tk, the static library);
# site-packages starts empty and gets pip and setuptools from ensurepip, as in the official image.
tar -C "$prefix/lib" --exclude=python3.11/test --exclude=python3.11/idlelib --exclude=python3.11/tkinter \
  --exclude='python3.11/site-packages/*' --exclude='__pycache__' --exclude='*.a' -c python3.11 \
  | tar -C "$rootfs/usr/local/lib" -x
for name in python3 python; do ln -sf python3.11 "$rootfs/usr/local/bin/$name"; done
# The official image links CPython with -Wl,--strip-all: its interpreter, libpython and extension modules carry
# no symbol tables or debug info. A pyenv build keeps both (libpython: 23 MB, 5.7 MB stripped),
# which would make this stand-in, and every image measured on it, about 30 MB larger than on the real one.
find "$rootfs/usr/local/bin/python3.11" "$rootfs/usr/local/lib" -type f \( -name 'python3.11' -o -name '*.so' \
  -o -name '*.so.*' \) -exec strip --strip-all {} +
chroot "$rootfs" /sbin/ldconfig
chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin /usr/local/bin/python3 -m ensurepip --default-pip >/dev/null
ln -sf pip3 "$rootfs/usr/local/bin/pip"
# Prove the layout: the interpreter, its extension modules and pip, all from /usr/local.
chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin python3 -c '
import bz2, ctypes, hashlib, lzma, pyexpat, sqlite3, ssl, sys, sysconfig, uuid, venv, zlib
assert sys.prefix == "/usr/local", sys.prefix
assert sysconfig.get_paths()["purelib"] == "/usr/local/lib/python3.11/site-packages"
print("python", sys.version.split()[0], "at", sys.prefix, "packages in", sysconfig.get_paths()["purelib"])'
chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin pip --version
# The official image deletes every .pyc under /usr/local after installing (pip's included), so neither the
# standard library nor pip ships compiled here either.
find "$rootfs/usr/local" -depth -name __pycache__ -type d -exec rm -rf {} +
