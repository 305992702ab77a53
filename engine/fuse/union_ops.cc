#include "fuse/union_ops.h"

#include <malloc.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/fs.h"
#include "base/strings.h"

namespace ovlab::fuse {
namespace {

using unionfs::Cred;
using unionfs::NodeId;
using unionfs::Union;

constexpr size_t kMaxGroups = 256;

ServerContext& Ctx(fuse_req_t req) {
  return *static_cast<ServerContext*>(fuse_req_userdata(req));
}
Union& Engine(fuse_req_t req) {
  return *Ctx(req).engine;
}

// The caller as the engine sees it: fsuid/fsgid and, for non-root callers, the supplementary
// groups (root passes every check, so reading /proc for it would be wasted work).
Cred CredOf(fuse_req_t req) {
  const fuse_ctx* c = fuse_req_ctx(req);
  Cred cred = Cred::User(c->uid, c->gid);
  if (c->uid != 0 && Ctx(req).speed.supplementary_groups) {
    gid_t groups[kMaxGroups];
    int n = fuse_req_getgroups(req, kMaxGroups, groups);
    if (n > 0) cred.groups.assign(groups, groups + std::min<size_t>(n, kMaxGroups));
  }
  return cred;
}

// Hard links may be separate nodes whose cached nlink would not follow a link or unlink through
// another name: their attributes are not cached.
double AttrTimeout(fuse_req_t req, const struct stat& st) {
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) return 0;
  return Ctx(req).speed.attr_timeout;
}

fuse_entry_param EntryParam(fuse_req_t req, const unionfs::Entry& e) {
  fuse_entry_param p{};
  p.ino = e.node;
  p.generation = e.generation;
  p.attr = e.attr;
  p.attr_timeout = AttrTimeout(req, e.attr);
  p.entry_timeout = Ctx(req).speed.entry_timeout;
  return p;
}

// ESTALE would make the kernel's VFS retry a lookup once and then give it to the caller, where
// the kernel's overlay says ENOENT for a name that lost a race (removed nodes the kernel still
// holds are served from their detached objects instead, see OrDetached).
void ReplyError(fuse_req_t req, int err) {
  fuse_reply_err(req, err == ESTALE ? ENOENT : err);
}

// The engine says ESTALE for a node whose name was removed; when the kernel still held it, the
// object detached from it at the removal answers as the kernel's overlay would.
template <typename T, typename Call>
SysResult<T> OrDetached(fuse_req_t req, fuse_ino_t ino, SysResult<T> r, Call call) {
  if (r || r.error() != ESTALE) return r;
  DetachedNodes::Object d = Ctx(req).detached.Find(ino);
  if (!d) return r;
  return call(*d);
}

// Replies with an entry; when the kernel refuses the reply the lookup is given back.
void ReplyEntry(fuse_req_t req, const SysResult<unionfs::Entry>& e) {
  if (!e) {
    ReplyError(req, e.error());
    return;
  }
  fuse_entry_param p = EntryParam(req, *e);
  if (fuse_reply_entry(req, &p) != 0) Engine(req).Forget(e->node, 1);
}

void ReplyStatus(fuse_req_t req, const SysResult<void>& r) {
  if (r) {
    fuse_reply_err(req, 0);
  } else {
    ReplyError(req, r.error());
  }
}

void ReplyAttr(fuse_req_t req, const SysResult<struct stat>& st) {
  if (!st) {
    ReplyError(req, st.error());
    return;
  }
  fuse_reply_attr(req, &*st, AttrTimeout(req, *st));
}

// The largest write request that still fits the pipe libfuse splices requests into: a pipe
// holds at most fs.pipe-max-size (1 MiB unless raised) without CAP_SYS_RESOURCE, and a larger
// request makes libfuse give up splicing.
unsigned SplicedWriteMax(unsigned max_write) {
  constexpr unsigned kHeaderRoom = 4096;  // the request header, one page as libfuse counts it
  auto text = ReadFileText("/proc/sys/fs/pipe-max-size");
  auto pipe_max = text ? ParseUint(Trim(*text)) : std::nullopt;
  if (!pipe_max || *pipe_max <= kHeaderRoom) return max_write;
  return static_cast<unsigned>(std::min<uint64_t>(max_write, *pipe_max - kHeaderRoom));
}

void OpInit(void* userdata, fuse_conn_info* conn) {
  const SpeedOptions& s = static_cast<ServerContext*>(userdata)->speed;
  auto want = [conn](unsigned cap, bool on) {
    if (on && (conn->capable & cap)) {
      conn->want |= cap;
    } else {
      conn->want &= ~cap;
    }
  };
  want(FUSE_CAP_WRITEBACK_CACHE, s.writeback_cache);
  want(FUSE_CAP_SPLICE_READ, s.splice_read);
  want(FUSE_CAP_SPLICE_WRITE, s.splice_write);
  want(FUSE_CAP_SPLICE_MOVE, s.splice_move);
  want(FUSE_CAP_READDIRPLUS, s.readdirplus != ReaddirPlus::kOff);
  want(FUSE_CAP_READDIRPLUS_AUTO, s.readdirplus == ReaddirPlus::kAuto);
  want(FUSE_CAP_ATOMIC_O_TRUNC, true);  // the engine copies up and truncates in one open (CU1)
  want(FUSE_CAP_PARALLEL_DIROPS, true);
  want(FUSE_CAP_ASYNC_READ, true);
  // The kernel clears setuid/setgid on write and chown itself and tells us with a setattr.
  want(FUSE_CAP_HANDLE_KILLPRIV, false);
  // Locks stay local to this kernel, as on overlayfs (the layers are not shared).
  want(FUSE_CAP_POSIX_LOCKS, false);
  want(FUSE_CAP_FLOCK_LOCKS, false);
  conn->max_write = s.splice_read ? SplicedWriteMax(s.max_write) : s.max_write;
  conn->max_readahead = std::min(conn->max_readahead, s.max_readahead);
  conn->time_gran = 1;
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto e = Engine(req).Lookup(CredOf(req), parent, name);
  if (!e && e.error() == ENOENT && Ctx(req).speed.negative_timeout > 0) {
    fuse_entry_param p{};  // ino 0: a cacheable "no such name"
    p.entry_timeout = Ctx(req).speed.negative_timeout;
    fuse_reply_entry(req, &p);
    return;
  }
  ReplyEntry(req, e);
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Engine(req).Forget(ino, nlookup);
  Ctx(req).detached.Forgotten(ino, Engine(req));
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Ctx(req).memory.Forgetting(Engine(req), [&] { Forget(req, ino, nlookup); });
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Ctx(req).memory.Forgetting(Engine(req), [&] {
    for (size_t i = 0; i < count; ++i) Forget(req, forgets[i].ino, forgets[i].nlookup);
  });
  fuse_reply_none(req);
}

// fstat of an open deleted file comes here without a handle too: the detached object answers.
void OpGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Union& u = Engine(req);
  ReplyAttr(req, OrDetached(req, ino, u.GetAttr(CredOf(req), ino),
                            [&](const auto& d) { return u.GetAttr(d); }));
}

void OpSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  unionfs::SetAttrValues v;
  v.mode = attr->st_mode & 07777;
  v.uid = attr->st_uid;
  v.gid = attr->st_gid;
  v.size = attr->st_size;
  v.atime = attr->st_atim;
  v.mtime = attr->st_mtim;
  constexpr unsigned kKnown = unionfs::kSetMode | unionfs::kSetUid | unionfs::kSetGid |
                              unionfs::kSetSize | unionfs::kSetAtime | unionfs::kSetMtime |
                              unionfs::kSetAtimeNow | unionfs::kSetMtimeNow | unionfs::kSetCtime;
  std::optional<unionfs::FileHandle> handle;
  if (fi) handle = fi->fh;
  Union& u = Engine(req);
  const Cred cred = CredOf(req);
  const unsigned mask = static_cast<unsigned>(to_set) & kKnown;
  ReplyAttr(req, OrDetached(req, ino, u.SetAttr(cred, ino, mask, v, handle),
                            [&](const auto& d) { return u.SetAttr(cred, d, mask, v, handle); }));
}

void OpReadLink(fuse_req_t req, fuse_ino_t ino) {
  auto target = Engine(req).ReadLink(CredOf(req), ino);
  if (!target) {
    ReplyError(req, target.error());
    return;
  }
  fuse_reply_readlink(req, target->c_str());
}

