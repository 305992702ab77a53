#include "mount/mount.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"

namespace ovlab::mount {
namespace {

constexpr long kOverlayMagic = 0x794c7630;

// Each test works on its own tmpfs, unmounted (with everything on it) at the end.
class MountTest : public testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDir("/tmp", "ovlab-mount-test-");
    ASSERT_TRUE(dir) << dir.error().message;
    root_ = *dir;
    auto st = Mount("tmpfs", root_, "tmpfs", "size=256m,mode=0755");
    ASSERT_TRUE(st) << st.error().message;
  }
  void TearDown() override {
    if (root_.empty()) return;
    if (auto mounts = MountsUnder(root_)) {
      for (auto it = mounts->rbegin(); it != mounts->rend(); ++it) (void)Unmount(it->target, true);
    }
    ::rmdir(root_.c_str());
  }

  std::string Dir(const std::string& name) {
    std::string p = JoinPath(root_, name);
    EXPECT_TRUE(MakeDirs(p)) << p;
    return p;
  }
  void Write(const std::string& path, const std::string& text) {
    ASSERT_TRUE(WriteFileAtomic(path, text)) << path;
  }
  static std::string Read(const std::string& path) {
    auto t = ReadFileText(path);
    return t ? *t : "<missing: " + t.error().message + ">";
  }
  static bool IsOverlay(const std::string& path) {
    struct statfs s;
    return ::statfs(path.c_str(), &s) == 0 && s.f_type == kOverlayMagic;
  }

  // `count` lower layers, layer i holds "layer-i" and "top" (content = i); layer 0 is uppermost.
  // Names are long (pad chars each) so that absolute paths overflow a page.
  std::vector<std::string> MakeLayers(int count, size_t pad) {
    std::vector<std::string> lowers;
    std::string layers = Dir("layers");
    for (int i = 0; i < count; ++i) {
      std::string name = StrPrintf("%04d-", i) + std::string(pad, 'x');
      std::string d = JoinPath(layers, name);
      EXPECT_EQ(::mkdir(d.c_str(), 0755), 0);
      Write(JoinPath(d, StrPrintf("layer-%d", i)), std::to_string(i));
      Write(JoinPath(d, "top"), std::to_string(i));
      lowers.push_back(d);
    }
    return lowers;
  }

  std::string root_;
};

TEST_F(MountTest, PlainMountFoundAndGoneAfterUnmount) {
  std::string t = Dir("plain");
  ASSERT_TRUE(Mount("tmpfs", t, "tmpfs", "size=1m"));
  auto found = FindMount(t);
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->fstype, "tmpfs");
  EXPECT_EQ((*found)->target, t);
  EXPECT_NE((*found)->options.find("size=1024k"), std::string::npos) << (*found)->options;
  ASSERT_TRUE(Unmount(t, false));
  found = FindMount(t);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TEST_F(MountTest, BindAndReadOnlyOption) {
  std::string src = Dir("bind-src"), t = Dir("bind-target"), ro = Dir("ro");
  Write(src + "/f", "through the bind");
  ASSERT_TRUE(Mount(src, t, "", "", MS_BIND));
  EXPECT_EQ(Read(t + "/f"), "through the bind");
  ASSERT_TRUE(Unmount(t));
  ASSERT_TRUE(Mount("tmpfs", ro, "tmpfs", "ro,size=1m"));
  auto st = WriteFileAtomic(ro + "/x", "x");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, EROFS);
}

TEST_F(MountTest, BadPlainMountHasClearError) {
  std::string t = Dir("bad");
  auto st = Mount("none", t, "no-such-fs-type");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("no-such-fs-type"), std::string::npos) << st.error().message;
  auto um = Unmount(t);
  ASSERT_FALSE(um);
  EXPECT_NE(um.error().message.find("not a mount point"), std::string::npos) << um.error().message;
}

TEST_F(MountTest, MountsUnderListsNestedMounts) {
  std::string a = Dir("a"), b = Dir("a/b"), other = Dir("ab");
  ASSERT_TRUE(Mount("tmpfs", a, "tmpfs", "size=1m"));
  ASSERT_TRUE(MakeDirs(b));
  ASSERT_TRUE(Mount("tmpfs", b, "tmpfs", "size=1m"));
  ASSERT_TRUE(Mount("tmpfs", other, "tmpfs", "size=1m"));
  auto under = MountsUnder(a);
  ASSERT_TRUE(under);
  ASSERT_EQ(under->size(), 2u);
  EXPECT_EQ((*under)[0].target, a);
  EXPECT_EQ((*under)[1].target, b);
  EXPECT_EQ((*under)[1].parent_id, (*under)[0].id);
}

