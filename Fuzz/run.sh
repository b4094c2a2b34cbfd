#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer + AddressSanitizer and runs one of them.
# usage: Fuzz/run.sh TARGET [libFuzzer options...]   e.g. Fuzz/run.sh FuzzSafetensors -max_total_time=600
set -euo pipefail
cd "$(dirname "$0")"
target="${1:?usage: run.sh FuzzSafetensors|FuzzConfiguration|FuzzPortablePixmap|FuzzEvaluationSet|FuzzImageCodecs|FuzzTokenizer|FuzzChatTemplate|FuzzPreprocessorConfig|FuzzPrefixKVProfile|FuzzCheckpointIndex|FuzzGGUF|FuzzFamilyFolder|FuzzCLIPText [libFuzzer options]}"
shift
swift build -c release --product "$target" --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -g
mkdir -p "corpus/$target" "crashes/$target"
# Two-document targets take `first NUL second`: their seeds are joined here from the fixtures' own files
# (the first alone when the second is absent).
join_seed() {
    [ -f "$2" ] || return 0
    if [ -f "$3" ]; then { cat "$2"; printf '\0'; cat "$3"; } > "corpus/$target/seed-$1"; else cat "$2" > "corpus/$target/seed-$1"; fi
}
case "$target" in
FuzzFamilyFolder)
    for model in tiny-llava tiny-llava-next tiny-llava-onevision tiny-qwen2.5-vl; do
        join_seed "$model" "../../shared/fixtures/$model/config.json" "../../shared/fixtures/$model/preprocessor_config.json"
    done ;;
esac
seeds="seeds/$target"
exec ".build-fuzz/release/$target" "corpus/$target" ${seeds:+$( [ -d "$seeds" ] && echo "$seeds")} \
    -artifact_prefix="crashes/$target/" -print_final_stats=1 "$@"