void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  ReplyEntry(req, Engine(req).Mknod(CredOf(req), parent, name, mode, rdev));
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  ReplyEntry(req, Engine(req).Mkdir(CredOf(req), parent, name, mode));
}

void OpSymlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  ReplyEntry(req, Engine(req).Symlink(CredOf(req), parent, name, target));
}

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
  auto e = Engine(req).Link(CredOf(req), ino, new_parent, new_name);
  // When the new name is a node of its own, the kernel would keep the old name's cached nlink.
  if (e && e->node != ino && Ctx(req).session) {
    fuse_lowlevel_notify_inval_inode(Ctx(req).session, ino, -1, 0);
  }
  ReplyEntry(req, e);
}

// Removals keep the object of a node the kernel still holds (an open may be racing them).
void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  const Cred cred = CredOf(req);
  ReplyStatus(req, Ctx(req).detached.Removing(
                       [&] { return Engine(req).UnlinkDetaching(cred, parent, name); }));
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  const Cred cred = CredOf(req);
  ReplyStatus(req, Ctx(req).detached.Removing(
                       [&] { return Engine(req).RmdirDetaching(cred, parent, name); }));
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
              const char* new_name, unsigned flags) {
  const Cred cred = CredOf(req);
  ReplyStatus(req, Ctx(req).detached.Removing([&] {
    return Engine(req).RenameDetaching(cred, parent, name, new_parent, new_name, flags);
  }));
}

// With the write-back cache the kernel reads pages of files opened write-only and appends by
// itself, so the daemon's descriptor must be readable and must not append (libfuse's advice).
int AdjustOpenFlags(fuse_req_t req, int flags) {
  if (!Ctx(req).speed.writeback_cache) return flags;
  if ((flags & O_ACCMODE) == O_WRONLY) flags = (flags & ~O_ACCMODE) | O_RDWR;
  return flags & ~O_APPEND;
}

void SetOpenReplyFlags(fuse_req_t req, fuse_file_info* fi) {
  fi->keep_cache = Ctx(req).speed.keep_cache;
  fi->noflush = 1;  // nothing to do on close(2): data is written through
}

// An open that lost the race with the removal of its name opens the object it looked up.
void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Union& u = Engine(req);
  const Cred cred = CredOf(req);
  const int flags = AdjustOpenFlags(req, fi->flags);
  auto h = OrDetached(req, ino, u.Open(cred, ino, flags),
                      [&](const auto& d) { return u.Open(cred, d, flags); });
  if (!h) {
    ReplyError(req, h.error());
    return;
  }
  fi->fh = *h;
  SetOpenReplyFlags(req, fi);
  if (fuse_reply_open(req, fi) != 0) (void)Engine(req).Release(*h);
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  auto c = Engine(req).Create(CredOf(req), parent, name, AdjustOpenFlags(req, fi->flags), mode);
  if (!c) {
    ReplyError(req, c.error());
    return;
  }
  fi->fh = c->handle;
  SetOpenReplyFlags(req, fi);
  fuse_entry_param p = EntryParam(req, c->entry);
  if (fuse_reply_create(req, &p, fi) != 0) {
    (void)Engine(req).Release(c->handle);
    Engine(req).Forget(c->entry.node, 1);
  }
}

fuse_buf_copy_flags SpliceFlags(fuse_req_t req) {
  return Ctx(req).speed.splice_move ? FUSE_BUF_SPLICE_MOVE : static_cast<fuse_buf_copy_flags>(0);
}

