#!/usr/bin/env bash
# Runs the whole test suite under AddressSanitizer, then ThreadSanitizer, each in its own build folder
# (.build-asan, .build-tsan) so the normal .build is untouched. Usage: scripts/sanitizers.sh [address|thread]...
# The end-to-end tests run the sanitized `embed` built next to the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)
for sanitizer in "${sanitizers[@]}"; do
    case $sanitizer in
        address) scratch=.build-asan ;;
        thread) scratch=.build-tsan ;;
        *) echo "unknown sanitizer: $sanitizer" >&2; exit 2 ;;
    esac
    start=$(date +%s)
    swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch"
    built=$(date +%s)
    # No leak checking: LeakSanitizer reports what Foundation (Process, FileManager, strdup in
    # URLSession) and the Swift runtime still hold at exit, in every process, which fails every
    # end-to-end test. Leaks are not memory errors; ASan still stops at the first one of those.
    # EMBED_SANITIZER stretches the tests' "ends soon" bounds and skips their memory bounds (TestTiming).
    # Two runs, as in scripts/test.sh: the PostgreSQL suite on its own.
    for selection in "--skip PostgresStoreCLITests" "--filter PostgresStoreCLITests"; do
        # shellcheck disable=SC2086
        EMBED_SANITIZER=$sanitizer \
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1} \
        TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1} \
            swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" $selection
    done
    echo "$sanitizer sanitizer: build $((built - start))s, tests $(($(date +%s) - built))s" >&2
done
