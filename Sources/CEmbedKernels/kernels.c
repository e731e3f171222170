#include "CEmbedKernels.h"

struct kernel_table {
    void (*bias_gelu)(float *, const float *, size_t, size_t);
    void (*add_layer_norm)(float *, const float *, const float *, size_t, size_t, const float *, const float *, float);
    void (*softmax_rows)(float *, size_t, size_t, size_t);
    void (*mean_pool_normalized)(const float *, size_t, size_t, float *);
    void (*embeddings)(const int32_t *, size_t, const float *, const float *, const float *, const float *,
                       const float *, float, size_t, float *);
    void (*exp_nonpositive)(const float *, float *, size_t);
    void (*matmul_bt)(const float *, size_t, size_t, const float *, size_t, float *, size_t, int);
    void (*dequantize_int8)(const int8_t *, size_t, size_t, const float *, float *);
};

// Portable: 16-byte vectors, which baseline x86-64 (SSE2) and arm64 (NEON) both have.
#define W 4
#define VBYTES 16
#define TGT
#define SUFFIX portable
#include "kernels_body.h"
#undef W
#undef VBYTES
#undef TGT
#undef SUFFIX

#if defined(__x86_64__)
// Each compiled for its instruction set alone and called only after the CPUID check below.
#define W 8
#define VBYTES 32
#define TGT __attribute__((target("avx2,fma")))
#define SUFFIX avx2
#include "kernels_body.h"
#undef W
#undef VBYTES
#undef TGT
#undef SUFFIX

#define W 16
#define VBYTES 64
#define TGT __attribute__((target("avx512f")))
#define SUFFIX avx512
#include "kernels_body.h"
#undef W
#undef VBYTES
#undef TGT
#undef SUFFIX
#endif

int embed_kernels_available(int variant) {
    switch (variant) {
    case EMBED_KERNELS_PORTABLE: return 1;
#if defined(__x86_64__)
    // __builtin_cpu_supports also checks that the OS saves the wider registers (XGETBV).
    case EMBED_KERNELS_AVX2: __builtin_cpu_init(); return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case EMBED_KERNELS_AVX512: __builtin_cpu_init(); return __builtin_cpu_supports("avx512f");
#endif
    default: return 0;
    }
}

int embed_kernels_best(void) {
    static int best = -1;  // computing it twice at once is harmless
    int b = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (b < 0) {
        b = embed_kernels_available(EMBED_KERNELS_AVX512) ? EMBED_KERNELS_AVX512
            : embed_kernels_available(EMBED_KERNELS_AVX2) ? EMBED_KERNELS_AVX2
                                                           : EMBED_KERNELS_PORTABLE;
        __atomic_store_n(&best, b, __ATOMIC_RELAXED);
    }
    return b;
}

const char *embed_kernels_name(int variant) {
    switch (variant) {
    case EMBED_KERNELS_PORTABLE: return "portable";
    case EMBED_KERNELS_AVX2: return "avx2";
    case EMBED_KERNELS_AVX512: return "avx512f";
    default: return "unknown";
    }
}

static const struct kernel_table *table(int variant) {
#if defined(__x86_64__)
    if (variant == EMBED_KERNELS_AVX512) return &table_avx512;
    if (variant == EMBED_KERNELS_AVX2) return &table_avx2;
#endif
    return &table_portable;
}

void embed_k_bias_gelu(int variant, float *x, const float *bias, size_t rows, size_t width) {
    table(variant)->bias_gelu(x, bias, rows, width);
}

void embed_k_add_layer_norm(int variant, float *x, const float *bias, const float *residual, size_t rows,
                            size_t width, const float *gamma, const float *beta, float epsilon) {
    table(variant)->add_layer_norm(x, bias, residual, rows, width, gamma, beta, epsilon);
}

void embed_k_softmax_rows(int variant, float *x, size_t rows, size_t columns, size_t stride) {
    table(variant)->softmax_rows(x, rows, columns, stride);
}

void embed_k_mean_pool_normalized(int variant, const float *x, size_t rows, size_t width, float *out) {
    table(variant)->mean_pool_normalized(x, rows, width, out);
}

void embed_k_embeddings(int variant, const int32_t *ids, size_t count, const float *word, const float *position,
                        const float *type, const float *gamma, const float *beta, float epsilon, size_t width,
                        float *out) {
    table(variant)->embeddings(ids, count, word, position, type, gamma, beta, epsilon, width, out);
}

void embed_k_exp_nonpositive(int variant, const float *x, float *out, size_t count) {
    table(variant)->exp_nonpositive(x, out, count);
}

void embed_k_matmul_bt(int variant, const float *x, size_t rows, size_t k, const float *w, size_t n, float *out,
                       size_t ldo, int accumulate) {
    table(variant)->matmul_bt(x, rows, k, w, n, out, ldo, accumulate);
}

void embed_k_dequantize_int8(int variant, const int8_t *codes, size_t rows, size_t dimension, const float *scale,
                             float *out) {
    table(variant)->dequantize_int8(codes, rows, dimension, scale, out);
}