// With splice_write the reply names the engine's fd and libfuse splices the file's pages into
// /dev/fuse (moving them with splice_move). Without it the data is pread into a buffer each
// worker thread keeps: libfuse's own fallback mallocs one per request, and at 1 MiB requests
// each of them page-faults 256 fresh pages (measured: 263,183 faults for a 1 GiB O_DIRECT read).
void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  auto lease = Engine(req).FileFd(fi->fh);
  if (!lease) {
    ReplyError(req, lease.error());
    return;
  }
  if (Ctx(req).speed.splice_write) {
    fuse_bufvec data = FUSE_BUFVEC_INIT(size);
    data.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    data.buf[0].fd = lease->fd;
    data.buf[0].pos = off;
    fuse_reply_data(req, &data, SpliceFlags(req));
    return;
  }
  // Page-aligned: the engine's fd may be O_DIRECT (the caller's flag goes through).
  thread_local std::unique_ptr<char, decltype(&std::free)> buffer(nullptr, &std::free);
  thread_local size_t capacity = 0;
  if (capacity < size) {
    capacity = (size + 4095) & ~size_t{4095};
    buffer.reset(static_cast<char*>(std::aligned_alloc(4096, capacity)));
    if (!buffer) {
      capacity = 0;
      ReplyError(req, ENOMEM);
      return;
    }
  }
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::pread(lease->fd, buffer.get() + got, size - got, off + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ReplyError(req, errno);
      return;
    }
    if (n == 0) break;  // end of file
    got += static_cast<size_t>(n);
  }
  fuse_reply_buf(req, buffer.get(), got);
}

// The request's data (in memory, or in a pipe when splice_read brought it there) goes straight
// into the engine's fd: pwrite from memory, splice from the pipe.
void OpWriteBuf(fuse_req_t req, fuse_ino_t, fuse_bufvec* in, off_t off, fuse_file_info* fi) {
  auto lease = Engine(req).FileFd(fi->fh);
  if (!lease) {
    ReplyError(req, lease.error());
    return;
  }
  fuse_bufvec dst = FUSE_BUFVEC_INIT(fuse_buf_size(in));
  dst.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  dst.buf[0].fd = lease->fd;
  dst.buf[0].pos = off;
  ssize_t n = fuse_buf_copy(&dst, in, SpliceFlags(req));
  if (n < 0) {
    ReplyError(req, static_cast<int>(-n));
    return;
  }
  fuse_reply_write(req, static_cast<size_t>(n));
}

void OpFsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) {
  ReplyStatus(req, Engine(req).Fsync(fi->fh, datasync != 0));
}

void OpFallocate(fuse_req_t req, fuse_ino_t, int mode, off_t offset, off_t length,
                 fuse_file_info* fi) {
  ReplyStatus(req, Engine(req).Fallocate(fi->fh, mode, offset, length));
}

void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  ReplyStatus(req, Engine(req).Release(fi->fh));
}

// Copies through a buffer: between filesystems copy_file_range(2) cannot join.
SysResult<size_t> CopyByReadWrite(int in, off_t off_in, int out, off_t off_out, size_t len) {
  constexpr size_t kChunk = 1u << 20;
  std::unique_ptr<char[]> buf(new char[std::min(len, kChunk)]);
  size_t done = 0;
  while (done < len) {
    size_t want = std::min(len - done, kChunk);
    ssize_t got = ::pread(in, buf.get(), want, off_in + static_cast<off_t>(done));
    if (got <= 0) {
      if (got < 0 && done == 0) return SysFail(errno);
      break;
    }
    ssize_t put =
        ::pwrite(out, buf.get(), static_cast<size_t>(got), off_out + static_cast<off_t>(done));
    if (put < 0) {
      if (done == 0) return SysFail(errno);
      break;
    }
    done += static_cast<size_t>(put);
    if (put < got) break;
  }
  return done;
}

bool CopyFileRangeCannotJoin(int err) {
  return err == EXDEV || err == EOPNOTSUPP || err == ENOSYS;
}

