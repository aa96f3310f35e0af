//! Phone numbers (placeholder).
