// One variant of the kernels, included by kernels.c once per instruction set with
// W (lanes), VBYTES, TGT (a target attribute or nothing) and SUFFIX defined.
// Written with clang/GCC vector extensions so one body serves every width.

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define F(name) CAT(name, SUFFIX)
#define VF F(vf)
#define VI F(vi)
#define ATTR static inline __attribute__((always_inline)) TGT

typedef float VF __attribute__((vector_size(VBYTES)));
typedef int32_t VI __attribute__((vector_size(VBYTES)));

ATTR VF F(load)(const float *p) {
    VF v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
ATTR void F(store)(float *p, VF v) { __builtin_memcpy(p, &v, sizeof v); }
ATTR VF F(splat)(float s) { return (VF){0} + s; }
ATTR float F(sum)(VF v) {
    float s = 0;
    for (int i = 0; i < W; i++) s += v[i];
    return s;
}
ATTR VF F(select)(VI mask, VF yes, VF no) { return (VF)((mask & (VI)yes) | (~mask & (VI)no)); }

// e^x for x ≤ 0: Cody–Waite reduction to r ∈ [−½ ln 2, ½ ln 2], degree-6 polynomial (relative error
// about 2e-7), scaling by 2ⁿ; inputs below −87 give e⁻⁸⁷ instead of 0 (harmless for softmax and erf).
ATTR VF F(exp_np)(VF x) {
    VF c = F(select)(x < -87.0f, F(splat)(-87.0f), x);
    // n = round(x / ln 2) with no rounding instruction: adding 1.5·2²³ leaves n in the low mantissa bits.
    const float shifter = 12582912.0f;
    VF shifted = c * 1.44269504088896341f + shifter;
    VF n = shifted - shifter;
    VF r = c - n * 0.693145751953125f - n * 1.428606765330187e-06f;
    VF p = F(splat)(1.0f / 720);
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    VI e = (((VI)shifted - 0x4B400000) + 127) << 23;
    return p * (VF)e;
}

// erf (Abramowitz & Stegun 7.1.26; absolute error below 1.5e-7).
ATTR VF F(erf)(VF x) {
    VF a = (VF)((VI)x & 0x7FFFFFFF);
    VF t = 1.0f / (1.0f + 0.3275911f * a);
    VF p = F(splat)(1.061405429f);
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    p = p * t;
    VF y = 1.0f - p * F(exp_np)(-a * a);
    // Copy x's sign onto y.
    return (VF)(((VI)y & 0x7FFFFFFF) | ((VI)x & (int32_t)0x80000000));
}

TGT static void F(bias_gelu)(float *x, const float *bias, size_t rows, size_t width) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * width;
        for (size_t c = 0; c < width; c += W) {
            VF v = F(load)(row + c) + F(load)(bias + c);
            F(store)(row + c, 0.5f * v * (1.0f + F(erf)(v * 0.70710678118654752f)));
        }
    }
}

TGT static void F(add_layer_norm)(float *x, const float *bias, const float *residual, size_t rows, size_t width,
                                  const float *gamma, const float *beta, float epsilon) {
    const float inverse_width = 1.0f / (float)width;
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * width;
        const float *added = residual ? residual + r * width : NULL;
        // Two accumulators per pass to hide the add latency.
        VF s0 = {0}, s1 = {0};
        for (size_t c = 0; c < width; c += 2 * W) {
            VF a = F(load)(row + c), b = F(load)(row + c + W);
            if (bias) a += F(load)(bias + c), b += F(load)(bias + c + W);
            if (added) a += F(load)(added + c), b += F(load)(added + c + W);
            F(store)(row + c, a);
            F(store)(row + c + W, b);
            s0 += a;
            s1 += b;
        }
        const float mean = F(sum)(s0 + s1) * inverse_width;
        VF q0 = {0}, q1 = {0};
        for (size_t c = 0; c < width; c += 2 * W) {
            VF a = F(load)(row + c) - mean, b = F(load)(row + c + W) - mean;
            q0 += a * a;
            q1 += b * b;
        }
        const float scale = 1.0f / __builtin_sqrtf(F(sum)(q0 + q1) * inverse_width + epsilon);
        for (size_t c = 0; c < width; c += W) {
            VF v = (F(load)(row + c) - mean) * scale;
            F(store)(row + c, v * F(load)(gamma + c) + F(load)(beta + c));
        }
    }
}