// copy_file_range(2) inside the daemon, between the engine's real fds (the destination handle
// was copied up when opened for writing): the upper filesystem may share extents (xfs, btrfs)
// or copy in the kernel; one request instead of a read and a write per chunk.
void OpCopyFileRange(fuse_req_t req, fuse_ino_t, off_t off_in, fuse_file_info* fi_in, fuse_ino_t,
                     off_t off_out, fuse_file_info* fi_out, size_t len, int flags) {
  if (flags != 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  auto in = Engine(req).FileFd(fi_in->fh);
  auto out = Engine(req).FileFd(fi_out->fh);
  if (!in || !out) {
    ReplyError(req, !in ? in.error() : out.error());
    return;
  }
  size_t done = 0;
  while (done < len) {
    loff_t from = off_in + static_cast<off_t>(done);
    loff_t to = off_out + static_cast<off_t>(done);
    ssize_t n = ::copy_file_range(in->fd, &from, out->fd, &to, len - done, 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0 || done > 0) break;
    if (!CopyFileRangeCannotJoin(errno)) {
      ReplyError(req, errno);
      return;
    }
    auto copied = CopyByReadWrite(in->fd, off_in, out->fd, off_out, len);
    if (!copied) {
      ReplyError(req, copied.error());
      return;
    }
    done = *copied;
    break;
  }
  fuse_reply_write(req, done);
}

// Handle 0 (never an engine handle): a removed directory, which lists as empty.
constexpr uint64_t kRemovedDir = 0;

void OpOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Union& u = Engine(req);
  const Cred cred = CredOf(req);
  auto h = OrDetached(req, ino, u.OpenDir(cred, ino), [&](const auto& d) -> SysResult<uint64_t> {
    if (auto a = u.Access(cred, d, R_OK); !a) return SysFail(a.error());
    return kRemovedDir;
  });
  if (!h) {
    ReplyError(req, h.error());
    return;
  }
  fi->fh = *h;
  // Changes reach the layers only through this mount, and the kernel drops a cached listing
  // when an entry is added or removed through it.
  fi->cache_readdir = Ctx(req).speed.cache_readdir;
  fi->keep_cache = Ctx(req).speed.cache_readdir;
  if (fuse_reply_open(req, fi) != 0) (void)Engine(req).ReleaseDir(*h);
}

bool IsDotOrDotDot(const std::string& name) {
  return name == "." || name == "..";
}

// The smallest a dirent can be (24-byte header, 8-byte aligned), to size the engine request.
constexpr size_t kMinDirent = 32;

// readdir and readdirplus: entries from `off` until the kernel's buffer is full. Each plus entry
// the kernel receives (all but "." and "..") carries one engine lookup; an entry that does not
// fit gives its lookup back and is sent again next time from its offset.
void ReadDirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                   bool plus) {
  Union& u = Engine(req);
  if (fi->fh == kRemovedDir) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  auto entries = u.ReadDir(fi->fh, off, size / kMinDirent + 1);
  if (!entries) {
    ReplyError(req, entries.error());
    return;
  }
  std::unique_ptr<char[]> buf(new char[size]);
  size_t used = 0;
  Cred cred = plus ? CredOf(req) : Cred{};
  for (const auto& d : *entries) {
    char* at = buf.get() + used;
    size_t room = size - used;
    size_t need;
    if (!plus) {
      struct stat st {};
      st.st_ino = d.ino;
      st.st_mode = static_cast<mode_t>(d.type) << 12;
      need = fuse_add_direntry(req, at, room, d.name.c_str(), &st, d.offset);
      if (need > room) break;
    } else {
      fuse_entry_param p{};
      SysResult<unionfs::Entry> e = SysFail(ENOENT);
      if (!IsDotOrDotDot(d.name)) e = u.Lookup(cred, ino, d.name);
      if (e) {
        p = EntryParam(req, *e);
      } else {
        p.attr.st_ino = d.ino;  // node id 0: the kernel fills the dirent only
        p.attr.st_mode = static_cast<mode_t>(d.type) << 12;
      }
      need = fuse_add_direntry_plus(req, at, room, d.name.c_str(), &p, d.offset);
      if (need > room) {
        if (e) u.Forget(e->node, 1);
        break;
      }
    }
    used += need;
  }
  fuse_reply_buf(req, buf.get(), used);
}

void OpReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReadDirCommon(req, ino, size, off, fi, /*plus=*/false);
}

void OpReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReadDirCommon(req, ino, size, off, fi, /*plus=*/true);
}

void OpReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  if (fi->fh == kRemovedDir) {
    fuse_reply_err(req, 0);
    return;
  }
  ReplyStatus(req, Engine(req).ReleaseDir(fi->fh));
}

