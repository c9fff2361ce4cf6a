#include "base/status_macros.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace pynq {
namespace {

int calls = 0;

absl::Status Counted(absl::Status status) {
  ++calls;
  return status;
}

absl::StatusOr<std::unique_ptr<int>> Boxed(absl::StatusOr<int> value) {
  ++calls;
  if (!value.ok()) return value.status();
  return std::make_unique<int>(*value);
}

absl::Status ReturnsFirstError(absl::Status first, absl::Status second) {
  PYNQ_RETURN_IF_ERROR(Counted(first));
  PYNQ_RETURN_IF_ERROR(Counted(second));
  return absl::OkStatus();
}

absl::StatusOr<int> Doubles(absl::StatusOr<int> value) {
  // A move-only type through the macro, twice in one function.
  PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<int> boxed, Boxed(value));
  PYNQ_ASSIGN_OR_RETURN(const std::unique_ptr<int> again, Boxed(*boxed));
  return 2 * *again;
}

TEST(StatusMacrosTest, ReturnIfErrorReturnsTheFirstErrorUnchangedAndEvaluatesOnce) {
  calls = 0;
  EXPECT_TRUE(ReturnsFirstError(absl::OkStatus(), absl::OkStatus()).ok());
  EXPECT_EQ(calls, 2);
  calls = 0;
  const absl::Status got =
      ReturnsFirstError(absl::NotFoundError("first"), absl::InternalError("second"));
  EXPECT_EQ(got, absl::NotFoundError("first"));
  EXPECT_EQ(calls, 1);
}

TEST(StatusMacrosTest, AssignOrReturnAssignsOrReturnsTheStatus) {
  calls = 0;
  EXPECT_EQ(*Doubles(21), 42);
  EXPECT_EQ(calls, 2);
  calls = 0;
  EXPECT_EQ(Doubles(absl::DataLossError("bad CRC")).status(), absl::DataLossError("bad CRC"));
  EXPECT_EQ(calls, 1);
}

TEST(StatusMacrosTest, AnnotateKeepsTheCodeAndPrefixesTheMessage) {
  EXPECT_EQ(Annotate(absl::DataLossError("bad CRC"), "models/a.pim"),
            absl::DataLossError("models/a.pim: bad CRC"));
  EXPECT_TRUE(Annotate(absl::OkStatus(), "models/a.pim").ok());
}

}  // namespace
}  // namespace pynq
