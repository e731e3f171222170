#ifndef CEMBED_KERNELS_H
#define CEMBED_KERNELS_H
// Element-wise kernels of the BERT forward pass, compiled once per instruction set and chosen at run time
// (never -march=native): a portable variant always, AVX2+FMA and AVX-512F variants on x86-64.
#include <stddef.h>
#include <stdint.h>

enum {
    EMBED_KERNELS_PORTABLE = 0,
    EMBED_KERNELS_AVX2 = 1,
    EMBED_KERNELS_AVX512 = 2,
};

/// The best variant this CPU (and OS) supports.
int embed_kernels_best(void);
/// 1 when `variant` was compiled in and this CPU can run it.
int embed_kernels_available(int variant);
/// "portable", "avx2", "avx512f".
const char *embed_kernels_name(int variant);

/// x[r][c] = GELU(x[r][c] + bias[c]) (exact erf form), rows × width, width a multiple of 32.
void embed_k_bias_gelu(int variant, float *x, const float *bias, size_t rows, size_t width);
/// x[r] = LayerNorm(x[r] + bias + residual[r]) · gamma + beta; bias and residual may be NULL.
/// width a multiple of 32.
void embed_k_add_layer_norm(int variant, float *x, const float *bias, const float *residual, size_t rows,
                            size_t width, const float *gamma, const float *beta, float epsilon);
/// Softmax of each row (any number of columns), rows `stride` floats apart, in place.
void embed_k_softmax_rows(int variant, float *x, size_t rows, size_t columns, size_t stride);
/// out = normalize(mean of rows × width), sentence-transformers' mean pooling + Normalize; width a multiple of 16.
void embed_k_mean_pool_normalized(int variant, const float *x, size_t rows, size_t width, float *out);
/// out[i] = LayerNorm(word[ids[i]] + position[i] + type) · gamma + beta for one sequence.
void embed_k_embeddings(int variant, const int32_t *ids, size_t count, const float *word, const float *position,
                        const float *type, const float *gamma, const float *beta, float epsilon, size_t width,
                        float *out);
/// out[i] = e^x[i] for x[i] ≤ 0 (the softmax/erf exponential), for tests.
void embed_k_exp_nonpositive(int variant, const float *x, float *out, size_t count);
/// out[r][j] = x[r] · w[j], plus out[r][j] when `accumulate` is non-zero: x is rows × k, w is n × k (both
/// row-major), out is rows × n with rows `ldo` floats apart; k a multiple of 16. For a few rows, where BLAS
/// spends its time copying `w` into its packed layout.
void embed_k_matmul_bt(int variant, const float *x, size_t rows, size_t k, const float *w, size_t n, float *out,
                       size_t ldo, int accumulate);
/// out[r][c] = codes[r][c] · scale[c], rows × dimension: int8 codes back to floats (any dimension).
void embed_k_dequantize_int8(int variant, const int8_t *codes, size_t rows, size_t dimension, const float *scale,
                             float *out);

#endif
