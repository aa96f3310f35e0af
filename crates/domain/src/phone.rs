//! Phone numbers in E.164 form, parsed and validated with libphonenumber's metadata
//! (as the `phonenumber` crate ships it).
//!
//! Why not just call the crate: it is correct but slow for bulk work. Its regexes live
//! in one shared, mutex-guarded LRU cache of 100 entries, far fewer than the metadata
//! has, so mixed input recompiles regexes constantly (10 µs to 2 ms a number here) and
//! two threads only contend for the lock. So this module compiles each region's
//! patterns once, on first use, into plain `regex::Regex` values (which need no lock),
//! and runs the crate's own parsing steps on them for the forms real files hold: digits
//! with spaces, dashes, dots, slashes and parentheses, with a `+`, an international
//! dialling prefix (`00`, `011`, ...) or a trunk prefix (`0`). Anything else (letters,
//! extensions, `tel:` URIs, unusual digits) goes to the crate itself, so both paths
//! give one answer.
//!
//! One deliberate difference from the crate: for a number written internationally
//! (`+55 11 ...`, `0044 ...`), the crate strips the *default* region's national prefix
//! from the foreign number (with region US, `+55 11 91234 5678` loses a `1` and becomes
//! invalid). libphonenumber uses the metadata of the number's own country there, and
//! so does this module, on both paths.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{LazyLock, OnceLock};

