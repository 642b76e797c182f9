#!/bin/sh
# The serving environment of an image, used by the build stage of both Dockerfiles (the one place that says
# what an image's venv leaves out): `install-venv.sh VENV "CATEGORIES"` installs the hashed, locked packages
# of those Pipfile categories into a venv at VENV with the base image's pip (the venv gets no pip of its own),
# then drops what never runs in a service: test suites, type stubs, C headers and Cython sources, and the
# symbol tables of the extension modules (strip, from binutils; auditwheel's vendored *.libs are left as they
# are). Nothing is byte-compiled: each Dockerfile compiles just the modules its service imports.
set -eu
venv="$1"
categories="$2"
python3 -m venv --without-pip "$venv"
python3 -m pipenv requirements --hash --categories "$categories" > /tmp/requirements.txt
python3 -m pip --python "$venv/bin/python" install --no-cache-dir --no-compile --no-deps --require-hashes \
  -r /tmp/requirements.txt
find "$venv" -depth -type d -name tests -path "*/site-packages/*" -exec rm -rf {} +
find "$venv/lib" -type f \( -name "*.pyi" -o -name "*.pxd" -o -name "*.pyx" -o -name "*.h" -o -name "*.c" \
  -o -name "*.cpp" \) -delete
find "$venv/lib" -name "*.so" ! -path "*.libs/*" -exec strip --strip-unneeded {} +
