#include "accel/cpu/kernel_set.h"

#if defined(__arm__) || defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace pynq::accel::cpu {

namespace {

#if defined(__arm__)
// Linux's HWCAP bit for NEON on 32-bit ARM (asm/hwcap.h HWCAP_NEON).
constexpr unsigned long kHwcapNeon = 1ul << 12;
#endif
#if defined(__aarch64__)
// Linux's HWCAP bit for the dot-product instructions on arm64 (asm/hwcap.h HWCAP_ASIMDDP).
constexpr unsigned long kHwcapAsimdDotprod = 1ul << 20;
#endif

}  // namespace

std::vector<const KernelSet*> SupportedKernelSets() {
  std::vector<const KernelSet*> sets = {&PortableKernels()};
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt")) {
    sets.push_back(&Avx2Kernels());
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vpopcntdq")) {
      sets.push_back(&Avx512VnniKernels());
    }
  }
#elif defined(__aarch64__)
  // Advanced SIMD is part of every arm64 core Debian runs on.
  sets.push_back(&NeonKernels());
  if ((getauxval(AT_HWCAP) & kHwcapAsimdDotprod) != 0) sets.push_back(&NeonDotprodKernels());
#elif defined(__arm__)
  // armhf guarantees VFPv3 but not NEON (a Cortex-A9 may lack it; the Zynq-7000's have it).
  if ((getauxval(AT_HWCAP) & kHwcapNeon) != 0) sets.push_back(&NeonKernels());
#endif
  return sets;
}

const KernelSet* FindKernelSet(std::string_view name) {
  for (const KernelSet* set : SupportedKernelSets()) {
    if (name == set->name) return set;
  }
  return nullptr;
}

std::vector<std::string_view> KnownKernelSetNames() {
  std::vector<std::string_view> names = {PortableKernels().name};
#if defined(__x86_64__)
  names.push_back(Avx2Kernels().name);
  names.push_back(Avx512VnniKernels().name);
#endif
#if defined(__arm__) || defined(__aarch64__)
  names.push_back(NeonKernels().name);
#endif
#if defined(__aarch64__)
  names.push_back(NeonDotprodKernels().name);
#endif
  return names;
}

}  // namespace pynq::accel::cpu