class OverlayMethodTest : public MountTest, public testing::WithParamInterface<OverlayMethod> {
 protected:
  // Mounts with the method under test; short lists go absolute when the method is kAuto.
  void MountWithParam(const OverlaySpec& spec, const std::string& m) {
    auto info = MountOverlay(spec, m, GetParam());
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->method,
              GetParam() == OverlayMethod::kAuto ? OverlayMethod::kAbsolute : GetParam());
    EXPECT_TRUE(IsOverlay(m));
  }
};

TEST_P(OverlayMethodTest, OneLowerAndUpper) {
  std::string l = Dir("l"), u = Dir("u"), w = Dir("w"), m = Dir("m");
  Write(l + "/f", "lower");
  OverlaySpec spec;
  spec.lowers = {l};
  spec.upper = u;
  spec.work = w;
  ASSERT_NO_FATAL_FAILURE(MountWithParam(spec, m));
  EXPECT_EQ(Read(m + "/f"), "lower");
  ASSERT_TRUE(WriteFileAtomic(m + "/f", "changed"));
  EXPECT_EQ(Read(l + "/f"), "lower");  // copy-up: the lower file is untouched
  EXPECT_EQ(Read(u + "/f"), "changed");
  ASSERT_TRUE(Unmount(m));
}

TEST_P(OverlayMethodTest, TwoLowersNoUpper) {
  std::string l = Dir("l"), l2 = Dir("l2"), m = Dir("m");
  Write(l + "/f", "lower");
  OverlaySpec spec;
  spec.lowers = {l, l2};
  ASSERT_NO_FATAL_FAILURE(MountWithParam(spec, m));
  EXPECT_EQ(Read(m + "/f"), "lower");
  // With no upper the overlay itself is read-only.
  EXPECT_FALSE(WriteFileAtomic(m + "/g", "x"));
  ASSERT_TRUE(Unmount(m));
}

TEST_P(OverlayMethodTest, TwoLowersAndUpper) {
  std::string l1 = Dir("l1"), l2 = Dir("l2"), u = Dir("u"), w = Dir("w"), m = Dir("m");
  Write(l1 + "/shared", "l1");
  Write(l2 + "/shared", "l2");
  Write(l2 + "/only-l2", "l2");
  Write(u + "/upper", "u");
  OverlaySpec spec;
  spec.lowers = {l1, l2};
  spec.upper = u;
  spec.work = w;
  ASSERT_NO_FATAL_FAILURE(MountWithParam(spec, m));
  EXPECT_EQ(Read(m + "/shared"), "l1");  // LK2: the first lowerdir is the top
  EXPECT_EQ(Read(m + "/only-l2"), "l2");
  EXPECT_EQ(Read(m + "/upper"), "u");
  ASSERT_TRUE(WriteFileAtomic(m + "/new", "n"));
  EXPECT_EQ(Read(u + "/new"), "n");  // writes land in the upper layer
  auto found = FindMount(m);
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->fstype, "overlay");
  ASSERT_TRUE(Unmount(m));
  found = FindMount(m);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TEST_P(OverlayMethodTest, ReadOnlyFlag) {
  std::string l = Dir("l"), u = Dir("u"), w = Dir("w"), m = Dir("m");
  OverlaySpec spec;
  spec.lowers = {l};
  spec.upper = u;
  spec.work = w;
  spec.read_only = true;
  auto info = MountOverlay(spec, m, GetParam());
  ASSERT_TRUE(info) << info.error().message;
  auto st = WriteFileAtomic(m + "/x", "x");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, EROFS);
}

TEST_P(OverlayMethodTest, ColonInLayerPath) {
  std::string l1 = Dir("with:colon"), l2 = Dir("plain"), m = Dir("m");
  Write(l1 + "/a", "colon");
  Write(l2 + "/b", "plain");
  OverlaySpec spec;
  spec.lowers = {l1, l2};
  auto info = MountOverlay(spec, m, GetParam());
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(Read(m + "/a"), "colon");
  EXPECT_EQ(Read(m + "/b"), "plain");
  ASSERT_TRUE(Unmount(m));

  // LK2 for upperdir and workdir as well.
  spec.upper = Dir("up:per");
  spec.work = Dir("wo:rk");
  info = MountOverlay(spec, m, GetParam());
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_TRUE(WriteFileAtomic(m + "/new", "n"));
  EXPECT_EQ(Read(spec.upper + "/new"), "n");
}

TEST_P(OverlayMethodTest, ExtraOptionsReachTheKernel) {
  std::string l = Dir("l"), u = Dir("u"), w = Dir("w"), m = Dir("m");
  OverlaySpec spec;
  spec.lowers = {l};
  spec.upper = u;
  spec.work = w;
  spec.options = {"redirect_dir=on", "index=off"};
  auto info = MountOverlay(spec, m, GetParam());
  ASSERT_TRUE(info) << info.error().message;
  auto found = FindMount(m);
  ASSERT_TRUE(found && found->has_value());
  EXPECT_NE((*found)->options.find("redirect_dir=on"), std::string::npos) << (*found)->options;
}

