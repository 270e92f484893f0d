#!/usr/bin/env python3
"""Fits the `kb` answer decision (src/responder/hybrid.rs: CONFIDENCE_MODEL) on the development
file only, and prints the figures per kb.confidence so that DEFAULT_CONFIDENCE can be chosen.

    KB_DUMP_CASES=$PWD/tests/data/eval/kb_dev.jsonl KB_DUMP_OUT=/tmp/kb_dev_evidence.jsonl \
        cargo nextest run --locked --run-ignored only -E 'test(dump_kb_evidence)'
    python3 scripts/fit_kb_calibration.py /tmp/kb_dev_evidence.jsonl

Never run it on the held-out file: a figure measured on data the model was fitted on says
nothing. Needs numpy.
"""
import json
import sys

import numpy as np

BM25_WEIGHT, BM25_CAP = 0.25, 2.0  # hybrid.rs
FEATURES = ["fused", "margin", "dense", "bm25", "agree", "coverage"]  # then `translated`
L2 = 1.0  # ridge on the weights (not the intercept): 240 cases, few features


def unique_top(scores):
    """The entry a retriever puts first, or -1 when it puts none first alone (a tie)."""
    best = scores.max()
    if best <= 0 or (scores == best).sum() > 1:
        return -1
    return int(np.argmax(scores))


def evidence(v):
    """The evidence of the best entry of one reading, as hybrid::fuse computes it."""
    b, c, d = np.array(v["bm25"]), np.array(v["cov"]), np.array(v["dense"])
    fused = d + BM25_WEIGHT * np.minimum(b, BM25_CAP) / BM25_CAP
    order = np.argsort(-fused, kind="stable")
    top, nxt = order[0], order[1]
    agree = float(unique_top(b) == top and unique_top(d) == top)
    return top, dict(fused=fused[top], margin=fused[top] - fused[nxt], dense=d[top],
                     bm25=min(b[top], BM25_CAP) / BM25_CAP, agree=agree, coverage=c[top])


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def fit(x, y):
    x = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(x.shape[1])
    ridge = L2 * np.diag(np.r_[0, np.ones(len(w) - 1)])
    for _ in range(50):  # Newton's method
        p = sigmoid(x @ w)
        grad = x.T @ (p - y) + ridge @ w
        hess = (x.T * (p * (1 - p))) @ x + ridge
        w -= np.linalg.solve(hess, grad)
    return w


def main(path):
    rows = [json.loads(line) for line in open(path)]
    x, y = [], []
    for r in rows:
        # Fitted on the reading the bot uses: the translation when there is one (English
        # texts have none).
        name = "tr" if "tr" in r["v"] else "orig"
        top, f = evidence(r["v"][name])
        x.append([f[k] for k in FEATURES] + [float(name == "tr")])
        y.append(float(r["expect"] == "answer" and r["ids"][top] == r["entry"]))
    w = np.round(fit(np.array(x), np.array(y)), 3)
    print("CONFIDENCE_MODEL =", w.tolist())
    p = sigmoid(np.hstack([np.ones((len(x), 1)), np.array(x)]) @ w)
    right = np.array(y) == 1
    print("confidence  en right  en uncovered answered  all right  all uncovered answered")
    for th in np.arange(0.5, 0.9, 0.025):
        figs = []
        for lang in ["en", None]:
            sel = [i for i, r in enumerate(rows) if lang is None or r["lang"] == lang]
            ans = [i for i in sel if rows[i]["expect"] == "answer"]
            unc = [i for i in sel if rows[i]["expect"] != "answer"]
            figs.append(sum(right[i] and p[i] >= th for i in ans) / len(ans))
            figs.append(sum(p[i] >= th for i in unc) / len(unc))
        print(f"{th:10.3f}  {figs[0]:8.3f}  {figs[1]:21.3f}  {figs[2]:9.3f}  {figs[3]:22.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/kb_dev_evidence.jsonl")
