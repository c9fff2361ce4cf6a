#include "service/oip/infer_request.h"

#include <limits>

#include "absl/strings/str_format.h"

namespace pynq::service::oip {

std::optional<int64_t> ElementCount(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim) return std::nullopt;
    count *= dim;
  }
  return count;
}

absl::StatusOr<std::vector<std::string_view>> SplitBytesElements(std::string_view data,
                                                                 std::string_view what) {
  std::vector<std::string_view> elements;
  size_t at = 0;
  while (at < data.size()) {
    if (data.size() - at < 4) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: BYTES element %d has %d bytes of its 4-byte length prefix", what, elements.size(),
          data.size() - at));
    }
    uint32_t length = 0;
    for (int i = 0; i < 4; ++i) {
      length |= static_cast<uint32_t>(static_cast<unsigned char>(data[at + i])) << (8 * i);
    }
    at += 4;
    if (length > data.size() - at) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: BYTES element %d says it has %d bytes, but only %d follow", what,
          elements.size(), length, data.size() - at));
    }
    elements.push_back(data.substr(at, length));
    at += length;
  }
  return elements;
}

void AppendBytesElement(std::string_view element, std::string& data) {
  const uint32_t length = static_cast<uint32_t>(element.size());
  for (int i = 0; i < 4; ++i) data.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  data.append(element);
}

}  // namespace pynq::service::oip
