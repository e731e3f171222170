#ifndef CEMBED_FUZZER_H
#define CEMBED_FUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for programs with their own main (https://llvm.org/docs/LibFuzzer.html):
/// parses libFuzzer's flags from argv and runs `callback` on each input. Linked by `-sanitize=fuzzer`.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
