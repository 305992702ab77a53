// Test support for the union engine: layer stacks on a scratch tmpfs, builders for layer content
// (files, dirs, whiteouts, xattrs), a kernel overlay mount of the same stack as the oracle, and
// "views" (every visible object with type, mode, owner, size, content, target, xattrs) of a
// mounted directory and of the engine, to compare the two.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "scratch/scratch.h"
#include "union/union.h"

namespace ovlab::unionfs::testing {

// lowers (top first), upper, work and a mount point under one base directory.
struct Stack {
  std::string base;
  int nlowers = 0;
  std::string lower(int i) const { return base + "/l" + std::to_string(i); }
  std::string upper() const { return base + "/upper"; }
  std::string work() const { return base + "/work"; }
  std::string merged() const { return base + "/merged"; }
  UnionOptions Options(bool with_upper = true) const;
};

// Layer content builders (absolute paths inside a layer dir; parents are made 0755).
void PutFile(const std::string& path, const std::string& content, mode_t mode = 0644);
void PutDir(const std::string& path, mode_t mode = 0755);
void PutSymlink(const std::string& path, const std::string& target);
void PutWhiteout(const std::string& path);
void PutXattr(const std::string& path, const std::string& name, const std::string& value);
std::string ReadText(const std::string& path);  // "" when missing
bool Exists(const std::string& path);           // lstat

// What a user sees of one object; directories without size (it differs between fs types).
using View = std::map<std::string, std::string>;
View FsView(const std::string& root);
View EngineView(Union& u, const std::string& path = "/");
std::string Describe(const View& v);  // one line per object, for failure messages

// Runs fn as uid/gid (no supplementary groups) in a child process; returns its errno result.
int AsUser(uid_t uid, gid_t gid, const std::function<int()>& fn);

// Two stacks of the same content, the engine open on one and the kernel's overlay mounted on the
// other (the oracle): the preamble of most tests, `auto [es, ks, u, merged] = OpenTwins(...)`.
struct Twins {
  Stack es, ks;
  std::unique_ptr<Union> engine;  // null when either side failed (the test failed already)
  std::string merged;             // the kernel's mount point
};

class UnionFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  Stack MakeStack(const std::string& name, int nlowers);
  // Same content in two fresh stacks: one for the engine, one for the kernel (the oracle).
  std::pair<Stack, Stack> MakeTwin(int nlowers, const std::function<void(const Stack&)>& fill);
  std::unique_ptr<Union> OpenEngine(const UnionOptions& options);
  // Mounts the kernel overlay over the stack (extra options like "redirect_dir=on"); empty
  // string on failure (the test fails with the reason).
  std::string MountKernel(const Stack& s, const std::vector<std::string>& extra = {},
                          bool with_upper = true);
  void UnmountKernel(const Stack& s);
  // MakeTwin, OpenEngine on the first (es.Options(with_upper)) and MountKernel on the second.
  Twins OpenTwins(int nlowers, const std::function<void(const Stack&)>& fill,
                  const std::vector<std::string>& kernel_options = {}, bool with_upper = true);

  // The filesystem the stacks live on; a subclass sets it in its constructor (before SetUp).
  scratch::Backing backing_ = scratch::Backing::kTmpfs;
  std::unique_ptr<scratch::ScratchFs> fs_;
  std::string root_;
  std::vector<std::string> mounted_;
  int stacks_ = 0;
};

// A UnionFixture on the backing given as the test parameter, for rules whose kernel answer
// depends on the filesystem (ext4 hash order, xfs errnos).
class BackingFixture : public UnionFixture, public ::testing::WithParamInterface<scratch::Backing> {
 protected:
  BackingFixture() { backing_ = GetParam(); }
};
inline auto TestBackings() {
  return ::testing::Values(scratch::Backing::kTmpfs, scratch::Backing::kExt4,
                           scratch::Backing::kXfs);
}
std::string BackingParamName(const ::testing::TestParamInfo<scratch::Backing>& info);

}  // namespace ovlab::unionfs::testing
