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
modprobe overlay 2>/dev/null || true
modprobe fuse 2>/dev/null || true
echo "ovlab: packages done"
