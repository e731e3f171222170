// The declarations are in include/CEmbedFuzzer.h; libFuzzer itself is linked by -sanitize=fuzzer.
#include "CEmbedFuzzer.h"
