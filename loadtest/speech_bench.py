#!/usr/bin/env python3
"""Speech benchmark: Stratus (`stratus speech`, over HTTP) against faster-whisper
(CTranslate2) on the same tiny.en weights, the same audio and the same decoding
settings, in one run. Driven by `speech-vs-faster-whisper.sh`.

Decoding, both sides: English, greedy (beam 1, best_of 1), temperature 0 with
no fallback, previous text as the prompt, no VAD. Short clips (one window
each) are decoded without timestamp tokens (`<|notimestamps|>`): Stratus's
`response_format=json`, faster-whisper's `without_timestamps=True`. Long audio
is decoded with timestamp tokens, so that each window ends at its last
complete segment and the next starts there (without them both sides cut
words at every 30 s boundary and lose a third of the words): Stratus's
`response_format=verbose_json`, faster-whisper's `without_timestamps=False`.
Otherwise faster-whisper gets `beam_size=1, best_of=1, temperature=0.0,
vad_filter=False, word_timestamps=False`.

Audio: the pocketsphinx-testdata LibriVox (5) and cards (5) utterances as
separate requests ("clips"), and all ten joined with 0.5 s gaps, four times
over, as one 2.3-minute file ("long"). Real-time factor here is audio seconds
over wall seconds (higher is faster), summed over every stream of a run.

Stratus runs once per engine asked for (`--engines`: `candle`, and
whisper.cpp with f16, q8_0 or q5_0 weights), each its own server on the
same model; every ratio is Stratus on its default engine (the first listed)
over the row's configuration.

Each side is timed in rounds that alternate between the configurations, so
background load (other builds on the machine) hits them alike; medians are
reported. Peak RSS: faster-whisper runs each configuration in a fresh process
(its own VmHWM); Stratus is one server process for the whole run (VmHWM at the
end, load and every request included).
"""

import argparse
import concurrent.futures as cf
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
import wave

import numpy as np

TESTDATA = os.environ.get("STRATUS_TESTDATA", "/root/.cache/stratus-ci/testdata")
DATA = os.path.join(TESTDATA, "usr/share/pocketsphinx/test/data")

NUMBERS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
    "eleven": "11", "twelve": "12",
}


