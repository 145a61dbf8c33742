#!/usr/bin/env python3
"""Embeddings benchmark: Stratus `POST /v1/embeddings` (over HTTP) against
sentence-transformers (PyTorch, CPU) on the same all-MiniLM-L6-v2 folder, the
same 1000 sentences and the same cores, in one run. Driven by
`embeddings-vs-sentence-transformers.sh`.

Sentences: the first 1000 distinct sentences (cut at . ! ? ; :) of 20 to 400 characters from the
licence texts in /usr/share/common-licenses (plain English prose of varied
length; the same on every Debian machine), in file order.

Batch 1: one sentence per request (per `encode` call), one after another.
Batch 32: 32 sentences per request (per `encode(batch_size=32)` call).
Throughput is sentences over the wall time of all calls; latency is per call.
Both sides alternate in rounds (background load hits them alike) and the
medians are reported. The first round also checks that both give the same
vectors (cosine).
"""

import argparse
import glob
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

import numpy as np


def sentences(n):
    seen, out = set(), []
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        text = re.sub(r"\s+", " ", open(path, errors="replace").read())
        for s in re.split(r"(?<=[.!?;:])\s+", text):
            s = s.strip()
            if 20 <= len(s) <= 400 and s not in seen:
                seen.add(s)
                out.append(s)
                if len(out) == n:
                    return out
    raise SystemExit(f"only {len(out)} sentences found")


def timed_calls(texts, batch, call):
    latencies, vectors = [], []
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        t = time.perf_counter()
        vectors.extend(call(texts[i:i + batch]))
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - start
    lat = sorted(latencies)
    return {
        "sent_per_s": len(texts) / wall,
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
    }, np.asarray(vectors, dtype=np.float32)


def stratus_call(url, model):
    import base64

    import requests

    session = requests.Session()

    def call(batch):
        r = session.post(url + "/v1/embeddings", json={
            "model": model, "input": batch, "encoding_format": "base64"}, timeout=600)
        r.raise_for_status()
        data = sorted(r.json()["data"], key=lambda d: d["index"])
        return [np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in data]

    return call


def cmd_st(args):
    """sentence-transformers in this (fresh) process; prints JSON."""
    import torch

    torch.set_num_threads(args.threads)
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(args.model_dir, device="cpu")
    texts = sentences(args.n)

    def call(batch):
        return model.encode(batch, batch_size=len(batch), normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)

    call(texts[:32])  # warm-up
    out = {}
    for b in [int(x) for x in args.batches.split(",")]:
        out[str(b)], vectors = timed_calls(texts, b, call)
    np.save(os.path.join(args.work, "st-vectors.npy"), vectors)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["torch"] = torch.__version__
    print(json.dumps(out))


def vm_hwm_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cmd_bench(args):
    os.makedirs(args.work, exist_ok=True)
    texts = sentences(args.n)
    call = stratus_call(args.url, args.model)
    call(texts[:32])  # warm-up
    batches = [int(x) for x in args.batches.split(",")]
    runs = {"stratus": [], "sentence-transformers": []}
    st_rss = 0.0
    cosine = None
    for rnd in range(args.rounds):
        sides = ["stratus", "sentence-transformers"]
        if rnd % 2:
            sides.reverse()
        for side in sides:
            load = os.getloadavg()[0]
            if side == "stratus":
                res = {}
                for b in batches:
                    res[str(b)], ours = timed_calls(texts, b, call)
            else:
                cmd = [sys.executable, __file__, "st", "--work", args.work, "--model-dir",
                       args.model_dir, "--n", str(args.n), "--batches", args.batches,
                       "--threads", str(args.threads)]
                res = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                                text=True).stdout)
                st_rss = max(st_rss, res.pop("peak_rss_mb"))
                torch_version = res.pop("torch")
            runs[side].append(res)
            line = " ".join(f"b{b}: {res[str(b)]['sent_per_s']:.0f}/s p50 {res[str(b)]['p50_ms']:.1f} ms"
                            for b in batches)
            print(f"round {rnd + 1} {side:22} {line} (load {load:.1f})", flush=True)
        if cosine is None:
            theirs = np.load(os.path.join(args.work, "st-vectors.npy"))
            cosine = float(np.min(np.sum(ours * theirs, axis=1)
                                  / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)))
    rss = {"stratus": vm_hwm_mb(args.server_pid), "sentence-transformers": st_rss}

    def med(side, b, field):
        return statistics.median(r[str(b)][field] for r in runs[side])

    print(f"\nsentence-transformers on torch {torch_version}, {args.threads} threads; "
          f"lowest cosine between the two sides' vectors: {cosine:.6f}\n")
    print("| side | batch | sentences/s (median) | p50 ms | p99 ms | peak RSS MB | Stratus / ST throughput |")
    print("|---|---|---|---|---|---|---|")
    for b in batches:
        for side in runs:
            ratio = med("stratus", b, "sent_per_s") / med("sentence-transformers", b, "sent_per_s")
            print(f"| {side} | {b} | {med(side, b, 'sent_per_s'):.0f} | {med(side, b, 'p50_ms'):.1f} "
                  f"| {med(side, b, 'p99_ms'):.1f} | {rss[side]:.0f} | "
                  f"{ratio:.2f} |" if side == "stratus" else
                  f"| {side} | {b} | {med(side, b, 'sent_per_s'):.0f} | {med(side, b, 'p50_ms'):.1f} "
                  f"| {med(side, b, 'p99_ms'):.1f} | {rss[side]:.0f} | |")
    with open(os.path.join(args.work, "embeddings-results.json"), "w") as f:
        json.dump({"runs": runs, "rss_mb": rss, "min_cosine": cosine}, f, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("bench", "st"):
        s = sub.add_parser(name)
        s.add_argument("--work", required=True)
        s.add_argument("--model-dir", required=True, help="the all-MiniLM-L6-v2 folder")
        s.add_argument("--n", type=int, default=1000)
        s.add_argument("--batches", default="1,32")
        s.add_argument("--threads", type=int, default=os.cpu_count())
        if name == "bench":
            s.add_argument("--url", required=True)
            s.add_argument("--server-pid", type=int, required=True)
            s.add_argument("--model", default="all-minilm-l6-v2")
            s.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    {"bench": cmd_bench, "st": cmd_st}[args.cmd](args)


if __name__ == "__main__":
    main()