TGT static void F(softmax_rows)(float *x, size_t rows, size_t columns, size_t stride) {
    const size_t whole = columns - columns % W;
    const size_t tail = columns - whole;
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * stride;
        VF maxima = F(splat)(-__builtin_inff());
        for (size_t c = 0; c < whole; c += W) {
            VF v = F(load)(row + c);
            maxima = F(select)(v > maxima, v, maxima);
        }
        float maximum = -__builtin_inff();
        for (int i = 0; i < W; i++) maximum = maxima[i] > maximum ? maxima[i] : maximum;
        for (size_t c = whole; c < columns; c++) maximum = row[c] > maximum ? row[c] : maximum;

        VF sums = {0};
        for (size_t c = 0; c < whole; c += W) {
            VF e = F(exp_np)(F(load)(row + c) - maximum);
            F(store)(row + c, e);
            sums += e;
        }
        float sum = F(sum)(sums);
        if (tail) {
            VF t = F(splat)(-__builtin_inff());
            for (size_t i = 0; i < tail; i++) t[i] = row[whole + i];
            VF e = F(exp_np)(t - maximum);
            for (size_t i = 0; i < tail; i++) {
                row[whole + i] = e[i];
                sum += e[i];
            }
        }
        const float inverse = 1.0f / sum;
        for (size_t c = 0; c < whole; c += W) F(store)(row + c, F(load)(row + c) * inverse);
        for (size_t c = whole; c < columns; c++) row[c] *= inverse;
    }
}

TGT static void F(mean_pool_normalized)(const float *x, size_t rows, size_t width, float *out) {
    for (size_t c = 0; c < width; c += W) F(store)(out + c, F(splat)(0));
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * width;
        for (size_t c = 0; c < width; c += W) F(store)(out + c, F(load)(out + c) + F(load)(row + c));
    }
    const float inverse_rows = 1.0f / (float)(rows ? rows : 1);
    VF squares = {0};
    for (size_t c = 0; c < width; c += W) {
        VF v = F(load)(out + c) * inverse_rows;
        F(store)(out + c, v);
        squares += v * v;
    }
    // sentence-transformers' Normalize: x / max(‖x‖, 1e-12).
    float norm = __builtin_sqrtf(F(sum)(squares));
    const float inverse_norm = 1.0f / (norm > 1e-12f ? norm : 1e-12f);
    for (size_t c = 0; c < width; c += W) F(store)(out + c, F(load)(out + c) * inverse_norm);
}

TGT static void F(embeddings)(const int32_t *ids, size_t count, const float *word, const float *position,
                              const float *type, const float *gamma, const float *beta, float epsilon, size_t width,
                              float *out) {
    for (size_t i = 0; i < count; i++) {
        const float *w = word + (size_t)ids[i] * width, *p = position + i * width;
        float *o = out + i * width;
        for (size_t c = 0; c < width; c += W) F(store)(o + c, F(load)(w + c) + F(load)(p + c) + F(load)(type + c));
        // Normalise the row while it is in cache.
        F(add_layer_norm)(o, NULL, NULL, 1, width, gamma, beta, epsilon);
    }
}

TGT static void F(exp_nonpositive)(const float *x, float *out, size_t count) {
    for (size_t i = 0; i + W <= count; i += W) F(store)(out + i, F(exp_np)(F(load)(x + i)));
    for (size_t i = count - count % W; i < count; i++) {
        VF v = F(splat)(x[i]);
        out[i] = F(exp_np)(v)[0];
    }
}

