//! The storage interface of Steward: one trait shaped like its use cases, and the blob store.
