# cmake -DINPUT=console.html -DOUTPUT=console_page.cc -P embed.cmake
# Writes a C++ source defining pynq::service::http::ConsolePage() (console_page.h) as the bytes of
# INPUT, so the daemon serves the console without reading any file at run time. The bytes are
# written as a hex array, which holds any byte and has no length limit a string literal has.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR bytes "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," array "${hex}")
# One line per 16 bytes keeps the generated file readable in a compiler error (CMake's regular
# expressions have no {n} repetition, so the pattern is spelled out).
string(REPEAT "'\\\\x[0-9a-f][0-9a-f]'," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n    " array "${array}")
file(WRITE "${OUTPUT}.tmp"
"// Generated from service/http/console/console.html by embed.cmake beside it; do not edit.
#include \"service/http/console_page.h\"

namespace pynq::service::http {

namespace {

constexpr char kPage[${bytes} + 1] = {
    ${array}'\\0'};

}  // namespace

std::string_view ConsolePage() { return std::string_view(kPage, ${bytes}); }

}  // namespace pynq::service::http
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
