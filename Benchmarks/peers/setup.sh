#!/usr/bin/env bash
# Installs the peers into WORK (default ~/.cache/vtp-peers): a Python virtual environment with PyTorch (CPU) and
# transformers, and llama.cpp as vendored in llama-cpp-python 0.3.36, built from source with native flags
# (llama-bench, llama-quantize, llama-mtmd-cli; its converter scripts and gguf-py come with the source).
# Usage: Benchmarks/peers/setup.sh [WORK]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-$HOME/.cache/vtp-peers}"
mkdir -p "$work"
python3 -m venv "$work/venv"
pip="$work/venv/bin/pip"
"$pip" install --quiet --find-links "${TORCH_FIND_LINKS:-/opt/wheels}" -r "$here/requirements.txt"
"$pip" install --quiet cmake==3.31.6
if [ ! -d "$work/llama_cpp_python-0.3.36" ]; then
    "$pip" download --quiet --no-deps --no-binary llama-cpp-python -d "$work" llama-cpp-python==0.3.36
    tar -xzf "$work/llama_cpp_python-0.3.36.tar.gz" -C "$work"
fi
llama="$work/llama_cpp_python-0.3.36/vendor/llama.cpp"
"$pip" install --quiet -e "$llama/gguf-py"
"$work/venv/bin/cmake" -S "$llama" -B "$work/llama-build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF
"$work/venv/bin/cmake" --build "$work/llama-build" -j "$(nproc)" --target llama-bench llama-quantize llama-mtmd-cli
echo "peers installed in $work: $work/venv/bin/python, $work/llama-build/bin/{llama-bench,llama-quantize,llama-mtmd-cli}"
