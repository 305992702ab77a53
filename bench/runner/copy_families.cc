// copy_up, bound and write_heavy: the families that move file data.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/fs.h"
#include "base/process.h"
#include "base/strings.h"
#include "generators/image_builder.h"
#include "generators/random.h"
#include "io/copy.h"
#include "runner/families.h"
#include "runner/targets.h"
#include "runner/timing.h"

namespace ovlab::bench {
namespace {

using scratch::Backing;
constexpr uint64_t kSparseData = 4096;

std::string SubjectPath(uint64_t n) {
  return StrPrintf("/subject/f%llu", static_cast<unsigned long long>(n));
}

std::string Errno(const char* what, int code) {
  return std::string(what) + ": " + ErrnoText(code);
}

bool Reflinks(Backing b) {
  return b == Backing::kXfsReflink || b == Backing::kBtrfs;
}

// Data bytes the copy-up must move: the file's data (holes skipped), none where the target
// clones on a reflink filesystem (copy_file_range clones there too), none for vfs and btrfs
// (their container layer is a full copy or snapshot already: btrfs copies the one 4 KiB block
// written). An open with O_TRUNC (`emptied`) copies nothing on the kernel and ovlab's engine; the
// FUSE peers copy the data first.
uint64_t ExpectedBytesCopied(const std::string& target, Backing b, uint64_t size, bool sparse,
                             bool emptied = false,
                             io::CopyStrategy strategy = io::CopyStrategy::kAuto) {
  const targets::TargetSpec& t = Spec(target);
  if (!t.copies_up) return 0;
  if (emptied && !t.truncate_copies_data) return 0;
  bool clones =
      strategy == io::CopyStrategy::kClone ||
      ((strategy == io::CopyStrategy::kAuto || strategy == io::CopyStrategy::kCopyFileRange) &&
       Reflinks(b) && t.clones_on_reflink);
  if (clones) return 0;
  return sparse ? std::min(size, kSparseData) : size;
}

enum class CopyVariant { kFirst, kSecond, kChmod, kChown, kTruncate, kCold, kWarm };

const char* VariantSuffix(CopyVariant v) {
  switch (v) {
    case CopyVariant::kFirst:
      return "";
    case CopyVariant::kSecond:
      return "/second";
    case CopyVariant::kChmod:
      return "/chmod";
    case CopyVariant::kChown:
      return "/chown";
    case CopyVariant::kTruncate:
      return "/truncate";
    case CopyVariant::kCold:
      return "/cold";
    case CopyVariant::kWarm:
      return "/warm";
  }
  return "";
}

SysResult<void> CopyUpOp(Ops& view, const std::string& path, CopyVariant v) {
  static const char kByte = 'x';
  switch (v) {
    case CopyVariant::kChmod:
      return view.Chmod(path, 0600);
    case CopyVariant::kChown:
      return view.Lchown(path, 1000, 1000);
    case CopyVariant::kTruncate:
      return WriteAt(view, path, O_WRONLY | O_TRUNC, &kByte, 1, 0);
    default:
      return WriteAt(view, path, O_WRONLY, &kByte, 1, 0);
  }
}

struct CopyCase {
  uint64_t size;
  bool sparse;
  CopyVariant variant;
  io::CopyStrategy strategy = io::CopyStrategy::kAuto;
};

// What precedes the timed copy-up: the first write for `second`; the backing quiesced and every
// cache dropped for `cold`; the name looked up for `warm`; else a sync.
Status PrepareCopyUp(Session& s, Stack& stack, Backing b, const std::string& path, CopyVariant v) {
  if (v == CopyVariant::kSecond) {
    if (auto r = CopyUpOp(stack.ops(), path, CopyVariant::kFirst); !r) {
      return Fail(r.error(), Errno("first write", r.error()));
    }
  }
  if (v == CopyVariant::kCold) return stack.MakeCold({s.Scratch(b).path()});
  ::sync();
  if (v == CopyVariant::kWarm) {
    if (auto st = stack.ops().Stat(path); !st) {
      return Fail(st.error(), Errno("lookup before the warm copy-up", st.error()));
    }
  }
  return {};
}

void CopyUpInstance(Session& s, const std::string& target, Backing b, const CopyCase& c,
                    const ImageProfile& profile, benchmark::State& state) {
  auto stack = s.GetStack(target, b, profile, 128, c.strategy);
  if (!stack) return SkipWithError(state, stack.error().message);
  for (auto _ : state) {
    uint64_t n = (*stack)->NextIndex();
    if (n >= profile.fixed_files.size()) {
      return SkipWithError(state, "out of fresh lower files: more repetitions than planned");
    }
    std::string path = SubjectPath(n);
    if (auto st = PrepareCopyUp(s, **stack, b, path, c.variant); !st) {
      return SkipWithError(state, st.error().message);
    }
    Ops& view = (*stack)->ops();  // a cold start brings up a new view
    auto [result, seconds] = Timed([&] { return CopyUpOp(view, path, c.variant); });
    if (!result) return SkipWithError(state, Errno("copy-up", result.error()));
    state.SetIterationTime(seconds);
    (void)view.Unlink(path);  // frees the upper copy; the next iteration takes a fresh file
  }
  bool copies = c.variant != CopyVariant::kSecond;
  state.counters["bytes_copied"] =
      copies ? ExpectedBytesCopied(target, b, c.size, c.sparse, c.variant == CopyVariant::kTruncate,
                                   c.strategy)
             : 0;
  bool writes = c.variant != CopyVariant::kChmod && c.variant != CopyVariant::kChown;
  state.counters["bytes"] = writes ? 1 : 0;
}

std::vector<std::string> DdOneByte(const std::string& file) {
  return {"dd", "if=/dev/zero", "of=" + file, "bs=1", "count=1", "conv=notrunc", "status=none"};
}

// The independent measurement: `dd conv=notrunc` writes one byte to a fresh lower file of the
// same stack (the same mount), timed from spawning dd to its exit, after sync as above. Before
// each, the same dd on a file of the upper layer (no copy-up) times dd's own start-up, reported
// as `startup_us` (the machine's load slows both alike).
void DdInstance(Session& s, const std::string& target, Backing b, const ImageProfile& profile,
                benchmark::State& state) {
  auto stack = s.GetStack(target, b, profile);
  if (!stack) return SkipWithError(state, stack.error().message);
  Ops& view = (*stack)->ops();
  const std::string probe = "/dd-startup-probe";
  static const char kByte = 'x';
  if (auto r = WriteAt(view, probe, O_WRONLY | O_CREAT, &kByte, 1, 0); !r) {
    return SkipWithError(state, Errno("create the dd start-up probe", r.error()));
  }
  double startup = 0;
  for (auto _ : state) {
    uint64_t n = (*stack)->NextIndex();
    if (n >= profile.fixed_files.size()) {
      return SkipWithError(state, "out of fresh lower files: more repetitions than planned");
    }
    ::sync();
    auto [probed, probe_s] = Timed([&] { return RunChecked(DdOneByte(view.HostPath(probe))); });
    if (!probed) return SkipWithError(state, probed.error().message);
    startup += probe_s;
    std::string path = SubjectPath(n);
    ::sync();
    auto [ran, seconds] = Timed([&] { return RunChecked(DdOneByte(view.HostPath(path))); });
    if (!ran) return SkipWithError(state, ran.error().message);
    state.SetIterationTime(seconds);
    (void)view.Unlink(path);
  }
  (void)view.Unlink(probe);
  state.counters["bytes"] = 1;
  state.counters["startup_us"] = startup * 1e6 / static_cast<double>(state.iterations());
}

bool WantsDd(const RunPlan& p, const std::string& target, Backing b, uint64_t size) {
  bool size_listed = std::find(p.dd_sizes.begin(), p.dd_sizes.end(), size) != p.dd_sizes.end();
  bool target_listed = p.dd_targets.empty() || std::find(p.dd_targets.begin(), p.dd_targets.end(),
                                                         target) != p.dd_targets.end();
  // dd needs a mount; and where nothing is copied the process start would dominate the time.
  return size_listed && target_listed && Spec(target).bringup != targets::Bringup::kEngine &&
         ExpectedBytesCopied(target, b, size, false) == size;
}

bool Has(const std::vector<Backing>& list, Backing b) {
  return std::find(list.begin(), list.end(), b) != list.end();
}

std::vector<CopyCase> CopyCases(const RunPlan& p, const std::string& target, Backing b,
                                bool variants) {
  std::vector<CopyCase> cases;
  for (uint64_t z : p.dense_sizes) cases.push_back({z, false, CopyVariant::kFirst});
  for (uint64_t z : p.sparse_sizes) cases.push_back({z, true, CopyVariant::kFirst});
  if (Has(p.cold_backings, b)) {
    for (uint64_t z : p.cold_sizes) cases.push_back({z, false, CopyVariant::kCold});
  }
  if (Has(p.warm_backings, b)) {
    for (uint64_t z : p.warm_sizes) cases.push_back({z, false, CopyVariant::kWarm});
  }
  if (Spec(target).copy_strategies && Has(p.strategy_backings, b)) {
    for (uint64_t z : p.strategy_sizes) {
      for (auto strategy :
           {io::CopyStrategy::kClone, io::CopyStrategy::kCopyFileRange, io::CopyStrategy::kIoUring,
            io::CopyStrategy::kIoUringSplice, io::CopyStrategy::kReadWrite}) {
        if (strategy == io::CopyStrategy::kClone && !Reflinks(b)) continue;
        cases.push_back({z, false, CopyVariant::kFirst, strategy});
      }
    }
  }
  if (!variants) return cases;
  for (uint64_t z : p.second_sizes) cases.push_back({z, false, CopyVariant::kSecond});
  for (uint64_t z : p.metadata_sizes) {
    cases.push_back({z, false, CopyVariant::kChmod});
    cases.push_back({z, false, CopyVariant::kChown});
  }
  for (uint64_t z : p.truncate_sizes) cases.push_back({z, false, CopyVariant::kTruncate});
  return cases;
}

// The stack a case runs on: one per file shape and copy strategy (a stack's option).
using Shape = std::tuple<uint64_t, bool, io::CopyStrategy>;
Shape ShapeOf(const CopyCase& c) {
  return {c.size, c.sparse, c.strategy};
}

std::string CopyUpName(const std::string& target, Backing b, const CopyCase& c) {
  std::string strategy = c.strategy == io::CopyStrategy::kAuto
                             ? ""
                             : std::string("/strategy:") + io::CopyStrategyName(c.strategy);
  return StrPrintf("copy_up/%s/%s/bytes:%llu%s/%s%s", target.c_str(), scratch::BackingName(b),
                   static_cast<unsigned long long>(c.size), strategy.c_str(),
                   c.sparse ? "sparse" : "dense", VariantSuffix(c.variant));
}

}  // namespace

void RegisterCopyUp(Session& s, const std::string& target, Backing b, bool variants) {
  std::vector<CopyCase> cases = CopyCases(s.plan(), target, b, variants);
  // One stack per shape holds a fresh lower file for every iteration of every case of that shape.
  std::set<Shape> shapes;
  for (const auto& c : cases) shapes.insert(ShapeOf(c));
  for (const Shape& shape : shapes) {
    auto [size, sparse, strategy] = shape;
    uint32_t files = 0;
    for (const auto& c : cases) {
      if (ShapeOf(c) == shape)
        files += static_cast<uint32_t>(CopyUpIterations(size) * s.repetitions());
    }
    bool dd = !sparse && strategy == io::CopyStrategy::kAuto && WantsDd(s.plan(), target, b, size);
    if (dd) files += static_cast<uint32_t>(CopyUpIterations(size) * s.repetitions());
    ImageProfile profile = SubjectProfile(size, sparse, files);
    for (const auto& c : cases) {
      if (ShapeOf(c) != shape) continue;
      s.Add(CopyUpName(target, b, c), CopyUpIterations(size),
            [&s, target, b, c, profile](benchmark::State& st) {
              CopyUpInstance(s, target, b, c, profile, st);
            });
      if (!dd || c.variant != CopyVariant::kFirst) continue;
      // Right after the instance it checks, on the same stack.
      std::string dd_name = StrPrintf("bound/dd/%s/bytes:%llu/dense/on:%s", scratch::BackingName(b),
                                      static_cast<unsigned long long>(size), target.c_str());
      s.Add(dd_name, CopyUpIterations(size), [&s, target, b, profile](benchmark::State& st) {
        DdInstance(s, target, b, profile, st);
      });
    }
  }
}

namespace {

void BoundInstance(Session& s, Backing b, uint64_t size, benchmark::State& state) {
  s.DropStack();
  std::string src = s.NewPath(b, "bound-src");
  UniqueFd in(::open(src.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!in) return SkipWithError(state, Errno("create bound source", errno));
  if (auto st = FillContent(in.get(), size, s.seed(), false); !st) {
    ::unlink(src.c_str());
    return SkipWithError(state, st.error().message);
  }
  ::fsync(in.get());
  for (auto _ : state) {
    std::string dst = s.NewPath(b, "bound-dst");
    UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out) {
      SkipWithError(state, Errno("create bound copy", errno));
      break;
    }
    ::sync();
    auto [copied, seconds] = Timed([&]() -> SysResult<void> {
      auto r = io::CopyFileData(in.get(), out.get(), io::CopyStrategy::kReadWrite);
      if (!r) return SysFail(r.error());
      if (::fsync(out.get()) != 0) return SysFail(errno);
      return {};
    });
    out.reset();
    ::unlink(dst.c_str());
    if (!copied) {
      SkipWithError(state, Errno("plain copy", copied.error()));
      break;
    }
    state.SetIterationTime(seconds);
  }
  ::unlink(src.c_str());
  state.SetBytesProcessed(static_cast<int64_t>(size) * state.iterations());
  state.counters["bytes"] = static_cast<double>(size);
}

}  // namespace

void RegisterBounds(Session& s, Backing b) {
  std::set<uint64_t> sizes;
  for (uint64_t z : s.plan().dense_sizes) {
    if (z >= (1u << 20)) sizes.insert(z);
  }
  for (uint64_t size : sizes) {
    std::string name = StrPrintf("bound/copy/%s/bytes:%llu", scratch::BackingName(b),
                                 static_cast<unsigned long long>(size));
    s.Add(name, CopyUpIterations(size),
          [&s, b, size](benchmark::State& st) { BoundInstance(s, b, size, st); });
  }
}

namespace {

constexpr size_t kBlock = 4096;

void RandomWrites(Session& s, const std::string& target, Backing b, benchmark::State& state) {
  const RunPlan& p = s.plan();
  auto stack = s.GetStack(target, b, SubjectProfile(p.random_file_bytes, false, 1));
  if (!stack) return SkipWithError(state, stack.error().message);
  Ops& view = (*stack)->ops();
  auto h = view.Open(SubjectPath(0), O_WRONLY);  // the file-level copy-up, outside the window
  if (!h) return SkipWithError(state, Errno("open for write", h.error()));
  std::vector<char> block(kBlock, 'w');
  SplitMix64 rng(s.seed());
  uint64_t blocks = p.random_file_bytes / kBlock;
  for (auto _ : state) {
    auto [r, seconds] = Timed([&]() -> SysResult<void> {
      for (uint32_t i = 0; i < p.random_writes; ++i) {
        off_t off = static_cast<off_t>(rng.Below(blocks) * kBlock);
        if (auto n = view.Pwrite(*h, block.data(), kBlock, off); !n) return SysFail(n.error());
      }
      return view.Fsync(*h);
    });
    if (!r) {
      SkipWithError(state, Errno("random write", r.error()));
      break;
    }
    state.SetIterationTime(seconds);
  }
  (void)view.Close(*h);
  state.counters["ops"] = p.random_writes;
  state.counters["bytes"] = static_cast<double>(p.random_writes * kBlock);
  state.SetBytesProcessed(static_cast<int64_t>(p.random_writes * kBlock) * state.iterations());
}

// Sequential I/O in requests of this size (fuse_bench's), through a buffer aligned for O_DIRECT.
constexpr size_t kRequest = 1 << 20;
enum class SeqOp { kWrite, kRead, kReadDirect };

const char* SeqOpName(SeqOp op) {
  switch (op) {
    case SeqOp::kWrite:
      return "seqwrite";
    case SeqOp::kRead:
      return "seqread";
    case SeqOp::kReadDirect:
      return "seqread_direct";
  }
  return "";
}

// Its own stack (one lower file of `bytes`): random4k copies its subject up, this reads a lower.
ImageProfile SeqProfile(uint64_t bytes) {
  ImageProfile p = SubjectProfile(bytes, false, 1);
  p.name = StrPrintf("seq-%llu", static_cast<unsigned long long>(bytes));
  return p;
}

uint64_t Requests(uint64_t bytes) {
  return (bytes + kRequest - 1) / kRequest;
}

// Reads `path` from start to end; returns the bytes read.
SysResult<uint64_t> ReadAll(Ops& view, const std::string& path, int flags, char* buf) {
  auto h = view.Open(path, O_RDONLY | flags);
  if (!h) return SysFail(h.error());
  uint64_t total = 0;
  SysResult<size_t> n;
  while ((n = view.Pread(*h, buf, kRequest, static_cast<off_t>(total))) && *n > 0) total += *n;
  auto closed = view.Close(*h);
  if (!n) return SysFail(n.error());
  if (!closed) return SysFail(closed.error());
  return total;
}

// Creates `path` and writes `bytes` to it (no fsync), then closes it.
SysResult<void> WriteNew(Ops& view, const std::string& path, uint64_t bytes, const char* buf) {
  auto h = view.Open(path, O_WRONLY | O_CREAT | O_EXCL);
  if (!h) return SysFail(h.error());
  SysResult<void> r;
  for (uint64_t done = 0; done < bytes && r; done += kRequest) {
    size_t size = static_cast<size_t>(std::min<uint64_t>(kRequest, bytes - done));
    auto n = view.Pwrite(*h, buf, size, static_cast<off_t>(done));
    if (!n || *n != size) r = SysFail(n ? EIO : n.error());
  }
  auto closed = view.Close(*h);
  return r ? closed : r;
}

// seqwrite: a new file of the upper layer; seqread(_direct): the stack's lower file, read once
// before the timed reads so they see warm caches (O_DIRECT: the daemons' and the engine's; the
// kernel overlay reads its lower file directly).
void SeqInstance(Session& s, const std::string& target, Backing b, SeqOp op,
                 benchmark::State& state) {
  uint64_t bytes = s.plan().seq_bytes;
  auto stack = s.GetStack(target, b, SeqProfile(bytes));
  if (!stack) return SkipWithError(state, stack.error().message);
  Ops& view = (*stack)->ops();
  std::unique_ptr<char, decltype(&std::free)> buf(
      static_cast<char*>(std::aligned_alloc(4096, kRequest)), &std::free);
  std::fill_n(buf.get(), kRequest, 'w');
  int flags = op == SeqOp::kReadDirect ? O_DIRECT : 0;
  auto read_lower = [&]() -> SysResult<void> {
    auto got = ReadAll(view, SubjectPath(0), flags, buf.get());
    if (!got) return SysFail(got.error());
    return *got == bytes ? SysResult<void>{} : SysFail(EIO);
  };
  if (op != SeqOp::kWrite) {
    if (auto r = read_lower(); !r) return SkipWithError(state, Errno("warm-up read", r.error()));
  }
  for (auto _ : state) {
    std::string path = StrPrintf("/seq%llu", static_cast<unsigned long long>(s.NextId()));
    auto [r, seconds] = Timed([&]() -> SysResult<void> {
      return op == SeqOp::kWrite ? WriteNew(view, path, bytes, buf.get()) : read_lower();
    });
    if (op == SeqOp::kWrite) (void)view.Unlink(path);  // its dirty pages go without writeback
    if (!r) return SkipWithError(state, Errno(SeqOpName(op), r.error()));
    state.SetIterationTime(seconds);
  }
  state.counters["ops"] = static_cast<double>(Requests(bytes));
  state.counters["bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
}

ImageProfile WriteTree(const RunPlan& p, int repetitions) {
  uint32_t files = p.append_files * static_cast<uint32_t>(repetitions);
  return TreeProfile(files, std::max<uint32_t>(64, files / 16), 14);
}

// Every file of the tree in plan order: each repetition appends to the next `append_files`.
std::vector<std::string> TreeFiles(const ImagePlan& plan) {
  std::vector<std::string> files;
  for (const auto& e : plan.layers[0].entries) {
    if (e.kind == EntryKind::kFile && StartsWith(BaseName(e.path), "f")) files.push_back(e.path);
  }
  return files;
}

std::string CreatedPath(const std::string& dir, uint32_t i) {
  return StrPrintf("%s/c%u", dir.c_str(), i);
}

// A new directory with `count` files, of 100 bytes each or (`empty`) only created and closed.
SysResult<void> CreateFiles(Ops& view, const std::string& dir, uint32_t count, bool empty) {
  static const char kData[100] = {};
  if (auto r = view.Mkdir(dir, 0755); !r) return r;
  for (uint32_t i = 0; i < count; ++i) {
    int flags = O_WRONLY | O_CREAT | O_EXCL;
    if (empty) {
      auto h = view.Open(CreatedPath(dir, i), flags);
      if (!h) return SysFail(h.error());
      if (auto r = view.Close(*h); !r) return r;
    } else if (auto r = WriteAt(view, CreatedPath(dir, i), flags, kData, sizeof kData, 0); !r) {
      return r;
    }
  }
  return {};
}

// fuse_bench's create+unlink: `count` empty files made in a new directory, then unlinked.
SysResult<void> CreateUnlinkFiles(Ops& view, const std::string& dir, uint32_t count) {
  if (auto r = CreateFiles(view, dir, count, true); !r) return r;
  for (uint32_t i = 0; i < count; ++i) {
    if (auto r = view.Unlink(CreatedPath(dir, i)); !r) return r;
  }
  return {};
}

SysResult<void> AppendToEach(Ops& view, const std::vector<std::string>& files, size_t from,
                             size_t count) {
  static const char kLine[] = "appended by ovlab-bench\n";
  for (size_t i = from; i < from + count; ++i) {
    if (auto r = WriteAt(view, files[i], O_WRONLY | O_APPEND, kLine, sizeof kLine - 1, 0); !r) {
      return r;
    }
  }
  return {};
}

SysResult<void> FsyncWrites(Ops& view, const std::string& path, uint32_t writes) {
  std::vector<char> block(kBlock, 's');
  auto h = view.Open(path, O_WRONLY | O_CREAT | O_EXCL);
  if (!h) return SysFail(h.error());
  SysResult<void> r;
  for (uint32_t i = 0; i < writes && r; ++i) {
    auto n = view.Pwrite(*h, block.data(), kBlock, static_cast<off_t>(i * kBlock));
    r = n ? view.Fsync(*h) : SysFail(n.error());
  }
  auto closed = view.Close(*h);
  return r ? closed : r;
}

enum class TreeOp { kCreate, kCreateUnlink, kAppend, kFsync };

void TreeInstance(Session& s, const std::string& target, Backing b, TreeOp op,
                  benchmark::State& state) {
  const RunPlan& p = s.plan();
  ImageProfile profile = WriteTree(p, s.repetitions());
  auto stack = s.GetStack(target, b, profile);
  if (!stack) return SkipWithError(state, stack.error().message);
  Ops& view = (*stack)->ops();
  std::vector<std::string> files = TreeFiles((*stack)->plan());
  for (auto _ : state) {
    // Appends take the next batch of lower files; the others only need unique names.
    uint64_t n = op == TreeOp::kAppend ? (*stack)->NextIndex() : s.NextId();
    ::sync();
    auto [r, seconds] = Timed([&]() -> SysResult<void> {
      switch (op) {
        case TreeOp::kCreate:
          return CreateFiles(view, StrPrintf("/new%llu", static_cast<unsigned long long>(n)),
                             p.create_files, false);
        case TreeOp::kCreateUnlink:
          return CreateUnlinkFiles(view, StrPrintf("/cu%llu", static_cast<unsigned long long>(n)),
                                   p.create_unlink_files);
        case TreeOp::kAppend:
          if ((n + 1) * p.append_files > files.size()) return SysFail(ENOSPC);
          return AppendToEach(view, files, n * p.append_files, p.append_files);
        case TreeOp::kFsync:
          return FsyncWrites(view, StrPrintf("/fsync%llu", static_cast<unsigned long long>(n)),
                             p.fsync_writes);
      }
      return {};
    });
    if (!r) {
      SkipWithError(state, Errno("write_heavy", r.error()));
      break;
    }
    state.SetIterationTime(seconds);
  }
  uint32_t ops = op == TreeOp::kCreate         ? p.create_files
                 : op == TreeOp::kCreateUnlink ? 2 * p.create_unlink_files  // creates + unlinks
                 : op == TreeOp::kAppend       ? p.append_files
                                               : p.fsync_writes;
  state.counters["ops"] = ops;
}

}  // namespace

void RegisterWriteHeavy(Session& s, const std::string& target, Backing b) {
  const RunPlan& p = s.plan();
  std::string base = StrPrintf("write_heavy/%s/%s", target.c_str(), scratch::BackingName(b));
  s.Add(StrPrintf("%s/op:random4k/bytes:%llu", base.c_str(),
                  static_cast<unsigned long long>(p.random_file_bytes)),
        3, [&s, target, b](benchmark::State& st) { RandomWrites(s, target, b, st); });
  if (p.seq_bytes) {
    for (SeqOp op : {SeqOp::kWrite, SeqOp::kRead, SeqOp::kReadDirect}) {
      if (op == SeqOp::kReadDirect && !Spec(target).direct_reads) continue;
      s.Add(StrPrintf("%s/op:%s/bytes:%llu", base.c_str(), SeqOpName(op),
                      static_cast<unsigned long long>(p.seq_bytes)),
            1, [&s, target, b, op](benchmark::State& st) { SeqInstance(s, target, b, op, st); });
    }
  }
  s.Add(StrPrintf("%s/op:create/files:%u", base.c_str(), p.create_files), 1,
        [&s, target, b](benchmark::State& st) { TreeInstance(s, target, b, TreeOp::kCreate, st); });
  if (p.create_unlink_files) {
    s.Add(StrPrintf("%s/op:create_unlink/files:%u", base.c_str(), p.create_unlink_files), 1,
          [&s, target, b](benchmark::State& st) {
            TreeInstance(s, target, b, TreeOp::kCreateUnlink, st);
          });
  }
  s.Add(StrPrintf("%s/op:append/files:%u/depth:14", base.c_str(), p.append_files), 1,
        [&s, target, b](benchmark::State& st) { TreeInstance(s, target, b, TreeOp::kAppend, st); });
  s.Add(StrPrintf("%s/op:fsync/writes:%u", base.c_str(), p.fsync_writes), 1,
        [&s, target, b](benchmark::State& st) { TreeInstance(s, target, b, TreeOp::kFsync, st); });
}

}  // namespace ovlab::bench
