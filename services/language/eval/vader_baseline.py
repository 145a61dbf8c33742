"""The VADER lexicon baseline for the sentiment head: VADER's own analyser
(vaderSentiment 3.3.2 from PyPI) on the same held-out split, the same labels
and the same parsing as models/src/sentiment/vader.rs.

Held out: FNV-1a-64("{domain}/{id}") % 5 == 0. Labels from the mean human
valence: > 0.5 positive, < -0.5 negative, else neutral. VADER's label from
its compound score with its documented thresholds (>= 0.05 positive,
<= -0.05 negative, else neutral).

    python3 -m venv /tmp/vader && /tmp/vader/bin/pip install vaderSentiment==3.3.2
    pip download --no-deps --no-binary :all: vaderSentiment==3.3.2 -d /tmp/vader-src
    /tmp/vader/bin/python services/language/eval/vader_baseline.py /tmp/vader-src/vaderSentiment-3.3.2.tar.gz
"""
import collections
import io
import sys
import tarfile

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

DOMAINS = [
    ("movie", "movieReviewSnippets_GroundTruth.txt"),
    ("tweets", "tweets_GroundTruth.txt"),
    ("amazon", "amazonReviewSnippets_GroundTruth.txt"),
    ("nyt", "nytEditorialSnippets_GroundTruth.txt"),
]
RATINGS = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def unescape(text):
    if "&" not in text:
        return text
    for a, b in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&amp;", "&")):
        text = text.replace(a, b)
    return text


def rated(sdist):
    with tarfile.open(sdist) as outer:
        inner = tarfile.open(fileobj=io.BytesIO(outer.extractfile(RATINGS).read()))
        files = {m.name.rsplit("/", 1)[-1]: m for m in inner.getmembers()}
        for domain, name in DOMAINS:
            text = inner.extractfile(files[name]).read().decode("utf-8", "replace")
            for line in text.split("\n"):
                line = line.rstrip("\r")
                if not line.strip():
                    continue
                sid, valence, sentence = line.split("\t", 2)
                yield domain, sid.strip(), float(valence), unescape(sentence.strip())


def label(valence):
    return "positive" if valence > 0.5 else "negative" if valence < -0.5 else "neutral"


def vader_label(compound):
    return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"


def main():
    analyser = SentimentIntensityAnalyzer()
    right, total = collections.Counter(), collections.Counter()
    for domain, sid, valence, text in rated(sys.argv[1]):
        if fnv1a64(f"{domain}/{sid}".encode()) % 5 != 0:
            continue
        total[domain] += 1
        right[domain] += vader_label(analyser.polarity_scores(text)["compound"]) == label(valence)
    for domain, _ in DOMAINS:
        print(f"{domain:>6}: {right[domain] / total[domain]:.3f} of {total[domain]}")
    print(f"   all: {sum(right.values()) / sum(total.values()):.3f} of {sum(total.values())}")


if __name__ == "__main__":
    main()
