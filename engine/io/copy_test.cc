#include "io/copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/strings.h"
#include "io/extents.h"
#include "scratch/scratch.h"

namespace ovlab::io {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::unique_ptr<scratch::ScratchFs> MakeScratch(scratch::Backing b, uint64_t size) {
  scratch::ScratchOptions o;
  o.backing = b;
  o.size_bytes = size;
  auto fs = scratch::ScratchFs::Create(o);
  EXPECT_TRUE(fs) << fs.error().message;
  return fs ? std::move(*fs) : nullptr;
}

void WriteAt(int fd, const std::string& data, uint64_t offset) {
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)),
            static_cast<ssize_t>(data.size()));
}

std::string ReadAt(int fd, size_t n, uint64_t offset) {
  std::string s(n, '\0');
  ssize_t got = ::pread(fd, s.data(), n, static_cast<off_t>(offset));
  s.resize(got < 0 ? 0 : static_cast<size_t>(got));
  return s;
}

const CopyStrategy kAll[] = {CopyStrategy::kAuto,          CopyStrategy::kClone,
                             CopyStrategy::kCopyFileRange, CopyStrategy::kIoUring,
                             CopyStrategy::kIoUringSplice, CopyStrategy::kReadWrite};

std::string ParamName(CopyStrategy s) {
  std::string n = CopyStrategyName(s);
  return n;
}

// All strategies run on an xfs reflink=1 scratch fs, where cloning works too.
class CopyStrategyTest : public testing::TestWithParam<std::tuple<CopyStrategy, size_t>> {
 protected:
  static void SetUpTestSuite() {
    fs_ = MakeScratch(scratch::Backing::kXfsReflink, 300 * kMiB).release();
  }
  static void TearDownTestSuite() {
    delete fs_;
    fs_ = nullptr;
  }
  static scratch::ScratchFs* fs_;
};
scratch::ScratchFs* CopyStrategyTest::fs_ = nullptr;

TEST_P(CopyStrategyTest, CopiesExactBytes) {
  ASSERT_NE(fs_, nullptr);
  auto [strategy, size] = GetParam();
  std::string data = RandomBytes(size, size * 31 + static_cast<size_t>(strategy));
  std::string name = StrPrintf("%s-%zu", CopyStrategyName(strategy), size);
  std::string src = JoinPath(fs_->path(), name + ".src"),
              dst = JoinPath(fs_->path(), name + ".dst");
  ASSERT_TRUE(WriteFileAtomic(src, data));
  auto in = OpenPath(src, O_RDONLY);
  auto out = OpenPath(dst, O_RDWR | O_CREAT | O_EXCL, 0644);
  ASSERT_TRUE(in && out);
  auto r = CopyFileData(in->get(), out->get(), strategy);
  ASSERT_TRUE(r) << CopyStrategyName(strategy) << ": " << ErrnoText(r.error());
  EXPECT_EQ(r->size, size);
  CopyStrategy expect_used = strategy == CopyStrategy::kAuto ? CopyStrategy::kClone : strategy;
  EXPECT_EQ(r->used, expect_used);
  EXPECT_EQ(r->bytes_copied, expect_used == CopyStrategy::kClone ? 0 : size);
  out->reset();
  auto copied = ReadFileText(dst);
  ASSERT_TRUE(copied);
  EXPECT_TRUE(*copied == data) << "content differs, size " << copied->size() << " vs " << size;
  ::unlink(src.c_str());
  ::unlink(dst.c_str());
}

INSTANTIATE_TEST_SUITE_P(All, CopyStrategyTest,
                         testing::Combine(testing::ValuesIn(kAll),
                                          testing::Values<size_t>(0, 1, 4095, 4096, kMiB + 7,
                                                                  3 * kMiB + 12345)),
                         [](const auto& info) {
                           return ParamName(std::get<0>(info.param)) + "_" +
                                  std::to_string(std::get<1>(info.param));
                         });

// A 1 GiB file with two 64 KiB data extents stays sparse through every strategy.
class SparseTest : public CopyStrategyTest {};

