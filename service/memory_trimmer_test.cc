#include "service/memory_trimmer.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace pynq::service {
namespace {

TEST(MemoryTrimmerTest, LeavesSmallFreeMemoryAlone) {
  auto trimmer = MemoryTrimmer::Start(
      {.interval = absl::Hours(1), .threshold_bytes = size_t{1} << 40});
  EXPECT_FALSE(trimmer->CheckOnce());
  EXPECT_EQ(trimmer->trims(), 0);
}

// The rest needs glibc's allocator: the sanitizers bring their own, whose freed memory
// mallinfo2() does not count and malloc_trim() does not return.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
int64_t RssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

// 64 MB in 16 kB blocks (below the mmap threshold, so on the heap), touched, then freed except
// the last block, which pins the heap's top so the freed memory is not at its end: free() alone
// cannot give it back, only malloc_trim's release of pages inside the heap can.
std::vector<void*> FillAndFreeHeap() {
  std::vector<void*> blocks;
  for (int i = 0; i < 4096; ++i) {
    void* p = std::malloc(16 << 10);
    std::memset(p, 1, 16 << 10);
    blocks.push_back(p);
  }
  void* last = blocks.back();
  blocks.pop_back();
  for (void* p : blocks) std::free(p);
  return {last};
}

TEST(MemoryTrimmerTest, GivesFreedHeapMemoryBack) {
  mallopt(M_TRIM_THRESHOLD, 128 << 20);  // free() itself must not trim in this test
  auto trimmer = MemoryTrimmer::Start({.interval = absl::Hours(1), .threshold_bytes = 8 << 20});
  std::vector<void*> pinned = FillAndFreeHeap();
  const int64_t before = RssKb();
  EXPECT_GT(MemoryTrimmer::FreeHeldBytes(), size_t{60} << 20);
  ASSERT_TRUE(trimmer->CheckOnce());
  const int64_t after = RssKb();
  EXPECT_LT(after, before - 48 * 1024) << "before " << before << " kB, after " << after << " kB";
  // Nothing changed since: the next check does not trim again.
  EXPECT_FALSE(trimmer->CheckOnce());
  EXPECT_EQ(trimmer->trims(), 1);
  for (void* p : pinned) std::free(p);
}

TEST(MemoryTrimmerTest, TrimsOnItsOwnThread) {
  auto trimmer = MemoryTrimmer::Start({.interval = absl::Milliseconds(10), .threshold_bytes = 0});
  std::vector<void*> pinned = FillAndFreeHeap();
  for (int i = 0; i < 500 && trimmer->trims() == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_GE(trimmer->trims(), 1);
  for (void* p : pinned) std::free(p);
}
#endif

}  // namespace
}  // namespace pynq::service