use phonenumber::metadata::{DATABASE, Descriptor};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Shortest and longest national significant numbers (libphonenumber's limits).
const MIN_NSN: usize = 2;
const MAX_NSN: usize = 17;

/// An ISO 3166-1 alpha-2 region known to the phone metadata, e.g. `IN` or `US`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region([u8; 2]);

impl Region {
    pub fn parse(raw: &str) -> Result<Region, PhoneError> {
        let upper = raw.trim().to_ascii_uppercase();
        match (
            upper.as_bytes(),
            db().by_region.contains_key(upper.as_str()),
        ) {
            ([a, b], true) => Ok(Region([*a, *b])),
            _ => Err(PhoneError::UnknownRegion(raw.trim().to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }

    fn id(self) -> Option<phonenumber::country::Id> {
        phonenumber::country::Id::from_str(self.as_str()).ok()
    }
}

impl FromStr for Region {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::parse(s)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Region {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Region::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A valid phone number in E.164 form (`+919876543210`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// Why a text is not a valid phone number, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the phone number is empty")]
    Empty,
    #[error("unknown region {0:?}: use a two-letter ISO country code such as IN or US")]
    UnknownRegion(String),
    #[error("{0:?} is not a phone number: it has letters or symbols that phone numbers do not")]
    NotANumber(String),
    #[error("{0:?} starts with an unknown country calling code")]
    UnknownCountryCode(String),
    #[error("{0:?} is too short to be a phone number")]
    TooShort(String),
    #[error("{0:?} is too long to be a phone number")]
    TooLong(String),
    #[error("{raw:?} is not a valid number in {country} (check for a missing or extra digit)")]
    Invalid { raw: String, country: String },
    /// A spreadsheet wrote the number in scientific notation with fewer digits than
    /// the number has (see `PhoneNumber::parse_repairing`).
    #[error(
        "{raw:?} lost its last {} to a spreadsheet's scientific notation; format the column as Text and type the numbers again",
        last_digits(.lost)
    )]
    DigitsLost { raw: String, lost: usize },
}

fn last_digits(lost: &usize) -> String {
    match lost {
        1 => "digit".to_owned(),
        n => format!("{n} digits"),
    }
}

impl PhoneNumber {
    /// Reads a number as people write it; one without a country code is read as a
    /// number of `default_region`.
    pub fn parse(raw: &str, default_region: Region) -> Result<PhoneNumber, PhoneError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let (code, national) = match simple_digits(trimmed) {
            Some((plus, digits)) => fast_parse(trimmed, plus, &digits, default_region)?,
            None => crate_parse(trimmed, default_region)?,
        };
        validate(trimmed, code, &national)
    }

    /// For values already stored or given in a URL: E.164 with or without the leading
    /// `+`; still validated.
    pub fn from_e164(raw: &str) -> Result<PhoneNumber, PhoneError> {
        let trimmed = raw.trim();
        let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::NotANumber(trimmed.to_owned()));
        }
        let (code, national) = international(trimmed, digits)?;
        validate(trimmed, code, &national)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn country_code(&self) -> u16 {
        let digits = &self.0[1..];
        (1..=3)
            .filter_map(|len| digits.get(..len)?.parse().ok())
            .find(|code| db().by_code.contains_key(code))
            .unwrap_or(0)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PhoneNumber::from_e164(s)
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        PhoneNumber::from_e164(&raw).map_err(serde::de::Error::custom)
    }
}

// ---- Compiled metadata ----------------------------------------------------------------

/// One number type's pattern and allowed lengths.
struct Desc {
    lengths: Vec<u16>,
    /// The crate matches a pattern at the start of the number (`find` at 0), so
    /// anchor only the start.
    pattern: Regex,
}

impl Desc {
    fn new(desc: &Descriptor) -> Desc {
        Desc {
            lengths: desc.possible_length().to_vec(),
            pattern: anchored(desc.national_number().as_str()),
        }
    }

    fn is_match(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && self.pattern.is_match(national)
    }
}

/// What parsing and validation need of one region, compiled once.
struct Compiled {
    general: Desc,
    general_lengths: Vec<u16>,
    general_local_lengths: Vec<u16>,
    types: Vec<Desc>,
    leading_digits: Option<Regex>,
    national_prefix: Option<String>,
    national_prefix_for_parsing: Option<Regex>,
    transform: Option<String>,
    international_prefix: Option<Regex>,
}

struct Entry {
    meta: &'static phonenumber::Metadata,
    compiled: OnceLock<Compiled>,
}

impl Entry {
    fn get(&self) -> &Compiled {
        self.compiled.get_or_init(|| {
            let m = self.meta;
            let d = m.descriptors();
            let types = [
                d.premium_rate(),
                d.toll_free(),
                d.shared_cost(),
                d.voip(),
                d.personal_number(),
                d.pager(),
                d.uan(),
                d.voicemail(),
                d.fixed_line(),
                d.mobile(),
            ];
            Compiled {
                general: Desc::new(d.general()),
                general_lengths: d.general().possible_length().to_vec(),
                general_local_lengths: d.general().possible_local_length().to_vec(),
                types: types.into_iter().flatten().map(Desc::new).collect(),
                leading_digits: m.leading_digits().map(|r| anchored(r.as_str())),
                national_prefix: m.national_prefix().map(str::to_owned),
                national_prefix_for_parsing: m
                    .national_prefix_for_parsing()
                    .map(|r| anchored(r.as_str())),
                transform: m.national_prefix_transform_rule().map(str::to_owned),
                international_prefix: m.international_prefix().map(|r| anchored(r.as_str())),
            }
        })
    }
}

struct Db {
    entries: Vec<Entry>,
    /// Calling code -> its regions' entries, main region first (as the crate orders).
    by_code: HashMap<u16, Vec<usize>>,
    by_region: HashMap<String, usize>,
}

fn db() -> &'static Db {
    static DB: LazyLock<Db> = LazyLock::new(|| {
        let mut entries: Vec<Entry> = Vec::new();
        let mut by_region: HashMap<String, usize> = HashMap::new();
        let mut by_code = HashMap::new();
        // Calling codes have 1 to 3 digits; non-geographic ones (800, 882, ...) share
        // the id "001" and are only reachable by code.
        for code in 1..1000u16 {
            let Some(regions) = DATABASE.region(&code) else {
                continue;
            };
            let mut list = Vec::new();
            for id in regions {
                let meta = match id {
                    "001" => DATABASE.by_code(&code).and_then(|m| m.into_iter().next()),
                    id => DATABASE.by_id(id),
                };
                let Some(meta) = meta else { continue };
                let index = match by_region.get(id) {
                    Some(&index) => index,
                    None => {
                        entries.push(Entry {
                            meta,
                            compiled: OnceLock::new(),
                        });
                        entries.len() - 1
                    }
                };
                if id != "001" {
                    by_region.insert(id.to_owned(), index);
                }
                list.push(index);
            }
            by_code.insert(code, list);
        }
        Db {
            entries,
            by_code,
            by_region,
        }
    });
    &DB
}

/// Compiles a metadata pattern anchored at the start, with the metadata's flags
/// (whitespace in patterns is layout).
fn anchored(pattern: &str) -> Regex {
    RegexBuilder::new(&format!("^(?:{pattern})"))
        .ignore_whitespace(true)
        .build()
        .expect("libphonenumber's patterns compile with the regex crate, as the phonenumber crate itself compiles them")
}

fn entry(index: usize) -> &'static Compiled {
    db().entries[index].get()
}

