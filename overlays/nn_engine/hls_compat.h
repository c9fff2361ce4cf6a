// The one place where the engine's sources differ between Vitis HLS synthesis and C simulation
// with plain g++. Everything else in overlays/nn_engine/ is the same text for both.
//
//   Stream<Entry> s;  s.write(e);  Entry f = s.read();      // hls::stream under synthesis
//   const int32_t dot = Dot8(weight_word, input_word);      // eight int8 products, summed
//   clock.Tick(1);                                          // one loop iteration at II 1
//
// Clock is how the C simulation counts the cycles the HLS code takes (overlays/README.md "An
// honest model"): every pipelined loop calls Tick(II) once per iteration it runs and Add(depth)
// once when it ends, every DDR burst adds its latency, and a dataflow region combines the clocks
// of its processes (DataflowMakespan()). Under synthesis Clock is empty and costs nothing.
//
// HLS pragmas are left in the sources as `#pragma HLS ...`; g++ ignores them (the CMake target
// builds with -Wno-unknown-pragmas, since GCC 12 cannot silence that warning from a header).
#ifndef PYNQ_OVERLAYS_NN_ENGINE_HLS_COMPAT_H_
#define PYNQ_OVERLAYS_NN_ENGINE_HLS_COMPAT_H_

#include <cstdint>

#ifdef __SYNTHESIS__
#include "hls_stream.h"
#else
#include <cstring>
#include <deque>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#endif

namespace pynq {
namespace engine {

// Number of set bits of a 64-bit word: under synthesis an unrolled sum that Vitis HLS maps to an
// adder tree of LUTs; on the host one instruction where the build targets it, else the same
// pairwise sums in a register (inline, unlike libgcc's call).
inline uint32_t PopCount64(uint64_t x) {
#ifdef __SYNTHESIS__
  uint32_t count = 0;
Bits:
  for (int b = 0; b < 64; ++b) {
#pragma HLS UNROLL
    count += static_cast<uint32_t>((x >> b) & 1u);
  }
  return count;
#elif defined(__POPCNT__)
  return static_cast<uint32_t>(__builtin_popcountll(x));
#else
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<uint32_t>((x * 0x0101010101010101ull) >> 56);
#endif
}

// The signed int8 at byte `b` of a 64-bit word.
inline int32_t SignedByte(uint64_t word, uint32_t b) {
  return static_cast<int32_t>(static_cast<int8_t>(static_cast<uint8_t>(word >> (8 * b))));
}

// sum over b of int8(w byte b) * int8(x byte b): one MAC lane of the engine, eight DSP48
// multipliers and an adder tree under synthesis (each product at most 2^14 in magnitude, the
// sum at most 2^17).
inline int32_t Dot8(uint64_t w, uint64_t x) {
  int32_t sum = 0;
Taps:
  for (uint32_t b = 0; b < 8; ++b) {
#pragma HLS UNROLL
    sum += SignedByte(w, b) * SignedByte(x, b);
  }
  return sum;
}

// acc[p] += Dot8(w[p], x[p]) for the N lanes of the MAC array, in one cycle under synthesis
// (N x 8 DSP48s). The host does the same sums with SSE2 where it has it: two lanes per 128-bit
// register, bytes widened to 16 bits, pmaddwd for the products and pairwise sums.
template <uint32_t N>
inline void MacLanes(const uint64_t w[N], const uint64_t x[N], int32_t acc[N]) {
#if !defined(__SYNTHESIS__) && defined(__SSE2__)
  static_assert(N % 4 == 0, "four lanes at a time");
  for (uint32_t p = 0; p < N; p += 4) {
    __m128i sums[2];
    for (uint32_t h = 0; h < 2; ++h) {
      const __m128i wv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + p + 2 * h));
      const __m128i xv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + p + 2 * h));
      // Bytes to int16, sign-extended: each byte into the high half, then an arithmetic shift.
      const __m128i w0 = _mm_srai_epi16(_mm_unpacklo_epi8(wv, wv), 8);
      const __m128i w1 = _mm_srai_epi16(_mm_unpackhi_epi8(wv, wv), 8);
      const __m128i x0 = _mm_srai_epi16(_mm_unpacklo_epi8(xv, xv), 8);
      const __m128i x1 = _mm_srai_epi16(_mm_unpackhi_epi8(xv, xv), 8);
      // Four partial sums of lane p + 2h (from w0 x0) and of lane p + 2h + 1 (w1 x1): add them
      // pairwise down to two per lane.
      const __m128i a = _mm_madd_epi16(w0, x0);
      const __m128i b = _mm_madd_epi16(w1, x1);
      sums[h] = _mm_add_epi32(_mm_unpacklo_epi64(a, b), _mm_unpackhi_epi64(a, b));
    }
    // sums[h] = [lane 2h: s0 s1 | lane 2h+1: s0 s1]; one more pairwise add gives four lanes.
    const __m128i lo = _mm_unpacklo_epi32(sums[0], sums[1]);  // l0s0 l2s0 l0s1 l2s1
    const __m128i hi = _mm_unpackhi_epi32(sums[0], sums[1]);  // l1s0 l3s0 l1s1 l3s1
    const __m128i even = _mm_add_epi32(lo, _mm_srli_si128(lo, 8));  // l0 l2 . .
    const __m128i odd = _mm_add_epi32(hi, _mm_srli_si128(hi, 8));   // l1 l3 . .
    const __m128i lanes = _mm_unpacklo_epi32(even, odd);            // l0 l1 l2 l3
    __m128i total = _mm_loadu_si128(reinterpret_cast<const __m128i*>(acc + p));
    total = _mm_add_epi32(total, lanes);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(acc + p), total);
  }
