#include "layout/link_tree.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "layout/object_metadata.h"

namespace ovlab::layout {
namespace {

Status LinkEntry(const std::string& src, const std::string& dst) {
  auto st = LStat(src);
  if (!st) return std::unexpected(st.error());
  if (S_ISREG(st->st_mode)) {
    if (::link(src.c_str(), dst.c_str()) != 0) return FailErrno(errno, "link " + dst);
    return {};
  }
  if (S_ISDIR(st->st_mode)) {
    if (auto r = MakeDir(dst, st->st_mode & 07777); !r) return r;
    auto names = ListDir(src);
    if (!names) return std::unexpected(names.error());
    for (const auto& n : *names) {
      if (auto r = LinkEntry(JoinPath(src, n), JoinPath(dst, n)); !r) return r;
    }
  } else if (auto r = CreateLike(src, dst, *st); !r) {
    return r;
  }
  return CopyObjectMetadata(src, dst, *st);  // directories after their children: keeps mtime
}

}  // namespace

Status LinkTree(const std::string& src, const std::string& dst) {
  if (PathExists(dst)) return Fail(EEXIST, "link tree target " + dst + " already exists");
  return LinkEntry(src, dst);
}

}  // namespace ovlab::layout
