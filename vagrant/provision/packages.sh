#!/bin/sh
# Vagrant provisioner "packages": the build and test dependencies of ovlab on this distribution.
# ovlab needs g++ >= 12 (C++23 <expected>), CMake >= 3.25, liburing, libmount, libfuse3,
# GoogleTest, Google Benchmark, and the peers fuse-overlayfs / unionfs-fuse where packaged.
set -eu
. /etc/os-release
echo "ovlab: installing packages on $PRETTY_NAME (kernel $(uname -r))"

# Installs each optional package on its own, so one that a release lacks is reported, not fatal.
optional() {
  for p in "$@"; do
    if ! $install "$p" >/dev/null 2>&1; then echo "ovlab: note: optional package $p is not available here"; fi
  done
}

case "$ID" in
  debian | ubuntu)
    export DEBIAN_FRONTEND=noninteractive
    install="apt-get install -y -q"
    apt-get update -q
    $install ca-certificates curl gpg build-essential ninja-build pkg-config libmount-dev libfuse3-dev \
      fuse3 libgtest-dev libbenchmark-dev python3 python3-matplotlib python3-scipy python3-pytest \
      e2fsprogs xfsprogs btrfs-progs rsync
    optional liburing-dev fuse-overlayfs unionfs-fuse g++-12 g++-13 cmake
    # Older releases lack a new enough CMake or compiler: take them from their upstream repos.
    if ! cmake --version 2>/dev/null | awk 'NR==1 { split($3, v, "."); exit !(v[1] > 3 || (v[1] == 3 && v[2] >= 25)) }'; then
      curl -fsSL https://apt.kitware.com/keys/kitware-archive-latest.asc | gpg --dearmor -o /usr/share/keyrings/kitware.gpg
      echo "deb [signed-by=/usr/share/keyrings/kitware.gpg] https://apt.kitware.com/ubuntu/ $VERSION_CODENAME main" \
        >/etc/apt/sources.list.d/kitware.list
      apt-get update -q && $install cmake
    fi
    if ! command -v g++-12 >/dev/null && ! command -v g++-13 >/dev/null; then
      $install software-properties-common && add-apt-repository -y ppa:ubuntu-toolchain-r/test
      apt-get update -q && $install g++-13
    fi
    if ! pkg-config --exists liburing; then
      echo "ovlab: liburing-dev is not packaged here; building liburing from source"
      $install git
      rm -rf /usr/local/src/liburing
      git clone --depth 1 --branch liburing-2.3 https://github.com/axboe/liburing /usr/local/src/liburing
      (cd /usr/local/src/liburing && ./configure --prefix=/usr/local && make -j2 && make install)
    fi
    ;;
  fedora | almalinux | rocky | rhel | centos)
    install="dnf install -y -q"
    if [ "$ID" != fedora ]; then
      $install epel-release
      dnf config-manager --set-enabled crb 2>/dev/null || dnf config-manager --set-enabled powertools
    fi
    $install gcc-c++ make cmake ninja-build pkgconf-pkg-config libmount-devel fuse3-devel fuse3 \
      python3 e2fsprogs xfsprogs rsync
    optional liburing-devel gtest-devel google-benchmark-devel btrfs-progs fuse-overlayfs unionfs-fuse \
      python3-matplotlib python3-scipy python3-pytest gcc-toolset-13-gcc-c++
    ;;
  *)
    echo "ovlab: $ID is not a distribution this Vagrantfile knows; install the packages listed in README.md" >&2
    exit 1
    ;;
esac

# ovlab-fuse is compiled with FUSE_USE_VERSION=314 (engine/fuse/CMakeLists.txt), so it needs the
# headers and library of libfuse >= 3.14 (>= 3.12 is not enough for that API level). Releases
# that package an older one (Ubuntu 20.04: 3.9, 22.04: 3.10, AlmaLinux 8: 3.3, 9: 3.10) get
# libfuse $LIBFUSE_VERSION from its release tarball, installed in /usr/local: library, headers
# and fuse3.pc only (-Dutils=false: the distribution's fusermount3 stays; ovlab-fuse runs as
# root). build.sh puts /usr/local's pkg-config directories first. If this fails, the reason is
# written to $OVLAB_RESULTS/ovlab-fuse.txt and the provisioner fails (the build would too).
LIBFUSE_VERSION=3.16.2
LIBFUSE_NEEDED=3.14
export PKG_CONFIG_PATH=/usr/local/lib64/pkgconfig:/usr/local/lib/pkgconfig:/usr/local/lib/x86_64-linux-gnu/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
mkdir -p "$OVLAB_RESULTS"

libfuse_version() { pkg-config --modversion fuse3 2>/dev/null || echo none; }

build_libfuse() {  # prints why on failure (its only output on stdout)
  optional meson >&2
  if ! command -v meson >/dev/null; then
    echo "meson is not installable here (it builds libfuse)"
    return 1
  fi
  src=/usr/local/src/libfuse-$LIBFUSE_VERSION
  url=https://github.com/libfuse/libfuse/releases/download/fuse-$LIBFUSE_VERSION/fuse-$LIBFUSE_VERSION.tar.gz
  rm -rf "$src" && mkdir -p "$src" || return 1
  curl -fsSL "$url" | tar -xz -C "$src" --strip-components=1 || { echo "downloading $url failed"; return 1; }
  (cd "$src" && meson setup build --prefix=/usr/local -Dutils=false -Dexamples=false -Dtests=false &&
    ninja -C build && ninja -C build install) >"$OVLAB_RESULTS/libfuse-build.log" 2>&1 ||
    { echo "building libfuse $LIBFUSE_VERSION failed (see libfuse-build.log)"; return 1; }
  # /usr/local/lib64 (EL) is not searched by default; /usr/local/lib and Debian's multiarch one are.
  echo /usr/local/lib64 >/etc/ld.so.conf.d/00-ovlab-usr-local.conf
  ldconfig
}

if pkg-config --atleast-version="$LIBFUSE_NEEDED" fuse3 2>/dev/null; then
  echo "ovlab: libfuse $(libfuse_version) (>= $LIBFUSE_NEEDED): ovlab-fuse builds against it"
else
  echo "ovlab: libfuse here is $(libfuse_version), ovlab-fuse needs >= $LIBFUSE_NEEDED: building libfuse $LIBFUSE_VERSION"
  if why=$(build_libfuse) && pkg-config --atleast-version="$LIBFUSE_NEEDED" fuse3; then
    echo "ovlab: libfuse $(libfuse_version) installed in /usr/local"
  else
    echo "ovlab-fuse skipped: libfuse $(libfuse_version) < $LIBFUSE_NEEDED and ${why:-the build left no newer fuse3.pc}" |
      tee "$OVLAB_RESULTS/ovlab-fuse.txt" >&2
    exit 1
  fi
fi
echo "libfuse $(libfuse_version)" >"$OVLAB_RESULTS/libfuse.txt"

modprobe overlay 2>/dev/null || true
modprobe fuse 2>/dev/null || true
echo "ovlab: packages done"
