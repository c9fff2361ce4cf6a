// Fuzz target: the client's file readers (clients/image_io.h, clients/idx_file.h): IDX images,
// labels and int32 matrices, binary PGM and PNG, each gzipped or not. They read paths, so the
// input is written to an in-memory file (memfd) and read back through /proc/self/fd, the same
// code a user's file goes through.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "clients/idx_file.h"
#include "clients/image_io.h"

namespace {

int InputFile() {
  static const int fd = [] {
    const int fd = memfd_create("fuzz-input", 0);
    if (fd < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    return fd;
  }();
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = InputFile();
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
    std::perror("writing the memfd");
    std::abort();
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  (void)pynq::clients::ReadImageFile(path);
  (void)pynq::clients::ReadIdxLabels(path);
  (void)pynq::clients::ReadIdxInt32Matrix(path);
  return 0;
}