// out[r][j] = x[r] · w[j] (+ out[r][j] when accumulate), x rows × k, w n × k, out rows ldo apart,
// k a multiple of 16.
// For a few rows (a short query): reads each weight row once and never packs the weights, which is what
// makes BLAS slow there (it copies the whole matrix per call whatever the row count). Four weight rows
// by two input rows per step: eight accumulators, within the sixteen vector registers of AVX2.
TGT static void F(matmul_bt)(const float *x, size_t rows, size_t k, const float *w, size_t n, float *out,
                             size_t ldo, int accumulate) {
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const float *w0 = w + j * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
        size_t r = 0;
        for (; r + 2 <= rows; r += 2) {
            const float *x0 = x + r * k, *x1 = x0 + k;
            VF a00 = {0}, a01 = {0}, a02 = {0}, a03 = {0}, a10 = {0}, a11 = {0}, a12 = {0}, a13 = {0};
            for (size_t c = 0; c < k; c += W) {
                VF v0 = F(load)(x0 + c), v1 = F(load)(x1 + c);
                VF b0 = F(load)(w0 + c), b1 = F(load)(w1 + c), b2 = F(load)(w2 + c), b3 = F(load)(w3 + c);
                a00 += v0 * b0; a01 += v0 * b1; a02 += v0 * b2; a03 += v0 * b3;
                a10 += v1 * b0; a11 += v1 * b1; a12 += v1 * b2; a13 += v1 * b3;
            }
            float *o0 = out + r * ldo + j, *o1 = o0 + ldo;
            float s[8] = {F(sum)(a00), F(sum)(a01), F(sum)(a02), F(sum)(a03),
                          F(sum)(a10), F(sum)(a11), F(sum)(a12), F(sum)(a13)};
            for (int t = 0; t < 4; t++) {
                o0[t] = (accumulate ? o0[t] : 0) + s[t];
                o1[t] = (accumulate ? o1[t] : 0) + s[4 + t];
            }
        }
        if (r < rows) {
            const float *x0 = x + r * k;
            VF a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            for (size_t c = 0; c < k; c += W) {
                VF v0 = F(load)(x0 + c);
                a0 += v0 * F(load)(w0 + c); a1 += v0 * F(load)(w1 + c);
                a2 += v0 * F(load)(w2 + c); a3 += v0 * F(load)(w3 + c);
            }
            float *o0 = out + r * ldo + j;
            float s[4] = {F(sum)(a0), F(sum)(a1), F(sum)(a2), F(sum)(a3)};
            for (int t = 0; t < 4; t++) o0[t] = (accumulate ? o0[t] : 0) + s[t];
        }
    }
    for (; j < n; j++) {
        for (size_t r = 0; r < rows; r++) {
            VF a = {0};
            for (size_t c = 0; c < k; c += W) a += F(load)(x + r * k + c) * F(load)(w + j * k + c);
            out[r * ldo + j] = (accumulate ? out[r * ldo + j] : 0) + F(sum)(a);
        }
    }
}

// out[r][c] = codes[r][c] · scale[c]: int8 rows back to floats, for a scan of compressed vectors.
typedef int8_t F(vb) __attribute__((vector_size(W)));
TGT static void F(dequantize_int8)(const int8_t *codes, size_t rows, size_t dimension, const float *scale,
                                   float *out) {
    for (size_t r = 0; r < rows; r++) {
        const int8_t *in = codes + r * dimension;
        float *o = out + r * dimension;
        size_t c = 0;
        for (; c + W <= dimension; c += W) {
            F(vb) b;
            __builtin_memcpy(&b, in + c, sizeof b);
            F(store)(o + c, __builtin_convertvector(b, VF) * F(load)(scale + c));
        }
        for (; c < dimension; c++) o[c] = (float)in[c] * scale[c];
    }
}

static const struct kernel_table F(table) = {
    F(bias_gelu), F(add_layer_norm), F(softmax_rows), F(mean_pool_normalized), F(embeddings), F(exp_nonpositive),
    F(matmul_bt), F(dequantize_int8),
};

#undef VF
#undef VI
#undef ATTR
