#include "io/uring_copy.h"

#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "base/unique_fd.h"

namespace ovlab::io {
namespace {

constexpr unsigned kSlots = 8;               // read+write pairs in flight
constexpr uint64_t kSlotBytes = 256 * 1024;  // one registered buffer per slot

// A ring with registered buffers, made once per thread: ring setup and buffer pinning stay out
// of every copy (and out of benchmark timings).
class FixedBufferRing {
 public:
  static SysResult<FixedBufferRing*> ForThisThread() {
    thread_local std::unique_ptr<FixedBufferRing> ring;
    thread_local int init_error = 0;
    if (!ring && init_error == 0) {
      auto r = std::unique_ptr<FixedBufferRing>(new FixedBufferRing);
      init_error = r->Init();
      if (init_error == 0) ring = std::move(r);
    }
    if (!ring) return SysFail(init_error);
    return ring.get();
  }
  ~FixedBufferRing() {
    if (ring_ready_) io_uring_queue_exit(&ring_);
    for (auto& iov : buffers_) ::free(iov.iov_base);
  }
  io_uring* ring() { return &ring_; }
  void* buffer(unsigned i) { return buffers_[i].iov_base; }

 private:
  FixedBufferRing() = default;
  int Init() {
    int rc = io_uring_queue_init(kSlots * 2, &ring_, 0);
    if (rc < 0) return -rc;
    ring_ready_ = true;
    for (auto& iov : buffers_) {
      if (::posix_memalign(&iov.iov_base, 4096, kSlotBytes) != 0) return ENOMEM;
      iov.iov_len = kSlotBytes;
    }
    rc = io_uring_register_buffers(&ring_, buffers_, kSlots);
    return rc < 0 ? -rc : 0;
  }
  io_uring ring_{};
  bool ring_ready_ = false;
  iovec buffers_[kSlots] = {};
};

// Finishes a chunk with pread/pwrite from `done` bytes on (after a short read or write).
int FinishChunk(int src_fd, int dst_fd, void* buf, const Extent& c, uint64_t done) {
  char* p = static_cast<char*>(buf);
  while (done < c.length) {
    ssize_t n = ::pread(src_fd, p, c.length - done, static_cast<off_t>(c.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;  // the source shrank under us
    for (ssize_t w = 0; w < n;) {
      ssize_t m = ::pwrite(dst_fd, p + w, static_cast<size_t>(n - w),
                           static_cast<off_t>(c.offset + done + static_cast<uint64_t>(w)));
      if (m < 0 && errno == EINTR) continue;
      if (m < 0) return errno;
      w += m;
    }
    done += static_cast<uint64_t>(n);
  }
  return 0;
}

struct SlotState {
  Extent chunk;
  int read_res = 0, write_res = 0, pending = 0;
};

// Both completions of a slot are in: 0 when the chunk is fully written, else errno.
int SettleSlot(int src_fd, int dst_fd, void* buf, const SlotState& s) {
  if (s.read_res < 0 && s.read_res != -ECANCELED) return -s.read_res;
  if (s.write_res < 0 && s.write_res != -ECANCELED) return -s.write_res;
  if (static_cast<uint64_t>(s.write_res) == s.chunk.length) return 0;
  // A short read cancels the linked write; a short write leaves a tail: finish synchronously.
  uint64_t written = s.write_res > 0 ? static_cast<uint64_t>(s.write_res) : 0;
  return FinishChunk(src_fd, dst_fd, buf, s.chunk, written);
}

}  // namespace

SysResult<uint64_t> CopyExtentsIoUring(int src_fd, int dst_fd, const std::vector<Extent>& extents) {
  auto r = FixedBufferRing::ForThisThread();
  if (!r) return SysFail(r.error());
  FixedBufferRing& fr = **r;
  io_uring* ring = fr.ring();
  std::vector<Extent> chunks = Chunks(extents, kSlotBytes);
  SlotState slots[kSlots];
  unsigned free_slots[kSlots];
  unsigned nfree = kSlots;
  for (unsigned i = 0; i < kSlots; ++i) free_slots[i] = kSlots - 1 - i;
  size_t next = 0;
  unsigned inflight = 0;
  int error = 0;
  uint64_t copied = 0;
  while (inflight > 0 || (error == 0 && next < chunks.size())) {
    // Stop queueing after an error, but drain what is in flight: the buffers are reused.
    while (error == 0 && nfree > 0 && next < chunks.size() && io_uring_sq_space_left(ring) >= 2) {
      unsigned slot = free_slots[--nfree];
      SlotState& s = slots[slot];
      s = SlotState{chunks[next++], 0, 0, 2};
      io_uring_sqe* rd = io_uring_get_sqe(ring);
      io_uring_prep_read_fixed(rd, src_fd, fr.buffer(slot), static_cast<unsigned>(s.chunk.length),
                               s.chunk.offset, static_cast<int>(slot));
      rd->flags |= IOSQE_IO_LINK;
      io_uring_sqe_set_data64(rd, slot * 2);
      io_uring_sqe* wr = io_uring_get_sqe(ring);
      io_uring_prep_write_fixed(wr, dst_fd, fr.buffer(slot), static_cast<unsigned>(s.chunk.length),
                                s.chunk.offset, static_cast<int>(slot));
      io_uring_sqe_set_data64(wr, slot * 2 + 1);
      ++inflight;
    }
    int rc = io_uring_submit_and_wait(ring, 1);
    if (rc < 0 && rc != -EINTR) {
      if (inflight == 0 || rc != -EAGAIN) return SysFail(-rc);  // ring unusable: give up
      continue;
    }
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
      ++seen;
      uint64_t data = io_uring_cqe_get_data64(cqe);
      unsigned slot = static_cast<unsigned>(data / 2);
      SlotState& s = slots[slot];
      (data % 2 == 0 ? s.read_res : s.write_res) = cqe->res;
      if (--s.pending > 0) continue;
      int e = SettleSlot(src_fd, dst_fd, fr.buffer(slot), s);
      if (e != 0 && error == 0) error = e;
      if (e == 0) copied += s.chunk.length;
      free_slots[nfree++] = slot;
      --inflight;
    }
    io_uring_cq_advance(ring, seen);
  }
  if (error != 0) return SysFail(error);
  return copied;
}

namespace {

// One splice through io_uring; returns bytes moved or -errno.
int SpliceOnce(io_uring* ring, int in, int64_t in_off, int out, int64_t out_off, unsigned len) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  io_uring_prep_splice(sqe, in, in_off, out, out_off, len, 0);
  int rc = io_uring_submit_and_wait(ring, 1);
  if (rc < 0) return rc;
  io_uring_cqe* cqe;
  rc = io_uring_wait_cqe(ring, &cqe);
  if (rc < 0) return rc;
  int res = cqe->res;
  io_uring_cqe_seen(ring, cqe);
  return res;
}

// Moves `pending` bytes already in the pipe to dst at offset.
int DrainPipe(io_uring* ring, int pipe_rd, int dst_fd, uint64_t offset, uint64_t pending) {
  while (pending > 0) {
    int n = SpliceOnce(ring, pipe_rd, -1, dst_fd, static_cast<int64_t>(offset),
                       static_cast<unsigned>(pending));
    if (n < 0) return -n;
    if (n == 0) return EIO;
    offset += static_cast<uint64_t>(n);
    pending -= static_cast<uint64_t>(n);
  }
  return 0;
}

// A ring and a pipe, made once per thread (setup stays out of copies and benchmark timings).
// After a failed copy the pipe may hold stray data, so the context is dropped and remade.
class SpliceContext {
 public:
  static SysResult<SpliceContext*> ForThisThread() {
    auto& ctx = Slot();
    if (!ctx) {
      auto c = std::unique_ptr<SpliceContext>(new SpliceContext);
      if (int e = c->Init(); e != 0) return SysFail(e);
      ctx = std::move(c);
    }
    return ctx.get();
  }
  static void Discard() { Slot().reset(); }
  ~SpliceContext() {
    if (ring_ready_) io_uring_queue_exit(&ring_);
  }
  io_uring* ring() { return &ring_; }
  int pipe_rd() const { return pipe_rd_.get(); }
  int pipe_wr() const { return pipe_wr_.get(); }
  uint64_t pipe_size() const { return pipe_size_; }