void OpFsyncDir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  fuse_reply_err(req, 0);
}

void OpStatFs(fuse_req_t req, fuse_ino_t ino) {
  auto st = Engine(req).StatFs(ino);
  if (!st) {
    ReplyError(req, st.error());
    return;
  }
  fuse_reply_statfs(req, &*st);
}

void OpSetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  Union& u = Engine(req);
  const Cred cred = CredOf(req);
  const std::string_view v(value, size);
  ReplyStatus(req, OrDetached(req, ino, u.SetXattr(cred, ino, name, v, flags),
                              [&](const auto& d) { return u.SetXattr(cred, d, name, v, flags); }));
}

// getxattr/listxattr size protocol: size 0 asks for the length, a short buffer is ERANGE.
void ReplyXattrValue(fuse_req_t req, size_t size, const SysResult<std::string>& value) {
  if (!value) {
    ReplyError(req, value.error());
  } else if (size == 0) {
    fuse_reply_xattr(req, value->size());
  } else if (size < value->size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, value->data(), value->size());
  }
}

void OpGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Union& u = Engine(req);
  const Cred cred = CredOf(req);
  ReplyXattrValue(req, size, OrDetached(req, ino, u.GetXattr(cred, ino, name), [&](const auto& d) {
                    return u.GetXattr(cred, d, name);
                  }));
}

void OpListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Union& u = Engine(req);
  const Cred cred = CredOf(req);
  auto names = OrDetached(req, ino, u.ListXattr(cred, ino),
                          [&](const auto& d) { return u.ListXattr(cred, d); });
  if (!names) {
    ReplyXattrValue(req, size, SysFail(names.error()));
    return;
  }
  std::string packed;
  for (const auto& n : *names) {
    packed += n;
    packed += '\0';
  }
  ReplyXattrValue(req, size, packed);
}

void OpRemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Union& u = Engine(req);
  const Cred cred = CredOf(req);
  ReplyStatus(req, OrDetached(req, ino, u.RemoveXattr(cred, ino, name),
                              [&](const auto& d) { return u.RemoveXattr(cred, d, name); }));
}

void OpAccess(fuse_req_t req, fuse_ino_t ino, int mask) {
  Union& u = Engine(req);
  const Cred cred = CredOf(req);
  ReplyStatus(req, OrDetached(req, ino, u.Access(cred, ino, mask),
                              [&](const auto& d) { return u.Access(cred, d, mask); }));
}

}  // namespace

size_t ForgottenMemory::SettledNodeCount(const unionfs::Union& engine) {
  std::lock_guard lock(mu_);
  return engine.NodeCount();
}

void ForgottenMemory::Forgotten(size_t freed, size_t left) {
  pending_ += freed;
  if (pending_ < kTrimAfter && left > left_at_trim_ / 2) return;
  pending_ = 0;
  left_at_trim_ = left;
  ::malloc_trim(0);
}

fuse_lowlevel_ops UnionOperations(const SpeedOptions& speed) {
  fuse_lowlevel_ops ops{};
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetAttr;
  ops.setattr = OpSetAttr;
  ops.readlink = OpReadLink;
  ops.mknod = OpMknod;
  ops.mkdir = OpMkdir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.symlink = OpSymlink;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.write_buf = OpWriteBuf;
  ops.release = OpRelease;
  ops.fsync = OpFsync;
  ops.opendir = OpOpenDir;
  ops.readdir = OpReadDir;
  if (speed.readdirplus != ReaddirPlus::kOff) ops.readdirplus = OpReadDirPlus;
  ops.releasedir = OpReleaseDir;
  ops.fsyncdir = OpFsyncDir;
  ops.statfs = OpStatFs;
  ops.setxattr = OpSetXattr;
  ops.getxattr = OpGetXattr;
  ops.listxattr = OpListXattr;
  ops.removexattr = OpRemoveXattr;
  ops.access = OpAccess;
  ops.create = OpCreate;
  ops.fallocate = OpFallocate;
  if (speed.copy_file_range) ops.copy_file_range = OpCopyFileRange;
  return ops;
}

}  // namespace ovlab::fuse
