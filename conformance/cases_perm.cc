// Family "perm": permission checks as an unprivileged uid against root-owned lower files give the
// same answers before and after copy-up (PM1), and copy-up by a user keeps the owner (CU2).
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "conformance/harness.h"

namespace ovlab::conformance {
namespace {

constexpr uid_t kUser = 1000;

struct UserOp {
  const char* id;
  const char* path;
  std::function<int(Ops&)> op;
  const char* want;
};

std::vector<UserOp> UserOps() {
  auto open_close = [](const char* p, int flags) {
    return [p, flags](Ops& t) {
      auto fd = t.Open(p, flags, 0644);
      if (!fd) return fd.error();
      (void)t.Close(*fd);
      return 0;
    };
  };
  return {
      {"read_private", "/ro", open_close("/ro", O_RDONLY), "EACCES"},
      {"read_public", "/pub", open_close("/pub", O_RDONLY), "ok"},
      {"write_public", "/pub", open_close("/pub", O_WRONLY), "EACCES"},
      {"truncate_public", "/pub", [](Ops& t) { return Err(t.Truncate("/pub", 0)); }, "EACCES"},
      {"write_own", "/own", open_close("/own", O_WRONLY), "ok"},
      {"access_exec", "/exe", [](Ops& t) { return Err(t.Access("/exe", X_OK)); }, "ok"},
      {"access_read_private", "/ro", [](Ops& t) { return Err(t.Access("/ro", R_OK)); }, "EACCES"},
      {"access_write_public", "/pub", [](Ops& t) { return Err(t.Access("/pub", W_OK)); }, "EACCES"},
      {"chmod_public", "/pub", [](Ops& t) { return Err(t.Chmod("/pub", 0666)); }, "EPERM"},
      {"chmod_own", "/own", [](Ops& t) { return Err(t.Chmod("/own", 0600)); }, "ok"},
      {"chown_own_to_root", "/own", [](Ops& t) { return Err(t.Lchown("/own", 0, 0)); }, "EPERM"},
      {"unlink_in_root_dir", "/f", [](Ops& t) { return Err(t.Unlink("/f")); }, "EACCES"},
      {"create_in_lower_dir", "/d", open_close("/d/new", O_WRONLY | O_CREAT), "EACCES"},
      {"create_in_public_dir", "/pubdir", open_close("/pubdir/new", O_WRONLY | O_CREAT), "ok"},
      {"mkdir_in_public_dir", "/pubdir", [](Ops& t) { return Err(t.Mkdir("/pubdir/n", 0755)); },
       "ok"},
      {"setxattr_public", "/pub", [](Ops& t) { return Err(t.SetXattr("/pub", "user.k", "v", 0)); },
       "EACCES"},
      {"setxattr_own", "/own", [](Ops& t) { return Err(t.SetXattr("/own", "user.k", "v", 0)); },
       "ok"},
      {"utimens_public", "/pub",
       [](Ops& t) {
         struct timespec ts[2] = {{1, 0}, {1, 0}};
         return Err(t.Utimens("/pub", ts, 0));
       },
       "EPERM"},
      {"rename_own_into_public_dir", "/own",
       [](Ops& t) { return Err(t.Rename("/own", "/pubdir/own")); }, "EACCES"},
      {"unlink_in_sticky_dir", "/sticky/rootfile",
       [](Ops& t) { return Err(t.Unlink("/sticky/rootfile")); }, "EPERM"},
      {"list_private_dir", "/privdir",
       [](Ops& t) {
         auto fd = t.Open("/privdir", O_RDONLY | O_DIRECTORY);
         if (!fd) return fd.error();
         (void)t.Close(*fd);
         return 0;
       },
       "EACCES"},
      {"lookup_through_private_dir", "/privdir", [](Ops& t) { return Err(t.Lstat("/privdir/x")); },
       "EACCES"},
  };
}

Fixture PermFixture() {
  Fixture fx = StandardFixture();
  fx.lowers[1].File("/sticky/rootfile", "r\n", 0666).Dir("/privdir", 0700).File("/privdir/x", "x");
  return fx;
}

class Perm : public ::testing::TestWithParam<std::tuple<UserOp, bool>> {};

// Each operation as uid 1000, on the lower object as it is, or after root copied it up with a
// metadata-only change (utimens): the answer must not change (PM1).
TEST_P(Perm, AsUser) {
  const auto& [op, copied] = GetParam();
  RunCase(
      "perm", "PM1 CU2",
      std::string(op.id) + " as uid 1000" + (copied ? " after copy-up" : " on the lower object"),
      [op, copied](CaseRun& r) {
        if (copied) {
          struct timespec ts[2] = {{1600000000, 0}, {1600000000, 0}};
          r.Expect(std::string("utimens ") + op.path, Res(r.t().Utimens(op.path, ts, 0)), "ok");
          r.Expect(std::string("upper ") + op.path + " copied up",
                   r.Placement(op.path) == "absent" ? "no" : "yes", "yes");
        }
        r.Expect(std::string(op.id) + " as 1000", r.As(kUser, kUser, op.op), op.want);
        r.Note(std::string("stat ") + op.path, r.StatLine(op.path));
      },
      {}, PermFixture());
}

INSTANTIATE_TEST_SUITE_P(Perm, Perm,
                         ::testing::Combine(::testing::ValuesIn(UserOps()), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).id) +
                                  (std::get<1>(info.param) ? "_copied_up" : "_lower");
                         });

TEST(Perm, CopyUpByUserKeepsOwner) {
  RunCase("perm", "CU2 PM1", "a user's write copies up its own file with owner and mode kept",
          [](CaseRun& r) {
            r.Expect("append /own as 1000",
                     r.As(kUser, kUser,
                          [](Ops& t) {
                            auto fd = t.Open("/own", O_WRONLY | O_APPEND);
                            if (!fd) return fd.error();
                            auto w = t.Write(*fd, "u\n");
                            (void)t.Close(*fd);
                            return Err(w);
                          }),
                     "ok");
            r.Expect("stat /own", r.StatLine("/own"), "file 0640 1000:1000 size=8 nlink=1");
            r.Expect("upper /own", r.Placement("/own"), "file");
            r.Expect("create as 1000",
                     r.As(kUser, kUser,
                          [](Ops& t) {
                            auto fd = t.Open("/pubdir/mine", O_WRONLY | O_CREAT, 0600);
                            if (!fd) return fd.error();
                            return Err(t.Close(*fd));
                          }),
                     "ok");
            r.Expect("stat /pubdir/mine", r.StatLine("/pubdir/mine"),
                     "file 0600 1000:1000 size=0 nlink=1");
          });
}

}  // namespace
}  // namespace ovlab::conformance