fn region_entry(region: Region) -> Option<&'static Compiled> {
    db().by_region.get(region.as_str()).map(|&i| entry(i))
}

/// The main region's entry for a calling code (the number's own country).
fn code_entry(code: u16) -> Option<&'static Compiled> {
    db().by_code
        .get(&code)
        .and_then(|list| list.first())
        .map(|&i| entry(i))
}

// ---- Parsing --------------------------------------------------------------------------

/// The digits of a number written with only digits and common separators, and
/// whether it starts with `+`; `None` for anything else.
fn simple_digits(raw: &str) -> Option<(bool, String)> {
    let (plus, rest) = match raw
        .strip_prefix('+')
        .or_else(|| raw.strip_prefix('\u{ff0b}'))
    {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' '
            | '-'
            | '.'
            | '('
            | ')'
            | '/'
            | '\t'
            | '\u{a0}'
            | '\u{2010}'..='\u{2015}'
            | '\u{2212}'
            | '\u{3000}' => {}
            _ => return None,
        }
    }
    // A '+' followed by an IDD is a quirk the crate handles; so are "(+" forms.
    if digits.is_empty() || (plus && digits.starts_with('0')) {
        return None;
    }
    Some((plus, digits))
}

/// Country code and national number of an international number (digits after `+`).
fn international(raw: &str, digits: &str) -> Result<(u16, String), PhoneError> {
    if digits.len() <= MIN_NSN {
        return Err(PhoneError::TooShort(raw.to_owned()));
    }
    if digits.starts_with('0') {
        return Err(PhoneError::UnknownCountryCode(raw.to_owned()));
    }
    let (code, rest) = (1..=3)
        .filter_map(|len| Some((digits[..len].parse::<u16>().ok()?, &digits[len..])))
        .find(|(code, _)| db().by_code.contains_key(code))
        .ok_or_else(|| PhoneError::UnknownCountryCode(raw.to_owned()))?;
    let meta = code_entry(code).ok_or_else(|| PhoneError::UnknownCountryCode(raw.to_owned()))?;
    Ok((code, strip_national_prefix(meta, rest.to_owned())))
}

fn fast_parse(
    raw: &str,
    plus: bool,
    digits: &str,
    region: Region,
) -> Result<(u16, String), PhoneError> {
    if plus {
        return international(raw, digits);
    }
    let meta = region_entry(region).ok_or_else(|| PhoneError::UnknownRegion(region.to_string()))?;
    // An international dialling prefix (00, 011, ...) works like a '+', unless a 0
    // follows it.
    let idd_end = meta
        .international_prefix
        .as_ref()
        .and_then(|idd| idd.find(digits))
        .map(|m| m.end());
    if let Some(end) = idd_end.filter(|&end| !digits[end..].starts_with('0')) {
        return international(raw, &digits[end..]);
    }
    if digits.len() <= MIN_NSN {
        return Err(PhoneError::TooShort(raw.to_owned()));
    }
    let code = db().entries[db().by_region[region.as_str()]]
        .meta
        .country_code();
    let mut national = digits.to_owned();
    // A national number that starts with the region's own calling code and is not
    // valid or possible as it stands was written with the code but without the '+'.
    let code_text = code.to_string();
    if national.starts_with(&code_text)
        && (!meta.general.is_match(&national) || !length(meta, &national).is_possible())
    {
        national.drain(..code_text.len());
    }
    Ok((code, strip_national_prefix(meta, national)))
}

