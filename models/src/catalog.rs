//! PLACEHOLDER catalog