def normalise(text):
    """Lower case, hyphens to spaces, no punctuation, number words as digits
    (the cards say "ten of clubs", Whisper writes "10 of clubs")."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^\w\s]", "", text)
    words = [NUMBERS.get(w, w) for w in text.split()]
    return " ".join(words)


def wer(refs, hyps):
    import jiwer

    return jiwer.wer([normalise(r) for r in refs], [normalise(h) for h in hyps])


def read_wav(path):
    with wave.open(path) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def write_wav(path, samples):
    pcm = np.clip(samples * 32768.0, -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())


def transcripts(folder, listing):
    refs = {}
    for line in open(os.path.join(DATA, folder, listing)):
        m = re.match(r"\s*<s>(.*)</s>\s*\((.*)\)", line)
        if m:
            refs[m.group(2).strip()] = m.group(1).strip()
    return refs


def prepare(work):
    """Write clips/*.wav, long.wav and refs.json under `work`."""
    os.makedirs(os.path.join(work, "clips"), exist_ok=True)
    clips = []
    for folder, listing in (("librivox", "transcription"), ("cards", "cards.transcription")):
        for name, ref in sorted(transcripts(folder, listing).items()):
            samples = read_wav(os.path.join(DATA, folder, name + ".wav"))
            out = os.path.join(work, "clips", f"{folder}-{name}.wav")
            write_wav(out, samples)
            clips.append({"path": out, "ref": ref, "seconds": len(samples) / 16000})
    gap = np.zeros(8000, dtype=np.float32)
    pieces, refs = [], []
    for _ in range(4):
        for c in clips:
            pieces += [read_wav(c["path"]), gap]
            refs.append(c["ref"])
    long_samples = np.concatenate(pieces)
    long_path = os.path.join(work, "long.wav")
    write_wav(long_path, long_samples)
    sets = {
        "clips": clips,
        "long": [{"path": long_path, "ref": " ".join(refs), "seconds": len(long_samples) / 16000}],
    }
    with open(os.path.join(work, "sets.json"), "w") as f:
        json.dump(sets, f, indent=1)
    return sets


# Which sets are decoded with timestamp tokens (see the module doc).
TIMESTAMPS = {"clips": False, "long": True}


def run_streams(items, streams, transcribe, timestamps):
    """Every stream transcribes every item (streams start at different items).
    Returns (audio seconds, wall seconds, hypotheses of stream 0 in item order)."""

    def one(stream):
        texts = [None] * len(items)
        for k in range(len(items)):
            i = (k + stream) % len(items)
            texts[i] = transcribe(items[i]["path"], timestamps)
        return texts

    start = time.perf_counter()
    with cf.ThreadPoolExecutor(streams) as pool:
        results = list(pool.map(one, range(streams)))
    wall = time.perf_counter() - start
    audio = streams * sum(it["seconds"] for it in items)
    return audio, wall, results[0]


def stratus_transcriber(url):
    import requests

    session_per_thread = {}

    def transcribe(path, timestamps):
        import threading

        s = session_per_thread.setdefault(threading.get_ident(), requests.Session())
        with open(path, "rb") as f:
            r = s.post(
                url + "/v1/audio/transcriptions",
                files={"file": (os.path.basename(path), f, "audio/wav")},
                data={"model": "whisper-tiny.en",
                      "response_format": "verbose_json" if timestamps else "json",
                      "language": "en", "temperature": "0"},
                timeout=600,
            )
        r.raise_for_status()
        return r.json()["text"]

    return transcribe


def cmd_fw(args):
    """One faster-whisper configuration in this (fresh) process; prints JSON."""
    from faster_whisper import WhisperModel

    sets = json.load(open(os.path.join(args.work, "sets.json")))
    model = WhisperModel(args.model_dir, device="cpu", compute_type=args.compute,
                         cpu_threads=args.cpu_threads, num_workers=args.num_workers)

    def transcribe(path, timestamps):
        segments, _ = model.transcribe(
            read_wav(path), language="en", task="transcribe", beam_size=1, best_of=1,
            temperature=0.0, without_timestamps=not timestamps, condition_on_previous_text=True,
            vad_filter=False, word_timestamps=False)
        return "".join(s.text for s in segments).strip()

    transcribe(sets["clips"][0]["path"], False)  # warm-up
    out = {}
    for name in args.sets.split(","):
        items = sets[name]
        audio, wall, hyps = run_streams(items, args.streams, transcribe, TIMESTAMPS[name])
        out[name] = {"rtf": audio / wall, "wall": wall, "audio": audio,
                     "wer": wer([i["ref"] for i in items], hyps), "hyps": hyps}
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def vm_hwm_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cmd_bench(args):
    sets = prepare(args.work)
    set_names = args.sets.split(",")
    # LABEL=URL@PID, one per Stratus server (engine); the first is the
    # reference of the ratios.
    servers = []
    for spec in args.stratus:
        label, rest = spec.split("=", 1)
        url, pid = rest.rsplit("@", 1)
        servers.append((label, url, int(pid)))
    transcribers = {label: stratus_transcriber(url) for label, url, _ in servers}
    for transcribe in transcribers.values():
        transcribe(sets["clips"][0]["path"], False)  # warm-up
    configs = []
    for streams in [int(s) for s in args.streams.split(",")]:
        for label, _, _ in servers:
            configs.append((label, None, streams))
        for compute in args.computes.split(","):
            configs.append(("faster-whisper", compute, streams))
    runs = {}
    rss = {}
    for rnd in range(args.rounds):
        order = configs if rnd % 2 == 0 else list(reversed(configs))
        for side, compute, streams in order:
            key = f"{side}{'-' + compute if compute else ''} x{streams}"
            load = os.getloadavg()[0]
            if side in transcribers:
                res = {}
                for name in set_names:
                    items = sets[name]
                    audio, wall, hyps = run_streams(items, streams, transcribers[side], TIMESTAMPS[name])
                    res[name] = {"rtf": audio / wall, "wall": wall,
                                 "wer": wer([i["ref"] for i in items], hyps), "hyps": hyps}
            else:
                workers = min(streams, args.fw_max_workers)
                cmd = [sys.executable, __file__, "fw", "--work", args.work,
                       "--model-dir", args.model_dir, "--compute", compute,
                       "--streams", str(streams), "--sets", args.sets,
                       "--num-workers", str(workers),
                       "--cpu-threads", str(max(1, args.cores // workers))]
                res = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                                text=True).stdout)
                rss[key] = max(rss.get(key, 0), res.pop("peak_rss_mb"))
            runs.setdefault(key, []).append(res)
            summary = " ".join(f"{n}: {res[n]['rtf']:.1f}x wer {res[n]['wer']:.3f}" for n in set_names)
            print(f"round {rnd + 1} {key:34} {summary} (load {load:.1f})", flush=True)
    for label, _, pid in servers:
        rss[label] = vm_hwm_mb(pid)

    reference = servers[0][0]
    print()
    header = "| configuration | " + " | ".join(
        f"{n} ×RT (median) | {n} WER" for n in set_names) + f" | peak RSS MB | {reference} / this |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    medians = {k: {n: statistics.median(r[n]["rtf"] for r in v) for n in set_names}
               for k, v in runs.items()}
    for key, v in runs.items():
        side, streams = key.rsplit(" x", 1)
        ours = medians[f"{reference} x{streams}"]
        cells = []
        for n in set_names:
            cells.append(f"{medians[key][n]:.1f}")
            cells.append(f"{v[0][n]['wer'] * 100:.1f}%")
        ratio = " / ".join(f"{ours[n] / medians[key][n]:.2f}" for n in set_names)
        mem = rss[side] if side in transcribers else rss[key]
        print(f"| {key} | " + " | ".join(cells) + f" | {mem:.0f} | {ratio} |")
    with open(os.path.join(args.work, "speech-results.json"), "w") as f:
        json.dump({"runs": runs, "rss_mb": rss, "medians": medians}, f, indent=1)
    for key, v in runs.items():
        if key.endswith("x1"):
            for n in set_names:
                print(f"\n{key} {n} hypothesis 0: {v[0][n]['hyps'][0][:300]}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--work", required=True)
    b.add_argument("--stratus", action="append", required=True, metavar="LABEL=URL@PID",
                   help="a Stratus speech server (one per engine); the first is the ratios' reference")
    b.add_argument("--model-dir", required=True, help="the CTranslate2 tiny.en folder")
    b.add_argument("--rounds", type=int, default=3)
    b.add_argument("--streams", default="1,4")
    b.add_argument("--computes", default="int8,float32")
    b.add_argument("--sets", default="clips,long")
    b.add_argument("--cores", type=int, default=os.cpu_count())
    b.add_argument("--fw-max-workers", type=int, default=2,
                   help="CTranslate2 model replicas for concurrent streams; each gets cores/workers threads")
    f = sub.add_parser("fw")
    f.add_argument("--work", required=True)
    f.add_argument("--model-dir", required=True)
    f.add_argument("--compute", required=True)
    f.add_argument("--streams", type=int, default=1)
    f.add_argument("--sets", default="clips,long")
    f.add_argument("--cpu-threads", type=int, default=os.cpu_count())
    f.add_argument("--num-workers", type=int, default=1)
    args = p.parse_args()
    {"bench": cmd_bench, "fw": cmd_fw}[args.cmd](args)


if __name__ == "__main__":
    main()
