// End-to-end accuracy of every shipped model: the real daemon serves models/zoo, and the real
// `pynq-infer eval` streams each model's whole test set through it (models/zoo.tsv). Each model's
// scores must equal its golden file bit for bit, and its accuracy must meet its target. Run on
// each backend: the CPU, and the FPGA engine on the virtual board without CPU fallback
// (--accelerator=fpga --device=sim --cpu_fallback=false), where every layer of every model,
// binarized and int8, runs in the engine's C++.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "clients/idx_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_process.h"
#include "tests/support/source_dir.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_data.h"
#include "tests/support/zoo_manifest.h"

namespace pynq {
namespace {

using ::testing::HasSubstr;

// Runs `command`, returns its exit status and appends its standard output to `output`.
int RunCommand(const std::string& command, std::string& output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  return pclose(pipe);
}

// The value of the `key: value` line of an eval report, or -1.
double ReportValue(const std::string& report, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(report, '\n')) {
    double value;
    if (absl::ConsumePrefix(&line, key + ": ") && absl::SimpleAtod(line, &value)) return value;
  }
  return -1;
}

// The parameter is the daemon's --accelerator.
class ZooE2eTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooE2eTest, EveryShippedModelMeetsItsTargetThroughTheDaemon) {
  const char* cli = std::getenv("PYNQ_INFER_CLI");
  ASSERT_NE(cli, nullptr) << "PYNQ_INFER_CLI is not set";
  const std::string backend = GetParam();
  const std::string models = testing::SourceDir() + "/models";
  absl::StatusOr<std::vector<testing::ZooEntry>> zoo = testing::ReadZooManifest(models);
  ASSERT_TRUE(zoo.ok()) << zoo.status();
  std::vector<std::string> args = {"--model_dir=" + models + "/zoo", "--accelerator=" + backend};
  if (backend == "fpga") {
    args.insert(args.end(), {"--device=sim", "--cpu_fallback=false"});
  }
  auto daemon = testing::DaemonProcess::Start({.args = args});
  ASSERT_TRUE(daemon.ok()) << daemon.status();

  for (const testing::ZooEntry& entry : *zoo) {
    SCOPED_TRACE(entry.name);
    const std::string scores_path = testing::TestTempPath(entry.name + ".scores");
    std::string report;
    const int status = RunCommand(
        absl::StrCat(cli, " eval --server=", (*daemon)->address(), " --model=", entry.name,
                     " --images=", entry.images_path, " --labels=", entry.labels_path,
                     " --images_per_request=8 --window=32 --min_accuracy=",
                     entry.min_accuracy_pct, " --scores_out=", scores_path),
        report);
    EXPECT_EQ(status, 0) << report;
    EXPECT_THAT(report, HasSubstr("failed_requests: 0\n"));
    EXPECT_THAT(report, HasSubstr("backend: " + backend + "\n"));
    const double accuracy = ReportValue(report, "accuracy_pct");
    EXPECT_GE(accuracy, entry.min_accuracy_pct) << report;
    auto written = clients::ReadIdxInt32Matrix(scores_path);
    ASSERT_TRUE(written.ok()) << written.status() << "\n" << report;
    auto set = testing::ReadTestSet(entry);
    ASSERT_TRUE(set.ok()) << set.status();
    EXPECT_EQ(written->rows, set->golden.rows);
    EXPECT_TRUE(written->values == set->golden.values) << "scores differ from " << entry.golden_path;
    std::printf("%-4s %-20s %6.0f images  accuracy %6.2f%% (target %.1f%%)  %8.0f images/s\n",
                backend.c_str(), entry.name.c_str(), ReportValue(report, "images"), accuracy,
                entry.min_accuracy_pct, ReportValue(report, "images_per_s"));
  }
  absl::StatusOr<int> exit_code = (*daemon)->Stop();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ZooE2eTest, ::testing::Values("cpu", "fpga"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace pynq
