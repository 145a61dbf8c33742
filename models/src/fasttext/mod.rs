//! PLACEHOLDER: fasttext models.