#else
Lanes:
  for (uint32_t p = 0; p < N; ++p) {
#pragma HLS UNROLL
    acc[p] += Dot8(w[p], x[p]);
  }
#endif
}

// 128 bits between the processes of a dataflow region: 16 int8 values, 128 packed bits, four
// int32 scores or two DDR words.
struct Entry {
  uint64_t lo;
  uint64_t hi;
};

// Byte j (0..15) of an entry, and the eight bytes from byte `first` (0..8) on.
inline int8_t EntryByte(const Entry& e, uint32_t j) {
  return static_cast<int8_t>((j < 8 ? e.lo : e.hi) >> (8 * (j % 8)));
}
inline uint64_t EntryBytes8(const Entry& e, uint32_t first) {
  return first == 0 ? e.lo : first == 8 ? e.hi : (e.lo >> (8 * first)) | (e.hi << (64 - 8 * first));
}

// A memory of R x 16 bytes in 16 banks (dim 2 partitioned: byte e in bank e % 16, row e / 16):
// the 16 bytes e .. e + 15, wrapping at R * 16. Under synthesis each bank is read once, at its
// own row, and the bytes rotated into order; the host reads them where they lie.
template <uint32_t R>
inline Entry BankedWindow(const int8_t mem[R][16], uint32_t e) {
#ifdef __SYNTHESIS__
  Entry window = {0, 0};
Banks:
  for (uint32_t b = 0; b < 16; ++b) {
#pragma HLS UNROLL
    // invariant: bank b holds byte e + j for j = (b - e) mod 16
    const uint32_t j = (b - e) % 16;
    const uint64_t byte = static_cast<uint8_t>(mem[((e + j) / 16) % R][b]);
    if (j < 8) {
      window.lo |= byte << (8 * j);
    } else {
      window.hi |= byte << (8 * (j - 8));
    }
  }
  return window;
#else
  uint8_t bytes[16];
  const uint32_t start = e % (R * 16);
  const uint32_t first = R * 16 - start < 16 ? R * 16 - start : 16;
  std::memcpy(bytes, &mem[0][0] + start, first);
  std::memcpy(bytes + first, &mem[0][0], 16 - first);
  Entry window;
  std::memcpy(&window.lo, bytes, 8);
  std::memcpy(&window.hi, bytes + 8, 8);
  return window;
#endif
}

