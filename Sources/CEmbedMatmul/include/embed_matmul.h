#ifndef CEMBED_MATMUL_H
#define CEMBED_MATMUL_H
// Linear layers of the BERT forward pass on oneDNN (Debian's libdnnl): its JIT kernels use AVX-512 where
// OpenBLAS 0.3.21 falls back to AVX2 kernels on CPUs it does not know (AMD Zen 4), and its bf16 kernels use
// AVX512_BF16 / AMX. oneDNN picks its kernels for the CPU at run time; nothing here is compiled per CPU but
// the bf16 conversion, which has its own target attribute and runs only where the CPU has AVX512_BF16.
#include <stddef.h>
#include <stdint.h>

enum {
    EMBED_MATMUL_F32 = 0,
    EMBED_MATMUL_BF16 = 1,
    /// int8's rounding, in fp32 arithmetic: weights rounded per output channel and each input row per row
    /// (symmetric, scale = max |value| / 127), then multiplied exactly in fp32. Integer products summed in int32
    /// are exact, so this gives the vectors a true int8 path would give, at fp32 speed: how int8 was measured
    /// against the quality gate (docs/decisions.md, D66). Needs what f32 needs.
    EMBED_MATMUL_INT8_SIMULATED = 2,
};

/// 1 when oneDNN runs `precision` on this CPU with native kernels: f32 needs AVX-512 (avx512_core), bf16
/// needs AVX512_BF16 (avx512_core_bf16 or AMX). 0 otherwise, where OpenBLAS serves f32 and bf16 is refused.
int embed_matmul_available(int precision);

/// oneDNN's name of the instruction set it uses here ("avx512_core_bf16", ...), for reports.
const char *embed_matmul_isa(void);

/// A weight matrix prepared for `out[rows × n] = x[rows × k] · wᵀ (+ bias)`, `w` in PyTorch Linear layout
/// (`n × k`, row-major), any number of rows. f32 keeps a pointer to `w` and `bias`, which must outlive it;
/// bf16 keeps its own bf16 copy of `w` (and the pointer to the f32 bias). Immutable once made: concurrent
/// `embed_matmul_run` calls on one are safe.
typedef struct embed_matmul embed_matmul;

/// NULL when oneDNN refuses (see `embed_matmul_available`); `error` (may be NULL) then holds why.
embed_matmul *embed_matmul_create(int precision, const float *w, size_t n, size_t k, const float *bias,
                                  char *error, size_t error_size);
void embed_matmul_destroy(embed_matmul *matmul);

/// Bytes of scratch `embed_matmul_run` needs for `rows` rows (the bf16 copy of `x`; 0 for f32).
size_t embed_matmul_scratch_bytes(const embed_matmul *matmul, size_t rows);

/// Runs the product on `threads` OpenMP threads of the calling thread. `scratch` holds at least
/// `embed_matmul_scratch_bytes` bytes, 64-byte aligned. Returns 0, or oneDNN's status when it failed.
int embed_matmul_run(const embed_matmul *matmul, const float *x, size_t rows, float *out, void *scratch,
                     int threads);

/// c[m × n] = alpha · a[m × k] · op(b), row-major with leading dimensions, op(b) = bᵀ (b is n × k) when
/// `transpose_b`, else b (k × n): oneDNN's sgemm, for attention's per-sequence products, on `threads` OpenMP
/// threads. Needs what `embed_matmul_available(EMBED_MATMUL_F32)` checks. Returns 0 or oneDNN's status.
int embed_matmul_sgemm(int transpose_b, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                       const float *b, size_t ldb, float *c, size_t ldc, int threads);

/// out[i] = x[i] rounded to bf16 (nearest, ties to even), widened back to f32: what the bf16 path multiplies.
/// For tests.
void embed_matmul_round_bf16(const float *x, float *out, size_t count);

#endif