INSTANTIATE_TEST_SUITE_P(Methods, OverlayMethodTest,
                         testing::Values(OverlayMethod::kAuto, OverlayMethod::kAbsolute,
                                         OverlayMethod::kRelative, OverlayMethod::kLowerdirPlus),
                         [](const auto& info) {
                           std::string n = OverlayMethodName(info.param);
                           return n == "lowerdir+" ? std::string("LowerdirPlus") : n;
                         });

TEST_F(MountTest, CommaInLayerPathIsAnError) {
  std::string l = Dir("a,b"), m = Dir("m");
  OverlaySpec spec;
  spec.lowers = {l, Dir("l2")};
  auto info = MountOverlay(spec, m, OverlayMethod::kAbsolute);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, EINVAL);
  EXPECT_NE(info.error().message.find("comma"), std::string::npos) << info.error().message;
}

TEST_F(MountTest, MissingWorkdirIsAnError) {
  OverlaySpec spec;
  spec.lowers = {Dir("l")};
  spec.upper = Dir("u");
  auto info = MountOverlay(spec, Dir("m"));
  ASSERT_FALSE(info);
  EXPECT_NE(info.error().message.find("workdir"), std::string::npos) << info.error().message;
}

TEST_F(MountTest, MissingLayerIsNamed) {
  OverlaySpec spec;
  spec.lowers = {Dir("l"), JoinPath(root_, "does-not-exist")};
  std::string m = Dir("m");
  for (auto method : {OverlayMethod::kAbsolute, OverlayMethod::kLowerdirPlus}) {
    auto info = MountOverlay(spec, m, method);
    ASSERT_FALSE(info) << OverlayMethodName(method);
    EXPECT_NE(info.error().message.find("does-not-exist"), std::string::npos)
        << info.error().message;
    EXPECT_EQ(info.error().code, ENOENT);
  }
  auto found = FindMount(m);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TEST_F(MountTest, OneLowerWithoutUpperIsAnError) {
  OverlaySpec spec;
  spec.lowers = {Dir("l")};
  auto info = MountOverlay(spec, Dir("m"));
  ASSERT_FALSE(info);
  EXPECT_NE(info.error().message.find("at least 2 lowerdirs"), std::string::npos)
      << info.error().message;
}

TEST_F(MountTest, KernelRejectionIsReported) {
  // workdir inside upperdir: the kernel refuses; lowerdir+ reports the kernel's own words.
  OverlaySpec spec;
  spec.lowers = {Dir("l")};
  spec.upper = Dir("u");
  spec.work = Dir("u/w");
  std::string m = Dir("m");
  for (auto method : {OverlayMethod::kAbsolute, OverlayMethod::kLowerdirPlus}) {
    auto info = MountOverlay(spec, m, method);
    ASSERT_FALSE(info) << OverlayMethodName(method);
    EXPECT_EQ(info.error().code, EINVAL) << info.error().message;
    // The kernel's reason is in its log; quoted when this process may read /dev/kmsg.
    if (::access("/dev/kmsg", R_OK) == 0) {
      EXPECT_NE(info.error().message.find("separate subtrees"), std::string::npos)
          << info.error().message;
    }
  }
  // An unknown option: the kernel's words come back through the fs context.
  spec.work = Dir("w");
  spec.options = {"no_such_option=1"};
  auto info = MountOverlay(spec, m, OverlayMethod::kLowerdirPlus);
  ASSERT_FALSE(info);
  EXPECT_NE(info.error().message.find("kernel: "), std::string::npos) << info.error().message;
  EXPECT_NE(info.error().message.find("no_such_option"), std::string::npos) << info.error().message;
  auto found = FindMount(m);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

// Docker's way to fit many layers: short symlinks l/<id> -> the long layer dirs, relative to base.
std::vector<std::string> ShortLinks(const std::string& base, const std::vector<std::string>& lowers,
                                    int id_len) {
  std::vector<std::string> links;
  EXPECT_TRUE(MakeDirs(JoinPath(base, "l")));
  for (size_t i = 0; i < lowers.size(); ++i) {
    std::string id = StrPrintf("%0*zu", id_len, i);
    std::string link = JoinPath(base, "l/" + id);
    EXPECT_EQ(::symlink(lowers[i].c_str(), link.c_str()), 0);
    links.push_back("l/" + id);
  }
  return links;
}

class DeepStackTest : public MountTest, public testing::WithParamInterface<int> {
 protected:
  void ExpectMergedView(const std::string& m, int count) {
    EXPECT_TRUE(IsOverlay(m));
    EXPECT_EQ(Read(JoinPath(m, StrPrintf("layer-%d", count - 1))), std::to_string(count - 1));
    EXPECT_EQ(Read(JoinPath(m, "layer-0")), "0");
    EXPECT_EQ(Read(JoinPath(m, "top")), "0");  // the uppermost layer wins
    auto names = ListDir(m);
    ASSERT_TRUE(names);
    EXPECT_EQ(names->size(), static_cast<size_t>(count) + 1);
  }
};

TEST_P(DeepStackTest, LowerdirPlus) {
  int count = GetParam();
  OverlaySpec spec;
  spec.lowers = MakeLayers(count, 120);
  spec.upper = Dir("u");
  spec.work = Dir("w");
  std::string m = Dir("m");
  // Far more than a page: the absolute method must refuse and leave nothing mounted.
  auto abs = MountOverlay(spec, m, OverlayMethod::kAbsolute);
  ASSERT_FALSE(abs);
  EXPECT_EQ(abs.error().code, E2BIG);
  EXPECT_NE(abs.error().message.find("lowerdir+"), std::string::npos) << abs.error().message;
  auto none = FindMount(m);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  auto info = MountOverlay(spec, m, OverlayMethod::kLowerdirPlus);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->method, OverlayMethod::kLowerdirPlus);
  ExpectMergedView(m, count);
  ASSERT_TRUE(Unmount(m));

  // kAuto picks lowerdir+ on this kernel (>= 6.8) for a list this long.
  if (ProbeOverlayFeatures().lowerdir_plus) {
    info = MountOverlay(spec, m, OverlayMethod::kAuto);
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->method, OverlayMethod::kLowerdirPlus);
    ExpectMergedView(m, count);
  }
}

