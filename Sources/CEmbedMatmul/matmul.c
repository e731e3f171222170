#include "embed_matmul.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// libgomp's, declared here so that no OpenMP header is needed: oneDNN (Debian's build) runs on OpenMP and takes
// as many threads as the calling thread's OpenMP setting allows, which is every core by default. Each pass
// sets its own count, so that passes × threads stays within the cores.
extern void omp_set_num_threads(int);
extern int omp_get_max_threads(void);

struct embed_matmul {
    int precision;
    dnnl_data_type_t type;  // of the product's inputs: bf16 for bf16, else f32
    size_t n, k;
    const float *bias;
    const void *weight;  // f32: the caller's; bf16: `owned`
    void *owned;
    dnnl_primitive_t primitive;
    dnnl_memory_desc_t weight_desc;
};

static dnnl_engine_t engine;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void make_engine(void) {
    // Quiet unless asked: oneDNN prints nothing by default, and DNNL_VERBOSE still works for a profile.
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) engine = NULL;
}

static int cpu_has_bf16(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

int embed_matmul_available(int precision) {
    pthread_once(&engine_once, make_engine);
    if (engine == NULL) return 0;
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    switch (precision) {
    case EMBED_MATMUL_F32:
    case EMBED_MATMUL_INT8_SIMULATED:
        return (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
    case EMBED_MATMUL_BF16:
        // The conversion below needs the instruction itself, whatever oneDNN would emulate.
        return cpu_has_bf16() && (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
    default:
        return 0;
    }
}

const char *embed_matmul_isa(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

// Round to nearest even, in integers: the instruction's result for normal numbers (it flushes subnormals to
// zero, which the model never meets), for the test helper, the weights (converted once at load) and a row's tail.
static uint16_t bf16_bits(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);  // NaN stays NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

int embed_matmul_sgemm(int transpose_b, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                       const float *b, size_t ldb, float *c, size_t ldc, int threads) {
    omp_set_num_threads(threads < 1 ? 1 : threads);
    return (int)dnnl_sgemm('N', transpose_b ? 'T' : 'N', (dnnl_dim_t)m, (dnnl_dim_t)n, (dnnl_dim_t)k, alpha, a,
                           (dnnl_dim_t)lda, b, (dnnl_dim_t)ldb, 0.0f, c, (dnnl_dim_t)ldc);
}

void embed_matmul_round_bf16(const float *x, float *out, size_t count) {
    for (size_t i = 0; i < count; i++) {
        uint32_t bits = (uint32_t)bf16_bits(x[i]) << 16;
        memcpy(&out[i], &bits, 4);
    }
}

// Each row of `count` values rounded to int8 with its own symmetric scale, and scaled back.
static void round_rows_int8(const float *x, size_t rows, size_t count, float *out) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * count;
        float largest = 0;
        for (size_t i = 0; i < count; i++) largest = fmaxf(largest, fabsf(row[i]));
        float scale = largest > 0 ? largest / 127.0f : 1.0f;
        for (size_t i = 0; i < count; i++) out[r * count + i] = nearbyintf(row[i] / scale) * scale;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bf16,avx512vl")))
static void to_bf16(const float *x, uint16_t *out, size_t count) {
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m512bh pair = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
        _mm512_storeu_si512((void *)(out + i), (__m512i)pair);
    }
    for (; i < count; i++) out[i] = bf16_bits(x[i]);
}
#else
static void to_bf16(const float *x, uint16_t *out, size_t count) {
    for (size_t i = 0; i < count; i++) out[i] = bf16_bits(x[i]);
}
#endif

// The bias is added after the product, not by the primitive: oneDNN's GEMM-based matmul runs its bias pass on
// the thread count of the thread that created the primitive, not on the count each call sets, which would put
// a team of every core behind every concurrent pass. The primitive is also made on one thread, for the same
// reason, whatever the caller's setting.
static dnnl_status_t create_primitive(dnnl_primitive_desc_t *primitive_desc, const dnnl_matmul_desc_t *desc,
                                      dnnl_primitive_t *primitive) {
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    dnnl_status_t status = dnnl_primitive_desc_create(primitive_desc, desc, NULL, engine, NULL);
    if (status == dnnl_success) status = dnnl_primitive_create(primitive, *primitive_desc);
    omp_set_num_threads(threads);
    return status;
}

static void set_message(char *error, size_t size, const char *message) {
    if (error != NULL && size > 0) snprintf(error, size, "%s", message);
}

embed_matmul *embed_matmul_create(int precision, const float *w, size_t n, size_t k, const float *bias,
                                  char *error, size_t error_size) {
    char message[160];
    if (!embed_matmul_available(precision)) {
        snprintf(message, sizeof message, "this CPU has no %s kernels in oneDNN (it uses %s)",
                 precision == EMBED_MATMUL_BF16 ? "AVX512_BF16" : "AVX-512", embed_matmul_isa());
        set_message(error, error_size, message);
        return NULL;
    }
    embed_matmul *m = calloc(1, sizeof *m);
    // f32 multiplies the caller's weights in place; the others multiply a converted copy of their own.
    size_t copy_bytes = precision == EMBED_MATMUL_BF16 ? 2 : precision == EMBED_MATMUL_INT8_SIMULATED ? 4 : 0;
    void *copy = copy_bytes ? aligned_alloc(64, (n * k * copy_bytes + 63) / 64 * 64) : NULL;
    if (m == NULL || (copy_bytes && copy == NULL)) {
        set_message(error, error_size, "out of memory");
        free(copy);
        free(m);
        return NULL;
    }
    m->precision = precision;
    m->type = precision == EMBED_MATMUL_BF16 ? dnnl_bf16 : dnnl_f32;
    m->n = n;
    m->k = k;
    m->bias = bias;
    m->owned = copy;
    m->weight = copy ? copy : (const void *)w;
    if (precision == EMBED_MATMUL_BF16) {
        uint16_t *bits = copy;
        for (size_t i = 0; i < n * k; i++) bits[i] = bf16_bits(w[i]);
    } else if (precision == EMBED_MATMUL_INT8_SIMULATED) {
        round_rows_int8(w, n, k, copy);  // per output channel: a weight row is one
    }
    // Rows are a run-time dimension, so one primitive serves every pass.
    dnnl_dims_t source_dims = {DNNL_RUNTIME_DIM_VAL, (dnnl_dim_t)k};
    dnnl_dims_t weight_dims = {(dnnl_dim_t)k, (dnnl_dim_t)n};
    dnnl_dims_t output_dims = {DNNL_RUNTIME_DIM_VAL, (dnnl_dim_t)n};
    dnnl_memory_desc_t source, output;
    dnnl_status_t status;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t primitive_desc = NULL;
    // `ba`: k × n stored column by column, which is PyTorch's n × k row-major.
    if ((status = dnnl_memory_desc_init_by_tag(&source, 2, source_dims, m->type, dnnl_ab)) ||
        (status = dnnl_memory_desc_init_by_tag(&m->weight_desc, 2, weight_dims, m->type, dnnl_ba)) ||
        (status = dnnl_memory_desc_init_by_tag(&output, 2, output_dims, dnnl_f32, dnnl_ab)) ||
        (status = dnnl_matmul_desc_init(&desc, &source, &m->weight_desc, NULL, &output)) ||
        (status = create_primitive(&primitive_desc, &desc, &m->primitive))) {
        snprintf(message, sizeof message, "preparing a matrix product failed (oneDNN status %d)", (int)status);
        set_message(error, error_size, message);
        if (primitive_desc) dnnl_primitive_desc_destroy(primitive_desc);
        free(m->owned);
        free(m);
        return NULL;
    }
    dnnl_primitive_desc_destroy(primitive_desc);
    return m;
}

void embed_matmul_destroy(embed_matmul *m) {
    if (m == NULL) return;
    dnnl_primitive_destroy(m->primitive);
    free(m->owned);
    free(m);
}

size_t embed_matmul_scratch_bytes(const embed_matmul *m, size_t rows) {
    switch (m->precision) {
    case EMBED_MATMUL_BF16: return rows * m->k * 2;
    case EMBED_MATMUL_INT8_SIMULATED: return rows * m->k * 4;
    default: return 0;
    }
}

int embed_matmul_run(const embed_matmul *m, const float *x, size_t rows, float *out, void *scratch, int threads) {
    if (rows == 0) return 0;
    omp_set_num_threads(threads < 1 ? 1 : threads);
    const void *source_data = x;
    if (m->precision == EMBED_MATMUL_BF16) {
        to_bf16(x, scratch, rows * m->k);
        source_data = scratch;
    } else if (m->precision == EMBED_MATMUL_INT8_SIMULATED) {
        round_rows_int8(x, rows, m->k, scratch);
        source_data = scratch;
    }
    dnnl_dims_t source_dims = {(dnnl_dim_t)rows, (dnnl_dim_t)m->k};
    dnnl_dims_t output_dims = {(dnnl_dim_t)rows, (dnnl_dim_t)m->n};
    dnnl_memory_desc_t source_desc, output_desc;
    dnnl_memory_t source = NULL, weight = NULL, output = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_status_t status;
    // The memory objects only wrap the caller's buffers; they are per call because they are not shared safely.
    if (!(status = dnnl_memory_desc_init_by_tag(&source_desc, 2, source_dims, m->type, dnnl_ab)) &&
        !(status = dnnl_memory_desc_init_by_tag(&output_desc, 2, output_dims, dnnl_f32, dnnl_ab)) &&
        !(status = dnnl_memory_create(&source, &source_desc, engine, (void *)source_data)) &&
        !(status = dnnl_memory_create(&weight, &m->weight_desc, engine, (void *)m->weight)) &&
        !(status = dnnl_memory_create(&output, &output_desc, engine, out)) &&
        !(status = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags))) {
        dnnl_exec_arg_t arguments[3] = {{DNNL_ARG_SRC, source}, {DNNL_ARG_WEIGHTS, weight}, {DNNL_ARG_DST, output}};
        status = dnnl_primitive_execute(m->primitive, stream, 3, arguments);
        if (!status) status = dnnl_stream_wait(stream);
    }
    if (!status && m->bias != NULL) {
        for (size_t r = 0; r < rows; r++) {
            float *row = out + r * m->n;
            for (size_t j = 0; j < m->n; j++) row[j] += m->bias[j];
        }
    }
    if (stream) dnnl_stream_destroy(stream);
    if (source) dnnl_memory_destroy(source);
    if (weight) dnnl_memory_destroy(weight);
    if (output) dnnl_memory_destroy(output);
    return (int)status;
}
