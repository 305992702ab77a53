#!/bin/sh
# Vagrant provisioner "build": configures and builds the release preset from the rsynced tree.
set -eu
cd "$OVLAB_SRC"
# Pick a compiler new enough for C++23 <expected> (g++ >= 12).
for cxx in g++-13 g++-12 /opt/rh/gcc-toolset-13/root/usr/bin/g++ g++; do
  if command -v "$cxx" >/dev/null 2>&1; then
    major=$("$cxx" -dumpversion | cut -d. -f1)
    if [ "$major" -ge 12 ]; then export CXX="$cxx"; break; fi
  fi
done
if [ -z "${CXX:-}" ]; then
  echo "ovlab: no g++ >= 12 found; rerun the packages provisioner (vagrant provision --provision-with packages)" >&2
  exit 1
fi
# A libfuse that packages.sh built (releases with libfuse < 3.14) is in /usr/local: look there first.
export PKG_CONFIG_PATH=/usr/local/lib64/pkgconfig:/usr/local/lib/pkgconfig:/usr/local/lib/x86_64-linux-gnu/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
echo "ovlab: building with $CXX ($($CXX -dumpversion)), $(cmake --version | head -n1), libfuse $(pkg-config --modversion fuse3)"
cmake --preset release -DCMAKE_CXX_COMPILER="$CXX"
cmake --build --preset release -j "$(nproc)"
