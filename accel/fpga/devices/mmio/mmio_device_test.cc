// MmioDevice against the virtual board exposed as files: a memory-backed file in /dev/shm for
// the registers, another for the u-dma-buf region (the CPU's view), sysfs-like attribute files,
// and FIFOs for sync_for_device / sync_for_cpu / sync_owner, behind which a thread plays the
// board: it keeps DDR of its own, copies between it and the region only when a sync asks, and
// runs the engine's HLS C++ (sim_engine.h) when it sees ap_start. MmioDevice's real open / mmap /
// volatile access / sysfs code runs unchanged.
//
// A memory file cannot clear a bit when it is read, so this board leaves ap_done set until the
// next start; clear-on-read is the SimDevice tests' business.
#include "accel/fpga/devices/mmio/mmio_device.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "accel/cpu/cpu_backend.h"
#include "accel/fpga/devices/sim/sim_engine.h"
#include "accel/fpga/fpga_backend.h"
#include "accel/model/model_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_data.h"

namespace pynq::accel {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kPhysAddr = 0x1F000000;
constexpr size_t kDmaBytes = size_t{4} << 20;
constexpr size_t kRegisterBytes = 0x10000;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

uint64_t ReadNumber(const std::string& path) {
  std::ifstream in(path);
  uint64_t value = 0;
  in >> value;
  return value;
}

void* MapFile(const std::string& path, size_t bytes) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT, 0600);
  EXPECT_GE(fd, 0) << path;
  EXPECT_EQ(ftruncate(fd, static_cast<off_t>(bytes)), 0);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  EXPECT_NE(p, MAP_FAILED);
  return p;
}

class FileBoard {
 public:
  FileBoard() : ddr_words_(kDmaBytes / 8, 0xA5A5A5A5A5A5A5A5ull) {
    sysfs_ = dir_ + "/sysfs";
    std::filesystem::create_directory(sysfs_);
    registers_ = static_cast<volatile uint32_t*>(MapFile(dir_ + "/uio0", kRegisterBytes));
    region_ = static_cast<uint8_t*>(MapFile(dir_ + "/udmabuf0", kDmaBytes));
    WriteFile(sysfs_ + "/phys_addr", "0x1f000000\n");
    WriteFile(sysfs_ + "/size", std::to_string(kDmaBytes) + "\n");
    for (const char* attr : {"sync_offset", "sync_size", "sync_direction"}) {
      WriteFile(sysfs_ + "/" + attr, "0\n");
    }
    for (const char* fifo : {"sync_for_device", "sync_for_cpu", "sync_owner"}) {
      EXPECT_EQ(mkfifo((sysfs_ + "/" + fifo).c_str(), 0600), 0);
    }
    // Opened read-write, so neither side's open() waits for the other.
    for_device_ = open((sysfs_ + "/sync_for_device").c_str(), O_RDWR | O_NONBLOCK);
    for_cpu_ = open((sysfs_ + "/sync_for_cpu").c_str(), O_RDWR | O_NONBLOCK);
    owner_ = open((sysfs_ + "/sync_owner").c_str(), O_RDWR);
    registers_[0] = engine::kCtrlIdle;
    thread_ = std::thread([this] { Loop(); });
  }

  ~FileBoard() {
    stop_ = true;
    thread_.join();
    for (int fd : {for_device_, for_cpu_, owner_}) close(fd);
    munmap(const_cast<uint32_t*>(registers_), kRegisterBytes);
    munmap(region_, kDmaBytes);
  }

  MmioDevice::Options DeviceOptions() const {
    return {.registers_path = dir_ + "/uio0",
            .registers_bytes = kRegisterBytes,
            .dma_device_path = dir_ + "/udmabuf0",
            .dma_sysfs_dir = sysfs_};
  }

  int syncs() const { return syncs_; }
  int calls() const { return calls_; }

 private:
  void Loop() {
    while (!stop_) {
      pollfd fds[] = {{.fd = for_device_, .events = POLLIN}, {.fd = for_cpu_, .events = POLLIN}};
      poll(fds, 2, 1);
      for (int i = 0; i < 2; ++i) {
        char request[16];
        if ((fds[i].revents & POLLIN) != 0 && read(fds[i].fd, request, sizeof(request)) > 0) {
          Sync(/*to_device=*/i == 0);
        }
      }
      if ((registers_[0] & engine::kCtrlStart) != 0) Run();
    }
  }

  void Sync(bool to_device) {
    const uint64_t offset = ReadNumber(sysfs_ + "/sync_offset");
    const uint64_t size = ReadNumber(sysfs_ + "/sync_size");
    const uint64_t direction = ReadNumber(sysfs_ + "/sync_direction");
    uint8_t* ddr = reinterpret_cast<uint8_t*>(ddr_words_.data());
    // u-dma-buf: sync_for_device flushes for DMA_TO_DEVICE (1) or BIDIRECTIONAL (0),
    // sync_for_cpu invalidates for DMA_FROM_DEVICE (2) or BIDIRECTIONAL.
    if (offset + size <= kDmaBytes) {
      if (to_device && direction != 2) std::memcpy(ddr + offset, region_ + offset, size);
      if (!to_device && direction != 1) std::memcpy(region_ + offset, ddr + offset, size);
    }
    ++syncs_;
    const char* owner = to_device ? "1\n" : "0\n";
    EXPECT_EQ(write(owner_, owner, 2), 2);
  }

