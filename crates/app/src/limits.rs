//! Per-org limits: how much one org may define or run at once, so no org can slow the
//! others down (every attribute is an index on the users table all orgs share) or
//! fill the disk. Checked by the use cases that create these things; a request over a
//! limit is refused with a message naming the limit.

/// The limits of one deployment; [`Limits::default`] is what `steward serve` uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Attributes in an org's schema.
    pub attributes_per_org: usize,
    /// Groups in an org.
    pub groups_per_org: usize,
    /// Usable (unrevoked, unexpired) API tokens of an org.
    pub tokens_per_org: usize,
    /// Import jobs of an org queued or running at once.
    pub imports_in_flight_per_org: u64,
    /// The largest uploaded import file, in bytes.
    pub upload_bytes: u64,
    /// The most an uploaded workbook's shared strings (the text of its text cells) and
    /// styles may hold unpacked: they are held in memory while its sheet is read.
    pub xlsx_in_memory_bytes: u64,
    /// The most an uploaded workbook may hold unpacked, all its parts together.
    pub xlsx_unpacked_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            attributes_per_org: 100,
            groups_per_org: 10_000,
            tokens_per_org: 100,
            imports_in_flight_per_org: 5,
            upload_bytes: 512 * 1024 * 1024,
            xlsx_in_memory_bytes: 128 * 1024 * 1024,
            xlsx_unpacked_bytes: 4 * 1024 * 1024 * 1024,
        }
    }
}

/// A size limit as people read it: `512 MiB`, `64 KiB`, `100 bytes`.
pub fn describe_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}