 private:
  static std::unique_ptr<SpliceContext>& Slot() {
    thread_local std::unique_ptr<SpliceContext> ctx;
    return ctx;
  }
  SpliceContext() = default;
  int Init() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return errno;
    pipe_rd_.reset(p[0]);
    pipe_wr_.reset(p[1]);
    // A bigger pipe means fewer round trips; the default 64 KiB works too.
    ::fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    int size = ::fcntl(p[1], F_GETPIPE_SZ);
    pipe_size_ = size > 0 ? static_cast<uint64_t>(size) : 65536;
    int rc = io_uring_queue_init(4, &ring_, 0);
    if (rc < 0) return -rc;
    ring_ready_ = true;
    return 0;
  }
  io_uring ring_{};
  bool ring_ready_ = false;
  UniqueFd pipe_rd_, pipe_wr_;
  uint64_t pipe_size_ = 65536;
};

// Copies one chunk through the pipe: a linked file->pipe, pipe->file pair; short transfers
// (which cancel the link) are completed one splice at a time.
int SpliceChunk(io_uring* ring, int src_fd, int pipe_rd, int pipe_wr, int dst_fd, Extent c) {
  while (c.length > 0) {
    unsigned len = static_cast<unsigned>(c.length);
    io_uring_sqe* in = io_uring_get_sqe(ring);
    io_uring_prep_splice(in, src_fd, static_cast<int64_t>(c.offset), pipe_wr, -1, len, 0);
    in->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data64(in, 0);
    io_uring_sqe* out = io_uring_get_sqe(ring);
    io_uring_prep_splice(out, pipe_rd, -1, dst_fd, static_cast<int64_t>(c.offset), len, 0);
    io_uring_sqe_set_data64(out, 1);
    int rc = io_uring_submit_and_wait(ring, 2);
    if (rc < 0) return -rc;
    int res[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
      io_uring_cqe* cqe;
      if ((rc = io_uring_wait_cqe(ring, &cqe)) < 0) return -rc;
      res[io_uring_cqe_get_data64(cqe)] = cqe->res;
      io_uring_cqe_seen(ring, cqe);
    }
    if (res[0] < 0) return -res[0];
    if (res[0] == 0) return EIO;  // the source shrank under us
    if (res[1] < 0 && res[1] != -ECANCELED) return -res[1];
    uint64_t moved = static_cast<uint64_t>(res[0]);
    uint64_t out_done = res[1] > 0 ? static_cast<uint64_t>(res[1]) : 0;
    if (int e = DrainPipe(ring, pipe_rd, dst_fd, c.offset + out_done, moved - out_done); e != 0)
      return e;
    c.offset += moved;
    c.length -= moved;
  }
  return 0;
}

}  // namespace

SysResult<uint64_t> CopyExtentsIoUringSplice(int src_fd, int dst_fd,
                                             const std::vector<Extent>& extents) {
  auto ctx = SpliceContext::ForThisThread();
  if (!ctx) return SysFail(ctx.error());
  SpliceContext& c = **ctx;
  uint64_t copied = 0;
  for (const auto& chunk : Chunks(extents, c.pipe_size())) {
    int e = SpliceChunk(c.ring(), src_fd, c.pipe_rd(), c.pipe_wr(), dst_fd, chunk);
    if (e != 0) {
      SpliceContext::Discard();
      return SysFail(e);
    }
    copied += chunk.length;
  }
  return copied;
}

}  // namespace ovlab::io
