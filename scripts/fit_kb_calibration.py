#!/usr/bin/env python3
"""Fits the `kb` answer decision (src/responder/hybrid.rs: CONFIDENCE_MODEL) on the development
files only, and prints the figures per kb.confidence so that DEFAULT_CONFIDENCE can be chosen.

    for s in dev dev_terse dev_verbose; do
      KB_DUMP_CASES=$PWD/tests/data/eval/kb_$s.jsonl KB_DUMP_OUT=/tmp/ev_$s.jsonl \
        cargo nextest run --locked --run-ignored only -E 'test(dump_kb_evidence)'
    done
    python3 scripts/fit_kb_calibration.py /tmp/ev_dev.jsonl /tmp/ev_dev_terse.jsonl \
        /tmp/ev_dev_verbose.jsonl

The shipped CONFIDENCE_MODEL is the fit on the three files above (the first line printed).

Each file is one writer's wording. Besides the fit on all of them, the figures that count are
the leave-one-file-out ones: fitted on the other files, measured on the one left out, so they
say how the decision does on a writer it was not fitted on. Never run it on a held-out file: a
figure measured on data the model was fitted on says nothing. Needs numpy.
"""
import json
import sys

import numpy as np

BM25_WEIGHT, BM25_CAP = 0.25, 2.0  # hybrid.rs
FEATURES = ["fused", "margin", "dense", "bm25", "agree", "coverage"]  # then `translated`
L2 = 1.0  # ridge on the weights (not the intercept)
ROUNDS = 3  # fit, choose each case's reading by the fitted confidence, fit again


def unique_top(scores):
    """The entry a retriever puts first, or -1 when it puts none first alone (a tie)."""
    best = scores.max()
    if best <= 0 or (scores == best).sum() > 1:
        return -1
    return int(np.argmax(scores))


def evidence(v, translated):
    """The best entry of one reading and its features, as hybrid::fuse computes them."""
    b, c, d = np.array(v["bm25"]), np.array(v["cov"]), np.array(v["dense"])
    fused = d + BM25_WEIGHT * np.minimum(b, BM25_CAP) / BM25_CAP
    order = np.argsort(-fused, kind="stable")
    top, nxt = order[0], order[1]
    agree = float(unique_top(b) == top and unique_top(d) == top)
    f = dict(fused=fused[top], margin=fused[top] - fused[nxt], dense=d[top],
             bm25=min(b[top], BM25_CAP) / BM25_CAP, agree=agree, coverage=c[top])
    return top, [f[k] for k in FEATURES] + [float(translated)]


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def confidence(w, x):
    return sigmoid(w[0] + np.dot(w[1:], x))


def choose(row, w):
    """The reading Kb::retrieve_for answers from: the one whose best entry is likeliest right
    (before any fit: the whole text, in English words when translated)."""
    readings = [(name, name.endswith("tr")) for name in row["v"]]
    if w is None:
        name = "tr" if "tr" in row["v"] else "orig"
        return evidence(row["v"][name], name == "tr")
    return max((evidence(row["v"][n], t) for n, t in readings), key=lambda e: confidence(w, e[1]))


def table(rows, w):
    x, y = [], []
    for r in rows:
        top, f = choose(r, w)
        x.append(f)
        y.append(float(r["expect"] == "answer" and r["ids"][top] == r["entry"]))
    return np.array(x), np.array(y)


def fit_once(x, y):
    x = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(x.shape[1])
    ridge = L2 * np.diag(np.r_[0, np.ones(len(w) - 1)])
    for _ in range(50):  # Newton's method
        p = sigmoid(x @ w)
        grad = x.T @ (p - y) + ridge @ w
        hess = (x.T * (p * (1 - p))) @ x + ridge
        w -= np.linalg.solve(hess, grad)
    return w


def fit(rows):
    w = None
    for _ in range(ROUNDS):
        w = fit_once(*table(rows, w))
    return w


def figures(rows, w, th):
    """English right, English uncovered answered, all right, all uncovered answered."""
    x, y = table(rows, w)
    p = np.array([confidence(w, f) for f in x])
    out = []
    for lang in ["en", None]:
        sel = [i for i, r in enumerate(rows) if lang is None or r["lang"] == lang]
        ans = [i for i in sel if rows[i]["expect"] == "answer"]
        unc = [i for i in sel if rows[i]["expect"] != "answer"]
        out.append(sum(y[i] == 1 and p[i] >= th for i in ans) / max(1, len(ans)))
        out.append(sum(p[i] >= th for i in unc) / max(1, len(unc)))
    return out


def main(paths):
    files = {p: [json.loads(line) for line in open(p)] for p in paths}
    every = [r for rows in files.values() for r in rows]
    w = np.round(fit(every), 3)
    print("CONFIDENCE_MODEL =", w.tolist())
    # With one file there is no other writer to fit on: the in-sample figures only.
    held = {p: fit([r for q, rows in files.items() if q != p for r in rows])
            for p in paths if len(paths) > 1}
    print("kb.confidence: English right / English uncovered answered / all right / all uncovered")
    print("answered; 'fit' = on all files (in-sample), then each file fitted on the others")
    for th in np.arange(0.5, 0.9, 0.025):
        line = f"{th:6.3f}  fit " + " ".join(f"{v:.3f}" for v in figures(every, w, th))
        for p in held:
            line += f" | {p.rsplit('/', 1)[-1][:14]} " + " ".join(f"{v:.3f}" for v in figures(files[p], held[p], th))
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:] or ["/tmp/ev_dev.jsonl"])
