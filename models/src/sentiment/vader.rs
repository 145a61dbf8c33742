//! VADER's human-rated sentences (Hutto & Gilbert, ICWSM 2014), as shipped
//! in `additional_resources/hutto_ICWSM_2014.tar.gz` of the vaderSentiment
//! 3.3.2 source archive: four domains, each sentence with the mean valence
//! (−4 … +4) that about 20 people gave it.
//!
//! The split is fixed and needs no file: a sentence is held out (for
//! measuring only, never training) when the FNV-1a 64-bit hash of
//! `"{domain}/{id}"` is 0 mod 5, so about 20% of each domain; the rest is
//! the train split. Labels come from the mean valence: above
//! [`POSITIVE_ABOVE`] positive, below [`NEGATIVE_BELOW`] negative, else
//! neutral.

use std::io::Read;
use std::path::Path;

use crate::{ModelError, Result};

/// Mean valence above which a sentence is labelled positive.
pub const POSITIVE_ABOVE: f32 = 0.5;
/// Mean valence below which a sentence is labelled negative.
pub const NEGATIVE_BELOW: f32 = -0.5;

/// Class indices of the head's outputs, in order.
pub const NEGATIVE: usize = 0;
pub const NEUTRAL: usize = 1;
pub const POSITIVE: usize = 2;

/// One of the four rated collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Domain {
    /// Snippets of rotten tomatoes movie reviews (10,605).
    Movie,
    /// Tweets (4,200).
    Tweets,
    /// Amazon product review sentences (3,708).
    Amazon,
    /// New York Times opinion editorial sentences (5,190).
    Nyt,
}

impl Domain {
    pub const ALL: [Domain; 4] = [Domain::Movie, Domain::Tweets, Domain::Amazon, Domain::Nyt];

    /// Short name, used in the split hash and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Movie => "movie",
            Domain::Tweets => "tweets",
            Domain::Amazon => "amazon",
            Domain::Nyt => "nyt",
        }
    }

    /// The ground-truth file of the domain inside the archive.
    fn file_name(self) -> &'static str {
        match self {
            Domain::Movie => "movieReviewSnippets_GroundTruth.txt",
            Domain::Tweets => "tweets_GroundTruth.txt",
            Domain::Amazon => "amazonReviewSnippets_GroundTruth.txt",
            Domain::Nyt => "nytEditorialSnippets_GroundTruth.txt",
        }
    }
}

/// One rated sentence.
#[derive(Debug, Clone)]
pub struct Rated {
    pub domain: Domain,
    /// The id of the ground-truth file (`"12"`, `"3_7"`).
    pub id: String,
    /// Mean human valence, −4 … +4.
    pub valence: f32,
    pub text: String,
}

impl Rated {
    /// Whether the sentence belongs to the held-out split.
    pub fn is_held_out(&self) -> bool {
        is_held_out(self.domain, &self.id)
    }

    /// Its class index ([`NEGATIVE`], [`NEUTRAL`], [`POSITIVE`]).
    pub fn label(&self) -> usize {
        label_of(self.valence)
    }
}

/// The split rule (see the module doc).
pub fn is_held_out(domain: Domain, id: &str) -> bool {
    split_bucket(domain, id) == 0
}

/// Which fifth of its domain a sentence falls in (0 is held out).
pub fn split_bucket(domain: Domain, id: &str) -> u64 {
    fnv1a64(format!("{}/{id}", domain.as_str()).as_bytes()) % 5
}

/// The class of a mean valence.
pub fn label_of(valence: f32) -> usize {
    if valence > POSITIVE_ABOVE {
        POSITIVE
    } else if valence < NEGATIVE_BELOW {
        NEGATIVE
    } else {
        NEUTRAL
    }
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Every rated sentence of the four domains in `hutto_ICWSM_2014.tar.gz`.
pub fn read_archive(path: &Path) -> Result<Vec<Rated>> {
    let what = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| ModelError::io("opening", path, e))?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
    let mut archive = tar::Archive::new(gz);
    let mut found: Vec<(Domain, String)> = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| ModelError::format(&what, format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ModelError::format(&what, e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| ModelError::format(&what, e.to_string()))?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(domain) = Domain::ALL.into_iter().find(|d| d.file_name() == name) else {
            continue;
        };
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| ModelError::format(&what, format!("{name}: {e}")))?;
        found.push((domain, String::from_utf8_lossy(&bytes).into_owned()));
    }
    found.sort_by_key(|(domain, _)| *domain);
    let mut rated = Vec::new();
    for domain in Domain::ALL {
        let Some((_, text)) = found.iter().find(|(d, _)| *d == domain) else {
            return Err(ModelError::format(
                &what,
                format!("{} is missing", domain.file_name()),
            ));
        };
        rated.extend(parse(domain, text).map_err(|detail| ModelError::format(&what, detail))?);
    }
    Ok(rated)
}

/// Lines of `id<TAB>valence<TAB>text` (CRLF endings).
fn parse(domain: Domain, text: &str) -> std::result::Result<Vec<Rated>, String> {
    let mut rated = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.splitn(3, '\t');
        let (Some(id), Some(valence), Some(sentence)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(format!(
                "{} line {}: expected id, valence and text",
                domain.file_name(),
                number + 1
            ));
        };
        let valence: f32 = valence.trim().parse().map_err(|_| {
            format!(
                "{} line {}: valence `{valence}` is not a number",
                domain.file_name(),
                number + 1
            )
        })?;
        rated.push(Rated {
            domain,
            id: id.trim().to_string(),
            valence,
            text: unescape(sentence.trim()),
        });
    }
    Ok(rated)
}

/// The tweets keep HTML's escapes (`&amp;`); undo the few that occur.
fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_split_and_parsing() {
        assert_eq!(label_of(0.51), POSITIVE);
        assert_eq!(label_of(0.5), NEUTRAL);
        assert_eq!(label_of(-0.5), NEUTRAL);
        assert_eq!(label_of(-0.6), NEGATIVE);
        // The split is a pure function of domain and id.
        let held: usize = (0..10_000)
            .filter(|i| is_held_out(Domain::Movie, &i.to_string()))
            .count();
        assert!((1_800..2_200).contains(&held), "{held}");
        assert_ne!(
            is_held_out(Domain::Movie, "1"),
            is_held_out(Domain::Movie, "4")
        );
        let parsed = parse(Domain::Tweets, "1\t2.5\tYay &amp; wow\r\n2\t-1\tmeh\r\n").unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].text, "Yay & wow");
        assert_eq!(parsed[1].label(), NEGATIVE);
        assert!(parse(Domain::Nyt, "1\tx\ttext").is_err());
        assert!(parse(Domain::Nyt, "1 only").is_err());
    }
}
