#!/usr/bin/env bash
# Fuzzes the parts of embed that read untrusted bytes with libFuzzer, under AddressSanitizer.
#
#   scripts/fuzz.sh [--seconds N] [TARGET...]      (default: 60 s for each of every target)
#
# Targets: decode html xml markdown chunker tokenizer safetensors response gzip request (Sources/EmbedFuzzChecks).
# Each starts from its seeds (fuzz/seeds/TARGET) and the inputs it found before (.build-fuzz/corpus/TARGET,
# not committed). A crash, a failed check, a hang (one input over 10 s), a leak, or more than 2 GiB of memory
# stops the target; the input is saved under .build-fuzz/artifacts/TARGET/ and the script exits 1. Replay one
# with `.build-fuzz/debug/embed-fuzz --target=TARGET FILE`; once fixed, copy it into fuzz/regressions/TARGET/,
# where the test suite runs it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
targets=()
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --seconds=*) seconds=${1#--seconds=}; shift ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(decode html xml markdown chunker tokenizer safetensors response gzip request vectorfile)

scratch=.build-fuzz
[ -f models/all-MiniLM-L6-v2/vocab.txt ] || scripts/fetch-model.sh   # the tokenizer target needs its vocabulary
start=$(date +%s)
EMBED_FUZZ=1 swift build --product embed-fuzz --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address
echo "fuzz.sh: built in $(($(date +%s) - start)) s" >&2
fuzzer=$scratch/debug/embed-fuzz
# Swift's own crash backtracer would catch the signals that libFuzzer and AddressSanitizer report through.
export SWIFT_BACKTRACE=enable=no
# Shorter allocation stacks: the checks allocate a lot, and recording 30 frames per malloc halves the speed.
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=10}

summary=$scratch/summary.tsv
printf 'target\tseconds\truns\tcorpus\tresult\n' > "$summary"
failed=0
for target in "${targets[@]}"; do
    [ -d "fuzz/seeds/$target" ] || { echo "fuzz.sh: no target $target (no fuzz/seeds/$target)" >&2; exit 2; }
    corpus=$scratch/corpus/$target
    artifacts=$scratch/artifacts/$target
    log=$scratch/logs/$target.log
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    dictionary=()
    [ -f "fuzz/dictionaries/$target.dict" ] && dictionary=(-dict="fuzz/dictionaries/$target.dict")
    result=ok
    # -use_value_profile helps through the byte comparisons of parsers; detect_leaks is on (ASan's default).
    if ! "$fuzzer" --target="$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -use_value_profile=1 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "${dictionary[@]}" "$corpus" "fuzz/seeds/$target" > "$log" 2>&1; then
        result="FAILED (see $log)"
        failed=1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    files=$(find "$corpus" -type f | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\n' "$target" "$seconds" "${runs:-?}" "$files" "$result" >> "$summary"
    echo "fuzz.sh: $target: ${runs:-?} inputs in $seconds s, corpus $files, $result" >&2
    if [ "$result" != ok ]; then grep -E -m 20 'ERROR|embed-fuzz:|SUMMARY|Test unit written|artifact' "$log" >&2 || true; fi
done
column -t -s $'\t' "$summary"
exit $failed