// Bytes e .. e + n - 1 (n <= 16, within the memory) of the banked memory above = bytes 0 .. n - 1
// of `values`: under synthesis at most one write per bank.
template <uint32_t R>
inline void BankedWrite(int8_t mem[R][16], uint32_t e, const Entry& values, uint32_t n) {
#ifdef __SYNTHESIS__
Banks:
  for (uint32_t b = 0; b < 16; ++b) {
#pragma HLS UNROLL
    const uint32_t j = (b - e) % 16;
    if (j < n) mem[(e + j) / 16][b] = EntryByte(values, j);
  }
#else
  uint8_t bytes[16];
  std::memcpy(bytes, &values.lo, 8);
  std::memcpy(bytes + 8, &values.hi, 8);
  std::memcpy(&mem[0][0] + e, bytes, n);
#endif
}

#ifdef __SYNTHESIS__

template <typename T>
using Stream = hls::stream<T>;

// Under synthesis the cycle count is csynth's to report.
class Clock {
 public:
  void Tick(uint32_t) {}
  void Add(uint64_t) {}
  void EndImage() {}
  uint64_t cycles() const { return 0; }
};

inline uint64_t DataflowMakespan(const Clock*, uint32_t, uint32_t) { return 0; }

#else

// hls::stream in C simulation: an unbounded FIFO. The processes of a dataflow region run one
// after another here, so a stream holds everything its producer wrote.
template <typename T>
class Stream {
 public:
  void write(const T& value) { fifo_.push_back(value); }
  T read() {
    const T value = fifo_.front();
    fifo_.pop_front();
    return value;
  }
  bool empty() const { return fifo_.empty(); }

 private:
  std::deque<T> fifo_;
};

// The cycles one process (or one sequential piece of the engine) takes, as the loops it runs
// report them; EndImage() closes the cycles of one image, for DataflowMakespan().
class Clock {
 public:
  void Tick(uint32_t ii) { cycles_ += ii; }
  void Add(uint64_t cycles) { cycles_ += cycles; }
  void EndImage() {
    images_.push_back(cycles_ - marked_);
    marked_ = cycles_;
  }
  uint64_t cycles() const { return cycles_; }
  // Cycles of image i, and the cycles after the last EndImage() (a loop's drain, a write
  // response).
  uint64_t image(uint32_t i) const { return i < images_.size() ? images_[i] : 0; }
  uint64_t tail() const { return cycles_ - marked_; }

 private:
  uint64_t cycles_ = 0;
  uint64_t marked_ = 0;
  std::vector<uint64_t> images_;
};

// The cycles of a dataflow region of `stages` processes connected in a chain, each handing an
// image to the next through a FIFO that holds a whole image (a ping-pong in effect): process s
// starts image i when it has finished image i-1 and process s-1 has handed it image i,
//   finish[s][i] = max(finish[s][i-1], finish[s-1][i]) + cycles of image i in process s,
// and a process's tail follows its last image. With equal images this is the sum of one image
// through every process plus (images - 1) times the slowest process: each stage as the max.
inline uint64_t DataflowMakespan(const Clock* clocks, uint32_t stages, uint32_t images) {
  std::vector<uint64_t> finish(stages, 0);
  for (uint32_t i = 0; i < images; ++i) {
    uint64_t upstream = 0;
    for (uint32_t s = 0; s < stages; ++s) {
      const uint64_t start = finish[s] > upstream ? finish[s] : upstream;
      finish[s] = start + clocks[s].image(i) + (i + 1 == images ? clocks[s].tail() : 0);
      upstream = finish[s];
    }
  }
  return images == 0 ? 0 : finish[stages - 1];
}

#endif

}  // namespace engine
}  // namespace pynq

#endif  // PYNQ_OVERLAYS_NN_ENGINE_HLS_COMPAT_H_
