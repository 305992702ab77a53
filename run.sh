#!/usr/bin/env bash
# ovlab's two entry points for a fresh Debian 12 machine, as root:
#   ./run.sh report  install what is missing, build, run the default benchmark profile and write
#                    the driver comparison report (reports/out/<timestamp>/report.html)
#   ./run.sh test    install what is missing, build (release and ASan/UBSan) and run every test
# Options after the verb: report --profile quick|default|full; test --no-sanitize, --no-vm.
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(
  build-essential cmake pkg-config ninja-build ccache
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  liburing-dev libmount-dev libblkid-dev libfuse3-dev fuse3 nlohmann-json3-dev
  e2fsprogs xfsprogs btrfs-progs util-linux attr kmod
  fuse-overlayfs unionfs-fuse
  python3 python3-matplotlib python3-scipy python3-pytest
  qemu-system-x86 busybox-static cpio
)

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

require_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and mounts filesystems): sudo $0 $*"; }

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {  # build PRESET
  log "building ($1)"
  # ccache keyed on paths relative to this tree, so another clone on the same machine reuses it.
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1 CCACHE_DIR=${CCACHE_DIR:-/var/cache/ovlab-ccache}
  cmake --preset "$1" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
  cmake --build --preset "$1" -j "$(nproc)"
}

install_binaries() {  # ovlab, ovlab-fuse (for mount -t fuse.ovlab-fuse), ovlab-bench
  cmake --install build/release --prefix /usr/local >/dev/null
}

run_tests() {
  local sanitize=1 vm=1
  for a in "$@"; do
    case $a in
      --no-sanitize) sanitize=0 ;;
      --no-vm) vm=0 ;;
      *) die "test: unknown option $a (known: --no-sanitize, --no-vm)" ;;
    esac
  done
  local skip=()
  ((vm)) || skip=(-LE vm)
  build release
  install_binaries
  log "tests (release build; includes the conformance suite under a Debian kernel in QEMU)"
  ctest --preset release -j1 "${skip[@]}"
  ((sanitize)) || return 0
  build debug
  # Every C++ test again under ASan/UBSan, the conformance suite with all its targets included
  # (about 4 minutes on 2 cores); not the QEMU guest nor the Python suites.
  log "tests (ASan/UBSan build; all but the QEMU guests and the Python suites)"
  ctest --preset debug -j1 -LE no-sanitize
}

run_report() {
  local profile=default
  while (($#)); do
    case $1 in
      --profile) profile=${2:?--profile needs quick, default or full}; shift 2 ;;
      *) die "report: unknown option $1 (known: --profile quick|default|full)" ;;
    esac
  done
  build release
  install_binaries
  local stamp out
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  out=reports/out/$stamp
  mkdir -p "$out"
  log "benchmarks (profile $profile)"
  build/release/bench/ovlab-bench --profile "$profile" --out "$out/bench.json"
  log "conformance matrix"
  local inputs=("$out/bench.json")
  build/release/conformance/ovlab-conformance --target=all --matrix-out "$out/conformance.json" \
    --gtest_brief=1 >"$out/conformance.log" 2>&1 || log "conformance found deviations (see $out/conformance.log)"
  # A crashed suite writes no matrix: the report then says so instead of failing.
  [[ -s $out/conformance.json ]] && inputs+=("$out/conformance.json")
  /usr/bin/python3 reports/report.py "${inputs[@]}" --out "$out" --latest-link reports/out/latest
}

verb=${1:-}
shift || true
case $verb in
  report) require_root report; install_packages; run_report "$@" ;;
  test) require_root test; install_packages; run_tests "$@" ;;
  *) die "usage: $0 report [--profile quick|default|full] | test [--no-sanitize] [--no-vm]" ;;
esac
