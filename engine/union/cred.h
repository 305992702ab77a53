// Who is asking: the caller's uid, gid and supplementary groups. Every union call takes one and
// checks permissions the way the kernel would for that caller (PM1), so an in-process caller and
// a FUSE daemon without default_permissions get the kernel's EACCES/EPERM.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <vector>

namespace ovlab::unionfs {

struct Cred {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups

  // uid 0 has the kernel's CAP_DAC_OVERRIDE/CAP_FOWNER/CAP_CHOWN/CAP_MKNOD behaviour.
  static Cred Root() { return Cred{}; }
  static Cred User(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
    return Cred{uid, gid, std::move(groups)};
  }
  bool IsRoot() const { return uid == 0; }
  bool InGroup(gid_t g) const {
    return g == gid || std::find(groups.begin(), groups.end(), g) != groups.end();
  }
};

}  // namespace ovlab::unionfs