TEST_P(DeepStackTest, RelativeThroughShortLinks) {
  int count = GetParam();
  auto lowers = MakeLayers(count, 120);
  OverlaySpec spec;
  spec.relative_base = root_;
  // 26-char ids as Docker for 128 layers; 500 layers only fit a page with 5-char ids.
  spec.lowers = ShortLinks(root_, lowers, count <= 128 ? 26 : 5);
  spec.upper = Dir("u");
  spec.work = Dir("w");
  std::string m = Dir("m");
  char cwd_before[4096];
  ASSERT_NE(::getcwd(cwd_before, sizeof cwd_before), nullptr);
  auto info = MountOverlay(spec, m, OverlayMethod::kRelative);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->method, OverlayMethod::kRelative);
  EXPECT_LT(info->option_bytes, static_cast<size_t>(::getpagesize()));
  ExpectMergedView(m, count);
  char cwd_after[4096];
  ASSERT_NE(::getcwd(cwd_after, sizeof cwd_after), nullptr);
  EXPECT_STREQ(cwd_before, cwd_after);  // the chdir stayed in the worker thread
}

INSTANTIATE_TEST_SUITE_P(Layers, DeepStackTest, testing::Values(128, 500));

TEST_F(MountTest, MoreThan500LowersFailsWithKernelReason) {
  OverlaySpec spec;
  spec.lowers = MakeLayers(501, 8);
  std::string m = Dir("m");
  auto info = MountOverlay(spec, m, OverlayMethod::kLowerdirPlus);
  ASSERT_FALSE(info);
  EXPECT_NE(info.error().message.find("lowerdir+ #501"), std::string::npos) << info.error().message;
  auto found = FindMount(m);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TEST_F(MountTest, RelativeRejectsPathsOutsideBase) {
  OverlaySpec spec;
  spec.relative_base = Dir("base");
  spec.lowers = {Dir("elsewhere"), Dir("base/l")};
  auto info = MountOverlay(spec, Dir("m"), OverlayMethod::kRelative);
  ASSERT_FALSE(info);
  EXPECT_NE(info.error().message.find("not below the relative base"), std::string::npos)
      << info.error().message;
}

TEST_F(MountTest, FeaturesProbeIsSane) {
  OverlayFeatures f = ProbeOverlayFeatures();
  EXPECT_FALSE(f.kernel_release.empty());
  EXPECT_TRUE(f.overlay_available);
  EXPECT_EQ(f.max_lowers, 500);
  if (f.lowerdir_plus) {
    EXPECT_TRUE(f.data_only_lowers);
  }
  auto redirect = ReadFileText("/sys/module/overlay/parameters/redirect_dir");
  if (redirect) {
    EXPECT_EQ(f.redirect_dir_default, StartsWith(*redirect, "Y"));
  }
}

TEST_F(MountTest, TmpfsSupportsDType) {
  auto d = SupportsDType(root_);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE(*d);
  auto names = ListDir(root_);
  ASSERT_TRUE(names);
  EXPECT_TRUE(names->empty());  // the probe file is gone
  EXPECT_FALSE(SupportsDType(JoinPath(root_, "missing")));
}

}  // namespace
}  // namespace ovlab::mount
