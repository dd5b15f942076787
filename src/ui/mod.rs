//! Presentation: pure functions from owned data to text.

pub mod status_text;
