//! Web app (placeholder, being written).