TEST_P(SparseTest, KeepsHoles) {
  ASSERT_NE(fs_, nullptr);
  CopyStrategy strategy = std::get<0>(GetParam());
  const uint64_t size = 1ull << 30, second = 512 * kMiB;
  std::string a = RandomBytes(64 * 1024, 1), b = RandomBytes(64 * 1024, 2);
  std::string src = JoinPath(fs_->path(), std::string("sparse-") + CopyStrategyName(strategy));
  std::string dst = src + ".copy";
  {
    auto fd = OpenPath(src, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ASSERT_TRUE(fd);
    ASSERT_EQ(::ftruncate(fd->get(), static_cast<off_t>(size)), 0);  // first: no prealloc games
    WriteAt(fd->get(), a, 0);
    WriteAt(fd->get(), b, second);
    ASSERT_EQ(::fsync(fd->get()), 0);
  }
  auto in = OpenPath(src, O_RDONLY);
  ASSERT_TRUE(in);
  auto extents = DataExtents(in->get(), size);
  ASSERT_TRUE(extents);
  ASSERT_EQ(extents->size(), 2u);
  {
    auto out = OpenPath(dst, O_RDWR | O_CREAT | O_EXCL, 0644);
    ASSERT_TRUE(out);
    auto r = CopyFileData(in->get(), out->get(), strategy);
    ASSERT_TRUE(r) << CopyStrategyName(strategy) << ": " << ErrnoText(r.error());
    if (r->used != CopyStrategy::kClone) {
      EXPECT_EQ(r->bytes_copied, a.size() + b.size());
    }
    ASSERT_EQ(::fsync(out->get()), 0);
  }
  auto out = OpenPath(dst, O_RDONLY);
  ASSERT_TRUE(out);
  struct stat st;
  ASSERT_EQ(::fstat(out->get(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), size);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 8 * kMiB) << "holes were filled";
  EXPECT_TRUE(ReadAt(out->get(), a.size(), 0) == a);
  EXPECT_TRUE(ReadAt(out->get(), b.size(), second) == b);
  EXPECT_EQ(ReadAt(out->get(), 4096, 100 * kMiB), std::string(4096, '\0'));
  EXPECT_EQ(ReadAt(out->get(), 10, size - 10), std::string(10, '\0'));
  ::unlink(src.c_str());
  ::unlink(dst.c_str());
}

INSTANTIATE_TEST_SUITE_P(All, SparseTest,
                         testing::Combine(testing::ValuesIn(kAll), testing::Values<size_t>(0)),
                         [](const auto& info) { return ParamName(std::get<0>(info.param)); });

// kAuto clones where the filesystem can and falls back to copy_file_range where it cannot.
class CopyAutoTest : public testing::TestWithParam<scratch::Backing> {};

TEST_P(CopyAutoTest, PicksTheFastestWorkingStrategy) {
  scratch::Backing backing = GetParam();
  bool reflinks = backing == scratch::Backing::kXfsReflink || backing == scratch::Backing::kBtrfs;
  bool xfs = backing == scratch::Backing::kXfsReflink || backing == scratch::Backing::kXfs;
  auto fs = MakeScratch(backing, xfs ? 300 * kMiB : 128 * kMiB);
  ASSERT_TRUE(fs);
  std::string data = RandomBytes(kMiB + 3, 9);
  std::string src = JoinPath(fs->path(), "src"), dst = JoinPath(fs->path(), "dst");
  ASSERT_TRUE(WriteFileAtomic(src, data));
  auto in = OpenPath(src, O_RDONLY);
  auto out = OpenPath(dst, O_RDWR | O_CREAT, 0644);
  ASSERT_TRUE(in && out);
  if (!reflinks) {
    auto clone = CopyFileData(in->get(), out->get(), CopyStrategy::kClone);
    ASSERT_FALSE(clone);
    EXPECT_TRUE(clone.error() == EOPNOTSUPP || clone.error() == ENOTTY || clone.error() == EINVAL)
        << ErrnoText(clone.error());
  }
  auto r = CopyFileData(in->get(), out->get(), CopyStrategy::kAuto);
  ASSERT_TRUE(r) << ErrnoText(r.error());
  EXPECT_EQ(r->used, reflinks ? CopyStrategy::kClone : CopyStrategy::kCopyFileRange);
  EXPECT_EQ(r->bytes_copied, reflinks ? 0 : data.size());
  auto copied = ReadFileText(dst);
  ASSERT_TRUE(copied);
  EXPECT_TRUE(*copied == data);
}

INSTANTIATE_TEST_SUITE_P(Backings, CopyAutoTest, testing::ValuesIn(scratch::AllBackings()),
                         [](const auto& info) {
                           std::string n = scratch::BackingName(info.param);
                           return n == "xfs-reflink" ? std::string("xfs_reflink") : n;
                         });

class EnospcTest : public testing::TestWithParam<CopyStrategy> {};

TEST_P(EnospcTest, FullDiskIsReturned) {
  CopyStrategy strategy = GetParam();
  // Source and copy on one small ext4 (copy_file_range does not cross filesystems here): the
  // copy cannot fit.
  auto tiny = MakeScratch(scratch::Backing::kExt4, 32 * kMiB);
  ASSERT_TRUE(tiny);
  std::string src = JoinPath(tiny->path(), "src");
  ASSERT_TRUE(WriteFileAtomic(src, RandomBytes(20 * kMiB, 5)));
  auto in = OpenPath(src, O_RDONLY);
  auto out = OpenPath(JoinPath(tiny->path(), "dst"), O_RDWR | O_CREAT, 0644);
  ASSERT_TRUE(in && out);
  auto r = CopyFileData(in->get(), out->get(), strategy);
  ASSERT_FALSE(r) << CopyStrategyName(strategy) << " reported success on a full disk";
  EXPECT_EQ(r.error(), ENOSPC) << ErrnoText(r.error());

  // The per-thread io_uring state survives the failure: the next copy is exact.
  std::string data = RandomBytes(kMiB + 1, 6);
  std::string small = JoinPath(tiny->path(), "small"), copy = JoinPath(tiny->path(), "copy");
  in->reset();
  out->reset();  // open files keep their blocks
  ASSERT_EQ(::unlink(JoinPath(tiny->path(), "dst").c_str()), 0);
  ASSERT_EQ(::unlink(src.c_str()), 0);
  // ext4 reuses freed blocks only after the journal commits them: commit now, so the next write
  // does not depend on how soon the journal thread runs.
  auto root = OpenPath(tiny->path(), O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(root);
  ASSERT_EQ(::syncfs(root->get()), 0);
  ASSERT_TRUE(WriteFileAtomic(small, data));
  auto in2 = OpenPath(small, O_RDONLY);
  auto out2 = OpenPath(copy, O_RDWR | O_CREAT, 0644);
  ASSERT_TRUE(in2 && out2);
  auto again = CopyFileData(in2->get(), out2->get(), strategy);
  ASSERT_TRUE(again) << ErrnoText(again.error());
  EXPECT_TRUE(*ReadFileText(copy) == data);
}

INSTANTIATE_TEST_SUITE_P(DataStrategies, EnospcTest,
                         testing::Values(CopyStrategy::kAuto, CopyStrategy::kCopyFileRange,
                                         CopyStrategy::kIoUring, CopyStrategy::kIoUringSplice,
                                         CopyStrategy::kReadWrite),
                         [](const auto& info) { return ParamName(info.param); });

TEST(CopyStrategyNames, RoundTrip) {
  for (CopyStrategy s : kAll) EXPECT_EQ(ParseCopyStrategy(CopyStrategyName(s)), s);
  EXPECT_FALSE(ParseCopyStrategy("rsync"));
}

TEST(CopyFileDataTest, NonRegularSourceIsEinval) {
  auto dir = OpenPath("/", O_RDONLY | O_DIRECTORY);
  auto out = OpenPath("/dev/null", O_WRONLY);
  ASSERT_TRUE(dir && out);
  auto r = CopyFileData(dir->get(), out->get(), CopyStrategy::kReadWrite);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), EINVAL);
}

}  // namespace
}  // namespace ovlab::io
