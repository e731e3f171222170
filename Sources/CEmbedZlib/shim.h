#ifndef CEMBED_ZLIB_SHIM_H
#define CEMBED_ZLIB_SHIM_H
#include <zlib.h>

// inflateInit2 is a macro (it passes zlib's version and the struct size), which Swift cannot call.
static inline int CEmbedZlib_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
#endif