/// The crate's national-prefix handling: the region's prefix-for-parsing pattern (with
/// its transform rule), then the plain national prefix, kept only if what remains is
/// not too short.
fn strip_national_prefix(meta: &Compiled, national: String) -> String {
    let mut potential = national.clone();
    match &meta.national_prefix_for_parsing {
        None => {
            strip_literal(&mut potential, meta.national_prefix.as_deref());
        }
        Some(parsing) => {
            if let Some(captures) = parsing.captures(&potential) {
                let end = captures.get(0).map_or(0, |m| m.end());
                let last = captures.get(captures.len() - 1);
                match (&meta.transform, last) {
                    (Some(transform), Some(_)) => {
                        let transformed =
                            parsing.replace(&potential, transform.as_str()).into_owned();
                        let viable = meta.general.is_match(&potential);
                        if !viable || meta.general.is_match(&transformed) {
                            potential = transformed;
                        }
                    }
                    // The crate compares the number with itself here, so it always
                    // strips; kept as is so both paths agree.
                    _ => {
                        potential.drain(..end);
                    }
                }
            }
        }
    }
    strip_literal(&mut potential, meta.national_prefix.as_deref());
    if length(meta, &potential) == Length::TooShort {
        national
    } else {
        potential
    }
}

fn strip_literal(number: &mut String, prefix: Option<&str>) {
    if let Some(prefix) = prefix.filter(|p| number.starts_with(p)) {
        number.drain(..prefix.len());
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Length {
    Possible,
    LocalOnly,
    TooShort,
    TooLong,
    Invalid,
}

impl Length {
    fn is_possible(self) -> bool {
        matches!(self, Length::Possible | Length::LocalOnly)
    }
}

/// The crate's `validator::length` for the general descriptor.
fn length(meta: &Compiled, national: &str) -> Length {
    let possible = &meta.general_lengths;
    let Some(&minimum) = possible.first() else {
        return Length::Invalid;
    };
    let len = national.len() as u16;
    if meta.general_local_lengths.contains(&len) {
        Length::LocalOnly
    } else if len == minimum {
        Length::Possible
    } else if len < minimum {
        Length::TooShort
    } else if possible.last().is_some_and(|&max| len > max) {
        Length::TooLong
    } else if possible.contains(&len) {
        Length::Possible
    } else {
        Length::Invalid
    }
}

/// The slow path for unusual text: the crate parses, with the number's own country
/// for international numbers.
fn crate_parse(raw: &str, region: Region) -> Result<(u16, String), PhoneError> {
    let number = crate_number(raw, region)?;
    Ok((number.code().value(), number.national().to_string()))
}

fn crate_number(raw: &str, region: Region) -> Result<phonenumber::PhoneNumber, PhoneError> {
    let id = region
        .id()
        .ok_or_else(|| PhoneError::UnknownRegion(region.to_string()))?;
    let owned = || raw.to_owned();
    let map = |e: phonenumber::ParseError| match e {
        phonenumber::ParseError::InvalidCountryCode => PhoneError::UnknownCountryCode(owned()),
        phonenumber::ParseError::TooShortAfterIdd | phonenumber::ParseError::TooShortNsn => {
            PhoneError::TooShort(owned())
        }
        phonenumber::ParseError::TooLong => PhoneError::TooLong(owned()),
        _ => PhoneError::NotANumber(owned()),
    };
    let first = phonenumber::parse(Some(id), raw).map_err(map)?;
    let code = first.code().value();
    // The number's own country; `None` for a non-geographic code (+800, +882, ...),
    // which the crate then looks up by code.
    let own = db()
        .by_code
        .get(&code)
        .and_then(|l| l.first())
        .and_then(|&i| phonenumber::country::Id::from_str(db().entries[i].meta.id()).ok());
    // Parse again with the number's own country, so its national prefix rules apply
    // (see the module documentation).
    let number = match first.code().source() {
        _ if own == Some(id) => first,
        phonenumber::country::Source::Plus => phonenumber::parse(own, raw).map_err(map)?,
        phonenumber::country::Source::Idd => {
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            let idd = region_entry(region).and_then(|m| m.international_prefix.as_ref());
            let after = idd.and_then(|re| re.find(&digits)).map_or(0, |m| m.end());
            phonenumber::parse(own, format!("+{}", &digits[after..])).map_err(map)?
        }
        _ => first,
    };
    if number.extension().is_some() {
        return Err(PhoneError::NotANumber(owned()));
    }
    Ok(number)
}

/// Length limits, then validity as the crate's `is_valid` decides it.
fn validate(raw: &str, code: u16, national: &str) -> Result<PhoneNumber, PhoneError> {
    if national.len() < MIN_NSN {
        return Err(PhoneError::TooShort(raw.to_owned()));
    }
    if national.len() > MAX_NSN {
        return Err(PhoneError::TooLong(raw.to_owned()));
    }
    // The crate stores the national number as leading zeros plus an integer.
    let zeros = national.bytes().take_while(|&b| b == b'0').count();
    if zeros == national.len() {
        return Err(PhoneError::Invalid {
            raw: raw.to_owned(),
            country: country_name(code),
        });
    }
    if is_valid(code, national) {
        Ok(PhoneNumber(format!("+{code}{national}")))
    } else {
        Err(PhoneError::Invalid {
            raw: raw.to_owned(),
            country: country_name(code),
        })
    }
}

fn country_name(code: u16) -> String {
    let regions: Vec<&str> = db()
        .by_code
        .get(&code)
        .map(|l| {
            l.iter()
                .map(|&i| db().entries[i].meta.id())
                .filter(|id| *id != "001")
                .take(3)
                .collect()
        })
        .unwrap_or_default();
    match regions.as_slice() {
        [] => format!("country code +{code}"),
        list => format!("{} (+{code})", list.join("/")),
    }
}

/// The crate's `is_valid`: find the region of the number, then its type is known.
fn is_valid(code: u16, national: &str) -> bool {
    let Some(list) = db().by_code.get(&code) else {
        return false;
    };
    let chosen = if list.len() == 1 {
        Some(list[0])
    } else {
        list.iter().copied().find(|&i| {
            let meta = entry(i);
            match &meta.leading_digits {
                Some(leading) => leading.is_match(national),
                None => has_type(meta, national),
            }
        })
    };
    chosen.is_some_and(|i| has_type(entry(i), national))
}

fn has_type(meta: &Compiled, national: &str) -> bool {
    meta.general.is_match(national) && meta.types.iter().any(|d| d.is_match(national))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(r: &str) -> Region {
        Region::parse(r).unwrap()
    }

    fn parse(raw: &str, r: &str) -> Result<String, PhoneError> {
        PhoneNumber::parse(raw, region(r)).map(|p| p.as_str().to_owned())
    }

    #[test]
    fn common_ways_of_writing_numbers_parse_to_e164() {
        let cases = [
            ("+91 98765 43210", "US", "+919876543210"),
            ("098765 43210", "IN", "+919876543210"),
            ("98765-43210", "IN", "+919876543210"),
            ("0091 98765 43210", "IN", "+919876543210"),
            ("(201) 555-0123", "US", "+12015550123"),
            ("011 44 20 7946 0958", "US", "+442079460958"),
            ("+44 20 7946 0958", "IN", "+442079460958"),
            ("07400 123456", "GB", "+447400123456"),
            ("+44 (0) 7400 123456", "US", "+447400123456"),
            ("+55 11 91234-5678", "US", "+5511912345678"),
            ("919876543210", "IN", "+919876543210"),
        ];
        for (raw, r, e164) in cases {
            assert_eq!(parse(raw, r).as_deref(), Ok(e164), "{raw} in {r}");
        }
    }

    #[test]
    fn impossible_numbers_fail_with_a_reason() {
        assert_eq!(parse("", "IN"), Err(PhoneError::Empty));
        assert!(matches!(parse("12", "IN"), Err(PhoneError::TooShort(_))));
        assert!(matches!(
            parse("+999 1234 5678", "IN"),
            Err(PhoneError::UnknownCountryCode(_))
        ));
        assert!(matches!(
            parse("+1 206-155-1234", "IN"),
            Err(PhoneError::Invalid { .. })
        ));
        assert!(matches!(
            parse("1234567890123456789012", "IN"),
            Err(PhoneError::TooLong(_))
        ));
        assert!(matches!(
            parse("call me", "IN"),
            Err(PhoneError::NotANumber(_))
        ));
        let message = parse("+1 (206) 055-1234", "US").unwrap_err().to_string();
        assert!(message.contains("not a valid number in US"), "{message}");
    }

    #[test]
    fn regions_are_known_two_letter_codes() {
        assert_eq!(region("in").as_str(), "IN");
        assert!(matches!(
            Region::parse("XX"),
            Err(PhoneError::UnknownRegion(_))
        ));
        assert!(matches!(
            Region::parse("India"),
            Err(PhoneError::UnknownRegion(_))
        ));
    }

    #[test]
    fn e164_reads_with_or_without_plus_and_is_still_validated() {
        assert_eq!(
            PhoneNumber::from_e164("919876543210").unwrap().as_str(),
            "+919876543210"
        );
        assert_eq!(
            PhoneNumber::from_e164("+14155550123")
                .unwrap()
                .country_code(),
            1
        );
        assert!(PhoneNumber::from_e164("+91 98765").is_err());
        assert!(
            PhoneNumber::from_e164("+5511925430557").is_ok(),
            "no default region applies"
        );
    }
}

/// Agreement with the `phonenumber` crate on a large generated set. It lives here, not
/// in `tests/`, so the crate's generic parser is compiled with this crate's
/// optimisation (unoptimised, the reference would take minutes).
#[cfg(test)]
pub(crate) mod agreement {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// The crate's answer, with the number's own country for international input
    /// (the one documented difference; see the module documentation).
    fn reference(raw: &str, region: Region) -> Option<String> {
        let number = crate_number(raw.trim(), region).ok()?;
        phonenumber::is_valid(&number)
            .then(|| number.format().mode(phonenumber::Mode::E164).to_string())
    }

    fn ours(raw: &str, region: Region) -> Option<String> {
        PhoneNumber::parse(raw, region).ok().map(|p| p.0)
    }

    /// Every region's example numbers, as national significant numbers.
    pub(crate) fn examples() -> Vec<(Region, u16, String, Option<String>)> {
        let mut out = Vec::new();
        for meta in DATABASE.iter().filter(|m| m.id() != "001") {
            let Ok(region) = Region::parse(meta.id()) else {
                continue;
            };
            let d = meta.descriptors();
            let descs = [
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.voip(),
                d.personal_number(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ];
            for desc in descs.into_iter().flatten() {
                if let Some(example) = desc.example() {
                    out.push((
                        region,
                        meta.country_code(),
                        example.to_owned(),
                        meta.national_prefix().map(str::to_owned),
                    ));
                }
            }
        }
        out
    }

    fn spaced(nsn: &str, sep: &str) -> String {
        let mut out = String::new();
        for (i, c) in nsn.chars().enumerate() {
            if i > 0 && i % 3 == 0 {
                out.push_str(sep);
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn agrees_with_the_phonenumber_crate_on_examples_and_a_generated_set() {
        let defaults: Vec<Region> = [
            "US", "IN", "GB", "DE", "BR", "FR", "AR", "MX", "RU", "JP", "AU", "ZA", "NG", "IT",
            "CN",
        ]
        .iter()
        .map(|r| Region::parse(r).unwrap())
        .collect();
        let mut inputs: Vec<(String, Region)> = Vec::new();
        let mut rng = StdRng::seed_from_u64(42);
        let examples = examples();
        for (region, code, nsn, national_prefix) in &examples {
            let other = defaults[rng.random_range(0..defaults.len())];
            let written = [
                format!("+{code}{nsn}"),
                format!("+{code} {}", spaced(nsn, " ")),
                format!("+{code}-{}", spaced(nsn, "-")),
                format!(
                    "+{code} ({}) {}",
                    &nsn[..nsn.len().min(3)],
                    &nsn[nsn.len().min(3)..]
                ),
                format!("00{code} {nsn}"),
                format!("011 {code} {nsn}"),
                format!("{}{nsn}", national_prefix.as_deref().unwrap_or("")),
                format!(
                    "{}{}",
                    national_prefix.as_deref().unwrap_or(""),
                    spaced(nsn, ".")
                ),
                nsn.clone(),
                format!("{code}{nsn}"),
            ];
            for w in written {
                inputs.push((w.clone(), *region));
                inputs.push((w, other));
            }
            // Damaged copies: a digit changed, added or removed.
            for _ in 0..6 {
                let mut digits: Vec<char> = nsn.chars().collect();
                let at = rng.random_range(0..digits.len());
                match rng.random_range(0..3) {
                    0 => digits[at] = char::from(b'0' + rng.random_range(0..10u8)),
                    1 => digits.insert(at, char::from(b'0' + rng.random_range(0..10u8))),
                    _ => {
                        digits.remove(at);
                    }
                }
                let damaged: String = digits.into_iter().collect();
                let form = match rng.random_range(0..3) {
                    0 => format!("+{code} {damaged}"),
                    1 => format!("{}{damaged}", national_prefix.as_deref().unwrap_or("")),
                    _ => damaged,
                };
                inputs.push((form, *region));
            }
        }
        // Random digit strings and garbage.
        for _ in 0..80_000 {
            let len = rng.random_range(1..18);
            let digits: String = (0..len)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect();
            let region = defaults[rng.random_range(0..defaults.len())];
            let form = match rng.random_range(0..4) {
                0 => format!("+{digits}"),
                1 => format!("00{digits}"),
                2 => format!("({}) {}", &digits[..len.min(3)], &digits[len.min(3)..]),
                _ => digits,
            };
            inputs.push((form, region));
        }
        for garbage in [
            "",
            " ",
            "+",
            "abc",
            "+91 98765 4321O",
            "98765 43210 ext. 12",
            "tel:+1-201-555-0123",
            "１２３４５６７８９０",
            "+0 123",
            "++91 98765 43210",
            "9876543210#",
            &"9".repeat(200),
        ] {
            for region in &defaults {
                inputs.push((garbage.to_owned(), *region));
            }
        }

        let mut disagreements = Vec::new();
        let mut valid = 0;
        for (raw, region) in &inputs {
            let (a, b) = (ours(raw, *region), reference(raw, *region));
            valid += usize::from(a.is_some());
            if a != b {
                disagreements.push(format!("{raw:?} in {region}: ours {a:?}, crate {b:?}"));
            }
        }
        assert!(
            disagreements.is_empty(),
            "{} of {} inputs disagree, e.g.:\n{}",
            disagreements.len(),
            inputs.len(),
            disagreements
                .iter()
                .take(25)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(inputs.len() > 100_000, "{} inputs", inputs.len());
        assert!(
            valid > inputs.len() / 6,
            "a meaningful share is valid: {valid}"
        );
        eprintln!(
            "phone agreement: {} inputs ({} valid), all agree",
            inputs.len(),
            valid
        );
    }
}
