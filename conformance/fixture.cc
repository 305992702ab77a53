#include "conformance/fixture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "base/strings.h"

namespace ovlab::conformance {

Layer& Layer::Add(FixtureNode node) {
  nodes_.push_back(std::move(node));
  return *this;
}

Layer& Layer::File(const std::string& path, const std::string& content, mode_t mode, uid_t uid,
                   gid_t gid) {
  return Add({FixtureNode::Kind::kFile, path, content, "", mode, uid, gid, 0});
}
Layer& Layer::Dir(const std::string& path, mode_t mode, uid_t uid, gid_t gid) {
  return Add({FixtureNode::Kind::kDir, path, "", "", mode, uid, gid, 0});
}
Layer& Layer::Symlink(const std::string& path, const std::string& target) {
  return Add({FixtureNode::Kind::kSymlink, path, target, "", 0777, 0, 0, 0});
}
Layer& Layer::Hardlink(const std::string& path, const std::string& existing) {
  return Add({FixtureNode::Kind::kHardlink, path, existing, "", 0, 0, 0, 0});
}
Layer& Layer::Fifo(const std::string& path, mode_t mode) {
  return Add({FixtureNode::Kind::kFifo, path, "", "", mode, 0, 0, 0});
}
Layer& Layer::CharDev(const std::string& path, dev_t dev, mode_t mode) {
  return Add({FixtureNode::Kind::kCharDev, path, "", "", mode, 0, 0, dev});
}
Layer& Layer::BlockDev(const std::string& path, dev_t dev, mode_t mode) {
  return Add({FixtureNode::Kind::kBlockDev, path, "", "", mode, 0, 0, dev});
}
Layer& Layer::Whiteout(const std::string& path) {
  return Add({FixtureNode::Kind::kWhiteout, path, "", "", 0, 0, 0, 0});
}
Layer& Layer::AltWhiteout(const std::string& path) {
  return Add({FixtureNode::Kind::kAltWhiteout, path, "", "", 0644, 0, 0, 0});
}
Layer& Layer::Opaque(const std::string& path) {
  return Add({FixtureNode::Kind::kOpaque, path, "y", "", 0755, 0, 0, 0});
}
Layer& Layer::Xattr(const std::string& path, const std::string& name, const std::string& value) {
  return Add({FixtureNode::Kind::kXattr, path, value, name, 0, 0, 0, 0});
}
Layer& Layer::Redirect(const std::string& path, const std::string& to) {
  return Add({FixtureNode::Kind::kRedirect, path, to, "", 0, 0, 0, 0});
}

namespace {

std::unexpected<Error> Errno(const std::string& what, const std::string& path) {
  return FailErrno(errno, "fixture: " + what + " " + path);
}

Status SetX(const std::string& path, const char* name, const std::string& value) {
  if (::lsetxattr(path.c_str(), name, value.data(), value.size(), 0) != 0)
    return Errno(StrPrintf("setxattr %s on", name), path);
  return {};
}

Status Owner(const std::string& path, const FixtureNode& n) {
  if (::lchown(path.c_str(), n.uid, n.gid) != 0) return Errno("chown", path);
  if (::chmod(path.c_str(), n.mode) != 0) return Errno("chmod", path);
  return {};
}

Status MakeNode(const std::string& root, const FixtureNode& n) {
  using K = FixtureNode::Kind;
  std::string p = JoinPath(root, n.path);
  if (auto s = MakeDirs(DirName(p)); !s) return s;
  switch (n.kind) {
    case K::kFile:
    case K::kAltWhiteout: {
      int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) return Errno("create", p);
      ssize_t w = ::write(fd, n.data.data(), n.data.size());
      ::close(fd);
      if (w != static_cast<ssize_t>(n.data.size())) return Errno("write", p);
      if (auto s = Owner(p, n); !s) return s;
      if (n.kind == K::kAltWhiteout) {
        if (auto s = SetX(p, "trusted.overlay.whiteout", ""); !s) return s;
        return SetX(DirName(p), "trusted.overlay.opaque", "x");
      }
      return {};
    }
    case K::kDir:
    case K::kOpaque:
      if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir", p);
      if (auto s = Owner(p, n); !s) return s;
      return n.kind == K::kOpaque ? SetX(p, "trusted.overlay.opaque", "y") : Status{};
    case K::kSymlink:
      if (::symlink(n.data.c_str(), p.c_str()) != 0) return Errno("symlink", p);
      return {};
    case K::kHardlink:
      if (::link(JoinPath(root, n.data).c_str(), p.c_str()) != 0) return Errno("link", p);
      return {};
    case K::kFifo:
      if (::mkfifo(p.c_str(), n.mode) != 0) return Errno("mkfifo", p);
      return Owner(p, n);
    case K::kCharDev:
    case K::kBlockDev:
    case K::kWhiteout: {
      mode_t type = n.kind == K::kBlockDev ? S_IFBLK : S_IFCHR;
      if (::mknod(p.c_str(), type | (n.kind == K::kWhiteout ? 0 : n.mode), n.dev) != 0)
        return Errno("mknod", p);
      return n.kind == K::kWhiteout ? Status{} : Owner(p, n);
    }
    case K::kXattr:
      return SetX(p, n.xattr.c_str(), n.data);
    case K::kRedirect:
      return SetX(p, "trusted.overlay.redirect", n.data);
  }
  return {};
}

Status MakeLayer(const Layer& layer, const std::string& root) {
  if (::mkdir(root.c_str(), 0755) != 0) return Errno("mkdir", root);
  for (const auto& n : layer.nodes()) {
    if (auto s = MakeNode(root, n); !s) return s;
  }
  return {};
}

}  // namespace

