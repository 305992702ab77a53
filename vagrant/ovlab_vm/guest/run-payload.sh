#!/bin/sh
# Runs the payload steps of one kernel run, in the guest (/init) or directly on the host.
# usage: run-payload.sh STEPS_FILE OUT_DIR BIN_DIR
# STEPS_FILE holds `step NAME COMMAND...` lines written by the runner (ovlab_vm/payload.py).
# Each step's output goes to OUT_DIR/NAME.log; OUT_DIR/steps.txt gets `NAME EXIT SECONDS`.
# The exit status is the first failing step's status (0 when all pass).
set -u
OVLAB_STEPS=$1
OVLAB_OUT=$2
OVLAB_BIN=$3
export OVLAB_OUT OVLAB_BIN
payload_status=0

uptime_s() { cut -d' ' -f1 /proc/uptime; }

step() {
  name=$1
  shift
  echo "ovlab: step $name: $*"
  start=$(uptime_s)
  "$@" >"$OVLAB_OUT/$name.log" 2>&1
  rc=$?
  end=$(uptime_s)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  echo "$name $rc $secs" >>"$OVLAB_OUT/steps.txt"
  echo "ovlab: step $name exited $rc after ${secs}s"
  if [ "$rc" -ne 0 ]; then
    tail -n 30 "$OVLAB_OUT/$name.log" | sed "s/^/ovlab: $name| /"
    [ "$payload_status" -eq 0 ] && payload_status=$rc
  fi
}

: >"$OVLAB_OUT/steps.txt"
. "$OVLAB_STEPS"
exit "$payload_status"
