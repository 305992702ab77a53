// A conformance target: a row of the target table (engine/targets/target.h) whose role puts it
// under test, brought up over each case's layers. Cases run the same Ops on every target
// (kernel overlayfs, the in-process engine, ovlab-fuse, fuse-overlayfs, unionfs-fuse).
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "launch/union_argv.h"
#include "targets/ops.h"
#include "targets/target.h"
#include "targets/union_mount.h"

namespace ovlab::conformance {

using targets::Cred;
using targets::DirEntry;
using targets::Ops;
using targets::Role;

// The directories of one union: lowers uppermost first, plus upper and work (all absolute).
using LayerSet = launch::UnionDirs;

// Options a case asks for; each target maps them onto its own option syntax.
struct TargetConfig {
  bool redirect_dir = false;
  bool metacopy = false;  // MC1; the kernel needs redirect_dir=on with it
};

class Target {
 public:
  explicit Target(const targets::TargetSpec& spec) : spec_(spec) {}
  ~Target();
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  // The name the suite and its matrix know it by ("kernel", "engine", "fuse", ...).
  std::string Name() const { return std::string(spec_.conformance_name); }
  Role role() const { return spec_.role; }
  std::string Version() const { return targets::VersionOf(spec_); }
  // The options it runs with since Setup, as a command line would give them.
  std::string Options() const;

  // Brings the union of `layers` up; its mount point sits beside the upper directory, so
  // everything of a case is in one place.
  Status Setup(const LayerSet& layers, const TargetConfig& config);
  // Unmounts and mounts again over `layers` (the same ones, or new ones after a rotation).
  Status Remount(const LayerSet& layers);
  // Closes every open handle and unmounts; safe to call twice.
  Status Teardown();

  Ops& ops() { return union_->ops(); }
  // Where the union writes: the upper directory of the current layers.
  const std::string& UpperDir() const { return layers_.upper; }

 private:
  const targets::TargetSpec& spec_;
  LayerSet layers_;
  std::string mountpoint_;
  std::unique_ptr<targets::UnionMount> union_;
  bool up_ = false;
};

}  // namespace ovlab::conformance
