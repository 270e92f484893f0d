#!/usr/bin/env python3
"""Checks tests/data/eval/intent_heldout2.jsonl (adapted from tests/data/eval/check_intent.py):
every line parses, fields are valid, no text repeats (within the file, and none equal to a
text of kb_heldout2.jsonl), previous/answered are consistent, label totals match the plan;
prints counts per label and language. Prints OK and exits 0, or exits 1 on any problem."""
import json, sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILE = HERE / "intent_heldout2.jsonl"
OTHER = HERE / "kb_heldout2.jsonl"
LANGS = {"en", "fr", "de", "es", "it", "nl", "pt"}
EXPECTS = {"handover", "smalltalk", "none"}
REASONS = {"requested", "frustrated"}
KEYS = {"text", "expect", "lang", "reason", "previous", "answered"}
WANT = {"handover/requested": 50, "handover/frustrated": 45, "none": 70, "smalltalk": 45}

def label(r):
    return f"handover/{r['reason']}" if r["expect"] == "handover" else r["expect"]

def norm(t):
    return " ".join(t.strip().lower().split())

def check(path):
    errors, recs = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{n}"
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{where}: not JSON ({e})")
            continue
        if not isinstance(r, dict):
            errors.append(f"{where}: not an object"); continue
        bad = set(r) - KEYS
        if bad:
            errors.append(f"{where}: unknown keys {sorted(bad)}")
        if not isinstance(r.get("text"), str) or not r["text"].strip():
            errors.append(f"{where}: text missing or empty")
        if r.get("expect") not in EXPECTS:
            errors.append(f"{where}: expect {r.get('expect')!r} not in {sorted(EXPECTS)}")
        if r.get("lang") not in LANGS:
            errors.append(f"{where}: lang {r.get('lang')!r} not in {sorted(LANGS)}")
        if r.get("expect") == "handover":
            if r.get("reason") not in REASONS:
                errors.append(f"{where}: handover needs reason in {sorted(REASONS)}, got {r.get('reason')!r}")
        elif "reason" in r:
            errors.append(f"{where}: reason only goes with expect=handover")
        if "answered" in r and not isinstance(r["answered"], bool):
            errors.append(f"{where}: answered must be true/false")
        if "previous" in r:
            p = r["previous"]
            if not (isinstance(p, list) and p and all(isinstance(x, str) and x.strip() for x in p)):
                errors.append(f"{where}: previous must be a non-empty list of strings")
            elif r.get("answered") is not True:
                errors.append(f"{where}: a repeat (previous) should carry answered: true")
        if not any(e.startswith(where + ":") for e in errors):
            recs.append(r)
    return errors, recs

def main():
    errors, seen, counts = [], set(), Counter()
    errs, recs = check(FILE)
    errors += errs
    for r in recs:
        key = norm(r["text"])
        if key in seen:
            errors.append(f"{FILE.name}: duplicate text {r['text']!r}")
        seen.add(key)
        counts[(label(r), r["lang"])] += 1
    if OTHER.exists():
        other = {norm(json.loads(l)["text"]) for l in OTHER.read_text(encoding="utf-8").splitlines() if l.strip()}
        for t in sorted(seen & other):
            errors.append(f"text also in {OTHER.name}: {t!r}")
    labels = sorted({k[0] for k in counts})
    langs = ["en", "fr", "de", "es", "it", "nl", "pt"]
    print(f"{'label':22}" + "".join(f"{l:>5}" for l in langs) + f"{'all':>6}")
    for lab in labels:
        row = [counts[(lab, l)] for l in langs]
        print(f"{lab:22}" + "".join(f"{v:>5}" for v in row) + f"{sum(row):>6}")
        if lab in WANT and sum(row) != WANT[lab]:
            errors.append(f"{lab}: {sum(row)} lines, want {WANT[lab]}")
    col = [sum(counts[(lab, l)] for lab in labels) for l in langs]
    print(f"{'all':22}" + "".join(f"{v:>5}" for v in col) + f"{sum(col):>6}")
    en_share = col[0] / max(1, sum(col))
    print(f"english share {en_share:.0%}")
    if sum(col) != 210:
        errors.append(f"{sum(col)} lines, want 210")
    if not 0.55 <= en_share <= 0.65:
        errors.append(f"english share {en_share:.0%}, want about 60%")
    for e in errors:
        print("ERROR", e, file=sys.stderr)
    if errors:
        return 1
    print("OK")
    return 0

if __name__ == "__main__":
    sys.exit(main())
