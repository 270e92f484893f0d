#!/usr/bin/env python3
"""Rebuilds models/l2_supercat/ from the wordllama wheel (see models/l2_supercat/NOTICE).

    pip download --no-deps wordllama==0.4.0.post1 -d /tmp/wl
    pip install numpy safetensors
    python3 scripts/make_builtin_model.py /tmp/wl/wordllama-0.4.0.post1-*.whl

Writes model.safetensors (int8 per row), tokenizer.json and LICENSE, then SHA256SUMS.
"""
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load, save_file

out = Path(__file__).resolve().parent.parent / "models" / "l2_supercat"
wheel = zipfile.ZipFile(sys.argv[1])
weights = load(wheel.read("wordllama/weights/l2_supercat_256.safetensors"))
e = weights["embedding.weight"].astype(np.float32)
amax = np.abs(e).max(axis=1)
scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
q = np.clip(np.round(e / scale[:, None]), -127, 127).astype(np.int8)
out.mkdir(parents=True, exist_ok=True)
save_file(
    {"embeddings": q, "scales": scale},
    str(out / "model.safetensors"),
    metadata={
        "source": "wordllama 0.4.0.post1 l2_supercat_256 (fp16), int8 per-row",
        "quantization": "int8 per row: value = q * scale",
    },
)
(out / "tokenizer.json").write_bytes(
    wheel.read("wordllama/tokenizers/l2_supercat_tokenizer_config.json")
)
(out / "LICENSE").write_bytes(
    wheel.read("wordllama-0.4.0.post1.dist-info/licenses/LICENSE")
)
with open(out / "SHA256SUMS", "w") as sums:
    for name in ["LICENSE", "model.safetensors", "tokenizer.json"]:
        digest = hashlib.sha256((out / name).read_bytes()).hexdigest()
        sums.write(f"{digest}  {name}\n")
