//! PLACEHOLDER store
