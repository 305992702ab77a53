// The benchmark families. Each Register* adds the instances of one family for one target (or
// one backing) to the session, named FAMILY/TARGET/BACKING/KEY:VALUE/... (bench/README.md).
#pragma once

#include <string>

#include "runner/session.h"
#include "scratch/scratch.h"

namespace ovlab::bench {

// copy_up: first write of one byte to a lower file, second write, chmod/chown copy-up (those
// three only where `variants`), and the bound/dd cross-check of the plan's sizes.
void RegisterCopyUp(Session& s, const std::string& target, scratch::Backing b, bool variants);
// bound/copy: plain copy bandwidth of the backing filesystem (read/write + fsync).
void RegisterBounds(Session& s, scratch::Backing b);
// write_heavy: random 4 KiB writes into a lower file, creating files, appending to every file
// of a deep tree, fsync-heavy small writes.
void RegisterWriteHeavy(Session& s, const std::string& target, scratch::Backing b);
// For every depth of the plan, on one deep stack:
//  lookup: stat/open of names in the top/middle/bottom layer and of a missing name, warm/cold;
//  readdir: merged listing of a directory spread over every layer, warm and cold;
//  mount: bringing the union up against depth; creating and removing a container.
void RegisterLayerWalks(Session& s, const std::string& target, scratch::Backing b);
void RegisterLookup(Session& s, const std::string& target, scratch::Backing b, uint32_t depth);
void RegisterReaddir(Session& s, const std::string& target, scratch::Backing b, uint32_t depth);
// readdir of fuse_bench's wide listing (RunPlan::wide_readdir_*), warm and cold.
void RegisterWideReaddir(Session& s, const std::string& target, scratch::Backing b);
void RegisterMount(Session& s, const std::string& target, scratch::Backing b, uint32_t depth);
// inode_usage: inodes and bytes an image and a container consume, with the analytic expectation.
void RegisterInodeUsage(Session& s, const std::string& target, scratch::Backing b);

}  // namespace ovlab::bench
