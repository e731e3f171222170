#ifndef CEMBED_CRC32C_H
#define CEMBED_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli) of `length` bytes, continuing from `crc` (0 to start).
/// Uses the SSE4.2 `crc32` instruction when the CPU has it (checked once, at run time), else a table.
uint32_t embed_crc32c(uint32_t crc, const void *data, size_t length);

/// The same checksum, always computed with the portable table (so tests can compare both paths).
uint32_t embed_crc32c_portable(uint32_t crc, const void *data, size_t length);

/// 1 when `embed_crc32c` uses the CPU instruction.
int embed_crc32c_hardware(void);

#endif
