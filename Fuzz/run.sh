#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer + AddressSanitizer and runs one of them.
# usage: Fuzz/run.sh TARGET [libFuzzer options...]   e.g. Fuzz/run.sh FuzzSafetensors -max_total_time=600
set -euo pipefail
cd "$(dirname "$0")"
target="${1:?usage: run.sh FuzzSafetensors|FuzzConfiguration|FuzzPortablePixmap|FuzzEvaluationSet|FuzzImageCodecs|FuzzTokenizer|FuzzChatTemplate|FuzzPreprocessorConfig|FuzzPrefixKVProfile|FuzzCheckpointIndex|FuzzGGUF [libFuzzer options]}"
shift
swift build -c release --product "$target" --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -g
mkdir -p "corpus/$target" "crashes/$target"
seeds="seeds/$target"
exec ".build-fuzz/release/$target" "corpus/$target" ${seeds:+$( [ -d "$seeds" ] && echo "$seeds")} \
    -artifact_prefix="crashes/$target/" -print_final_stats=1 "$@"