Result<LayerSet> Materialize(const Fixture& fixture, const std::string& dir) {
  LayerSet layers;
  if (auto s = MakeDirs(dir); !s) return std::unexpected(s.error());
  for (size_t i = 0; i < fixture.lowers.size(); ++i) {
    std::string root = JoinPath(dir, StrPrintf("%s%zu", fixture.lower_prefix.c_str(), i));
    if (auto s = MakeLayer(fixture.lowers[i], root); !s) return std::unexpected(s.error());
    layers.lowers.push_back(root);
  }
  layers.upper = JoinPath(dir, "upper");
  layers.work = JoinPath(dir, "work");
  if (auto s = MakeLayer(fixture.upper, layers.upper); !s) return std::unexpected(s.error());
  if (::mkdir(layers.work.c_str(), 0755) != 0) return Errno("mkdir", layers.work);
  return layers;
}

Result<LayerSet> RotateLayers(const LayerSet& layers, const std::string& dir, int generation) {
  LayerSet next;
  next.lowers.push_back(layers.upper);
  next.lowers.insert(next.lowers.end(), layers.lowers.begin(), layers.lowers.end());
  next.upper = JoinPath(dir, StrPrintf("upper%d", generation));
  next.work = JoinPath(dir, StrPrintf("work%d", generation));
  if (::mkdir(next.upper.c_str(), 0755) != 0) return Errno("mkdir", next.upper);
  if (::mkdir(next.work.c_str(), 0755) != 0) return Errno("mkdir", next.work);
  return next;
}

// Names the cases rely on (l1 is the bottom layer, l0 the top one):
//   /f /f2 /pub /ro /exe /own   lower files (0644, 0644, 0644, 0600 root, 0755, 0640 1000:1000)
//   /top                        file only in the top lower
//   /d  /d/a /d/b /d/sub/c      a lower-only directory tree
//   /m  /m/x /m/y /m/z          a directory merged from both lowers (/m/y shadowed by l0)
//   /mu /mu/x /mu/v             a directory merged from a lower and the upper
//   /wh /whd                    names whited out in l0 (a file and a directory in l1)
//   /opq /opq/new               opaque in l0, hiding l1's /opq/old
//   /alt /alt/keep              l0's /alt holds an xattr whiteout (WO2) of /alt/gone
//   /shadow                     a file in l0 over a directory in l1
//   /s -> f, /s2 -> s, /sd -> d, /sdd -> sd, /dangle -> missing   symlinks in l0
//   /h1 /h2                     one lower inode with two links
//   /fifo /cdev                 special files
//   /x                          a file with user.color and trusted.note xattrs
//   /sticky /pubdir             lower dirs 01777 and 0777
//   /u /ud /ud/q                upper-only file and directory
//   /cu                         a file in the upper over the same name in l1
Fixture StandardFixture() {
  Fixture fx;
  fx.lowers.assign(2, Layer());
  Layer& top = fx.lowers[0];
  Layer& bottom = fx.lowers[1];
  bottom.File("/f", "lower-f\n")
      .File("/f2", "lower-f2\n")
      .File("/pub", "public\n")
      .File("/ro", "secret\n", 0600)
      .File("/exe", "#!/bin/sh\nexit 0\n", 0755)
      .File("/own", "owned\n", 0640, 1000, 1000)
      .Dir("/d")
      .File("/d/a", "a\n")
      .File("/d/b", "b\n")
      .File("/d/sub/c", "c\n")
      .File("/m/x", "x1\n")
      .File("/m/y", "y1\n")
      .File("/mu/x", "mux\n")
      .File("/wh", "gone\n")
      .File("/whd/k", "k\n")
      .File("/opq/old", "old\n")
      .File("/alt/keep", "keep\n")
      .File("/alt/gone", "gone\n")
      .Dir("/shadow")
      .File("/shadow/inner", "inner\n")
      .File("/h1", "linked\n")
      .Hardlink("/h2", "/h1")
      .Fifo("/fifo")
      .CharDev("/cdev", makedev(1, 3))
      .File("/x", "xattrs\n")
      .Xattr("/x", "user.color", "blue")
      .Xattr("/x", "trusted.note", "t")
      .Dir("/sticky", 01777)
      .Dir("/pubdir", 0777)
      .File("/cu", "cu-lower\n");
  top.File("/m/y", "y0\n")
      .File("/m/z", "z0\n")
      .File("/top", "top\n")
      .Whiteout("/wh")
      .Whiteout("/whd")
      .Opaque("/opq")
      .File("/opq/new", "new\n")
      .Dir("/alt")
      .AltWhiteout("/alt/gone")
      .File("/shadow", "file-over-dir\n")
      .Symlink("/s", "f")
      .Symlink("/s2", "s")
      .Symlink("/sd", "d")
      .Symlink("/sdd", "sd")
      .Symlink("/dangle", "missing");
  fx.upper.File("/u", "upper-u\n")
      .File("/ud/q", "q\n")
      .File("/mu/v", "v\n")
      .File("/cu", "cu-upper\n");
  return fx;
}

}  // namespace ovlab::conformance
