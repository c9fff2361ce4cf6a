// The translation unit that owns the tests' precompiled header (pynq_test_pch in
// cmake/PynqHelpers.cmake): CMake builds a target's precompiled header with the target's own
// flags, and a target needs a source file. The header's contents are listed in that function.