  void Run() {
    registers_[0] = engine::kCtrlStart;  // busy: not idle, done cleared by the new start
    ++calls_;
    const SimDdr ddr{.data = reinterpret_cast<uint8_t*>(ddr_words_.data()),
                     .base = kPhysAddr,
                     .bytes = kDmaBytes};
    const SimCallResult result = RunSimCall(ReadCallRegisters(registers_), ddr, *store_);
    if (result.bus_error) return;  // hangs: done never rises
    WriteResultRegisters(result.outputs, registers_);
    registers_[0] = engine::kCtrlDone | engine::kCtrlIdle | engine::kCtrlReady;
  }

  // Memory-backed, as the registers and the u-dma-buf region are on a board.
  testing::TestTempDir temp_{
      testing::TestTempDir::Options{.parent = "/dev/shm", .prefix = "pynq-board-"}};
  const std::string dir_ = temp_.path();
  std::string sysfs_;
  volatile uint32_t* registers_ = nullptr;
  uint8_t* region_ = nullptr;
  std::vector<uint64_t> ddr_words_;  // the board's DDR, behind the CPU's cached view
  std::unique_ptr<SimEngineStore> store_ = std::make_unique<SimEngineStore>();
  int for_device_ = -1;
  int for_cpu_ = -1;
  int owner_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> syncs_{0};
  std::atomic<int> calls_{0};
  std::thread thread_;
};

TEST(MmioDeviceTest, ServesTheShippedModelBitIdenticallyThroughFiles) {
  FileBoard board;
  auto device = MmioDevice::Create(board.DeviceOptions());
  ASSERT_TRUE(device.ok()) << device.status();
  auto engine = FpgaEngine::Create(std::move(*device), {.call_timeout = absl::Seconds(10)});
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_EQ((*engine)->device_name(), "mmio");
  auto model = Model::LoadFile(testing::ShippedModelPath("mnist-bnn-tfc"));
  ASSERT_TRUE(model.ok()) << model.status();
  auto fpga = FpgaAccelerator::Create(*model, *engine, {.max_batch_size = 50, .cpu_fallback = false});
  ASSERT_TRUE(fpga.ok()) << fpga.status();
  auto heldout = testing::ReadHeldOutSet("mnist-bnn-tfc");
  ASSERT_TRUE(heldout.ok()) << heldout.status();
  // 400 images in batches of 50 and 17, through both buffer sets.
  std::vector<int32_t> scores(400 * 10);
  int batches = 0;
  for (size_t first = 0; first < 400; ++batches) {
    const size_t n = std::min<size_t>(batches % 2 == 0 ? 50 : 17, 400 - first);
    absl::Status s = (*fpga)->Run(
        absl::MakeConstSpan(heldout->images.pixels).subspan(first * 784, n * 784),
                                  absl::MakeSpan(scores).subspan(first * 10, n * 10));
    ASSERT_TRUE(s.ok()) << s;
    first += n;
  }
  const std::vector<int32_t>& golden = heldout->golden.values;
  EXPECT_EQ(scores, std::vector<int32_t>(golden.begin(), golden.begin() + 4000));
  EXPECT_EQ(batches, 12);
  EXPECT_EQ(board.calls(), 3 + batches);        // IDENTIFY, CHECK, LOAD, the batches
  EXPECT_TRUE((*fpga)->resident());
  EXPECT_EQ(board.syncs(), 2 + 2 * batches);    // program, weights; input and output per batch
}

TEST(MmioDeviceTest, SyncsMoveDataOnlyInTheirDirectionAndRange) {
  FileBoard board;
  auto device = MmioDevice::Create(board.DeviceOptions());
  ASSERT_TRUE(device.ok()) << device.status();
  auto buffer = (*device)->Allocate(256);
  ASSERT_TRUE(buffer.ok());
  DmaBuffer& b = **buffer;
  EXPECT_EQ(b.device_address(), kPhysAddr);
  std::memset(b.host(), 0x3C, 256);
  ASSERT_TRUE(b.SyncToDevice(0, 128).ok());
  std::memset(b.host(), 0, 256);
  ASSERT_TRUE(b.SyncFromDevice(0, 256).ok());
  EXPECT_EQ(b.host()[127], 0x3C);
  EXPECT_EQ(b.host()[128], 0xA5);  // never synced to the board's DDR
  EXPECT_EQ(b.SyncToDevice(200, 100).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(board.syncs(), 2);
}

TEST(MmioDeviceTest, RegistersAreBoundsCheckedAndResetNeedsAnIdleEngine) {
  FileBoard board;
  auto device = MmioDevice::Create(board.DeviceOptions());
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ((*device)->Read32(engine::kRegisterBlockBytes).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*device)->Write32(2, 0).code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE((*device)->Reset().ok());
  // A bus error leaves the file board's engine busy for good, like a hung block.
  ASSERT_TRUE((*device)->Write32(engine::kRegCommand, engine::kCommandCheck).ok());
  ASSERT_TRUE((*device)->Write32(engine::kRegCtrl, engine::kCtrlStart).ok());
  EXPECT_EQ((*device)->WaitForDone(absl::Milliseconds(100)).code(),
            absl::StatusCode::kDeadlineExceeded);
  absl::Status reset = (*device)->Reset();
  EXPECT_EQ(reset.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(reset.message()), HasSubstr("reload the bitstream"));
}

TEST(MmioDeviceTest, MissingFilesAreNamed) {
  MmioDevice::Options options{.registers_path = "/nonexistent/uio0",
                              .dma_device_path = "/nonexistent/udmabuf0",
                              .dma_sysfs_dir = "/nonexistent/sysfs"};
  absl::StatusOr<std::unique_ptr<MmioDevice>> device = MmioDevice::Create(options);
  EXPECT_EQ(device.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(device.status().message()), HasSubstr("/nonexistent/sysfs/phys_addr"));
  options.registers_bytes = 100;
  EXPECT_EQ(MmioDevice::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pynq::accel
