/*
 * A qemu-user TCG plugin that counts the guest instructions a program executes, by class, for
 * bench/arm_cpu_estimate.py: how many instructions an image costs on ARM, and how many of them
 * are NEON, 64 or 128 bits wide, without an ARM board.
 *
 *   cc -shared -fPIC -O2 -o insn_mix.so bench/arm_insn_mix_plugin.c
 *   qemu-aarch64 -plugin ./insn_mix.so -d plugin -D counts.txt PROGRAM ARGS...
 *
 * At exit it writes one line per class, "class <name> <count>", then the most executed
 * mnemonics, "mnemonic <name> <count>". Classes (from the disassembly of each instruction, once,
 * when qemu translates it):
 *   simd128      NEON/Advanced SIMD data processing on 128-bit registers (q, or .16b/.8h/.4s/.2d)
 *   simd64       the same on 64-bit registers (d, or .8b/.4h/.2s/.1d)
 *   simd_memory  NEON loads and stores (vld/vst, ld1/st1 and ldr/str of q or d registers)
 *   memory       other loads and stores
 *   other        everything else (integer, branches, scalar floating point)
 *
 * The plugin API is QEMU's (include/qemu/qemu-plugin.h, API version 1, QEMU 4.2 to 8.x: Debian
 * 12 ships 7.2 without the header); the few declarations used are written out below.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb* tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void* userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void* udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb* tb);
struct qemu_plugin_insn* qemu_plugin_tb_get_insn(const struct qemu_plugin_tb* tb, size_t idx);
char* qemu_plugin_insn_disas(const struct qemu_plugin_insn* insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn* insn,
                                                enum qemu_plugin_op op, void* ptr, uint64_t imm);
void qemu_plugin_outs(const char* string);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

enum { kSimd128, kSimd64, kSimdMemory, kMemory, kOther, kClasses };
static const char* const kClassNames[kClasses] = {"simd128", "simd64", "simd_memory", "memory",
                                                  "other"};
static uint64_t class_count[kClasses];

/* Executions per mnemonic, in an open-addressing table; the program is single-threaded. */
#define kMaxMnemonics 1024
static char mnemonic_name[kMaxMnemonics][16];
static uint64_t mnemonic_count[kMaxMnemonics];
static uint64_t unlisted_count; /* Executions of mnemonics that found the table full. */

static uint64_t* MnemonicCounter(const char* disas) {
  char name[16] = {0};
  size_t n = 0;
  while (disas[n] != '\0' && disas[n] != ' ' && disas[n] != '\t' && n + 1 < sizeof(name)) {
    name[n] = disas[n];
    ++n;
  }
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) h = (h ^ (unsigned char)name[i]) * 16777619u;
  for (size_t probe = 0; probe < kMaxMnemonics; ++probe) {
    const size_t slot = (h + probe) % kMaxMnemonics;
    if (mnemonic_name[slot][0] == '\0') memcpy(mnemonic_name[slot], name, sizeof(name));
    if (strcmp(mnemonic_name[slot], name) == 0) return &mnemonic_count[slot];
  }
  return &unlisted_count; /* A full table only loses the per-mnemonic detail. */
}

/* True if `operands` names a register of the given family, e.g. 'q' then digits. */
static int HasRegister(const char* operands, char family) {
  for (const char* p = operands; *p != '\0'; ++p) {
    const int starts = p == operands || p[-1] == ' ' || p[-1] == ',' || p[-1] == '{' ||
                       p[-1] == '[' || p[-1] == '\t';
    if (starts && *p == family && p[1] >= '0' && p[1] <= '9') return 1;
  }
  return 0;
}

static int Classify(const char* disas) {
  const char* operands = disas;
  while (*operands != '\0' && *operands != ' ' && *operands != '\t') ++operands;
  const int load_store = (disas[0] == 'l' && disas[1] == 'd') || (disas[0] == 's' && disas[1] == 't') ||
                         (disas[0] == 'v' && (strncmp(disas, "vld", 3) == 0 || strncmp(disas, "vst", 3) == 0)) ||
                         strncmp(disas, "push", 4) == 0 || strncmp(disas, "pop", 3) == 0 ||
                         strncmp(disas, "vpush", 5) == 0 || strncmp(disas, "vpop", 4) == 0;
  /* arm64 vector arrangements, armhf q/d registers (s registers are scalar VFP). */
  const int wide = strstr(operands, ".16b") || strstr(operands, ".8h") ||
                   strstr(operands, ".4s") || strstr(operands, ".2d") || HasRegister(operands, 'q');
  const int narrow = strstr(operands, ".8b") || strstr(operands, ".4h") ||
                     strstr(operands, ".2s") || strstr(operands, ".1d") ||
                     (disas[0] == 'v' && HasRegister(operands, 'd'));
  if (load_store) return wide || narrow || (disas[0] == 'v') ? kSimdMemory : kMemory;
  if (wide) return kSimd128;
  if (narrow) return kSimd64;
  return kOther;
}

static void OnTranslate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  const size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; ++i) {
    struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    char* disas = qemu_plugin_insn_disas(insn);
    qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                               &class_count[Classify(disas)], 1);
    qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                               MnemonicCounter(disas), 1);
    free(disas);
  }
}

static void OnExit(qemu_plugin_id_t id, void* udata) {
  (void)id;
  (void)udata;
  char line[96];
  for (int c = 0; c < kClasses; ++c) {
    snprintf(line, sizeof(line), "class %s %llu\n", kClassNames[c],
             (unsigned long long)class_count[c]);
    qemu_plugin_outs(line);
  }
  snprintf(line, sizeof(line), "mnemonic (unlisted) %llu\n", (unsigned long long)unlisted_count);
  qemu_plugin_outs(line);
  for (size_t slot = 0; slot < kMaxMnemonics; ++slot) {
    if (mnemonic_count[slot] == 0) continue;
    snprintf(line, sizeof(line), "mnemonic %.15s %llu\n", mnemonic_name[slot],
             (unsigned long long)mnemonic_count[slot]);
    qemu_plugin_outs(line);
  }
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const void* info, int argc,
                                                               char** argv) {
  (void)info;
  (void)argc;
  (void)argv;
  qemu_plugin_register_vcpu_tb_trans_cb(id, OnTranslate);
  qemu_plugin_register_atexit_cb(id, OnExit, NULL);
  return 0;
}
