//! Undoing what spreadsheets do to phone cells, for bulk imports.
//!
//! Excel damages phone numbers in three ways that keep every digit: it writes an
//! apostrophe before a number stored as text (`'+91 98765 43210`), it writes long numbers
//! in scientific notation (`9.19876543210E+11`), and, reading `+44 7911 123456` as a
//! number, it drops the `+`. `PhoneNumber::parse_repairing` undoes these and says what it
//! did. Scientific notation with fewer digits than the number has (`9.19877E+11`) cannot
//! be undone: the cell no longer holds the number, so it is refused with
//! `PhoneError::DigitsLost`, never guessed.

use std::fmt;

use crate::phone::{PhoneError, PhoneNumber, Region};

/// What was repaired in a phone cell, for the import's result file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhoneRepair {
    /// Excel's "stored as text" marker (`'`, or a typographic `’` or `‘`) was removed.
    LeadingApostrophe,
    /// The cell was in scientific notation with every digit written.
    ScientificNotation,
    /// The digits only made a valid number with a `+` before them.
    MissingPlus,
}

impl fmt::Display for PhoneRepair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PhoneRepair::LeadingApostrophe => "removed the leading apostrophe",
            PhoneRepair::ScientificNotation => "expanded scientific notation",
            PhoneRepair::MissingPlus => "added the missing + before the country code",
        })
    }
}

impl PhoneNumber {
    /// Like `parse`, but first undoes damage spreadsheets do to phone cells where no
    /// digit was lost; returns the repairs made (empty when the cell was fine).
    ///
    /// Valid input costs what `parse` costs plus a scan for an apostrophe and an `e`.
    /// Scientific notation is recognised *before* `parse` runs, because `parse` (like
    /// libphonenumber) reads letters as keypad digits, so some such cells are valid
    /// and wrong: `9.68231E10` in FR parses as +33 9 68 23 13 10 (`E` is 3).
    ///
    /// The `+` repair can also read a mistyped national number as a valid foreign one
    /// (`81235240189`, an Indian mobile number with a digit too many, is valid as +81,
    /// Japan), so callers should show the repairs made.
    pub fn parse_repairing(
        raw: &str,
        default_region: Region,
    ) -> Result<(PhoneNumber, Vec<PhoneRepair>), PhoneError> {
        let trimmed = raw.trim();
        let mut repairs = Vec::new();
        let text = match trimmed.strip_prefix(['\'', '\u{2019}', '\u{2018}']) {
            Some(rest) => {
                repairs.push(PhoneRepair::LeadingApostrophe);
                rest.trim()
            }
            None => trimmed,
        };
        if let Some(expanded) = expand_scientific(text) {
            let digits = expanded.map_err(|lost| PhoneError::DigitsLost {
                raw: trimmed.to_owned(),
                lost,
            })?;
            repairs.push(PhoneRepair::ScientificNotation);
            // Errors quote the expanded digits: they say more than the notation.
            return match PhoneNumber::parse(&digits, default_region) {
                Ok(number) => Ok((number, repairs)),
                Err(error) => match with_plus(&digits) {
                    Some(number) => {
                        repairs.push(PhoneRepair::MissingPlus);
                        Ok((number, repairs))
                    }
                    None => Err(error),
                },
            };
        }
        match PhoneNumber::parse(text, default_region) {
            Ok(number) => Ok((number, repairs)),
            Err(error) => match with_plus(text) {
                Some(number) => {
                    repairs.push(PhoneRepair::MissingPlus);
                    Ok((number, repairs))
                }
                // Unrepairable: the message `parse` gives for the cell as written.
                None if repairs.is_empty() => Err(error),
                None => Err(PhoneNumber::parse(raw, default_region)
                    .err()
                    .unwrap_or(error)),
            },
        }
    }
}

/// The number a cell of bare digits makes with a `+` before it, if valid.
///
/// Only bare digits: a spreadsheet drops the `+` when it stores the cell as a number,
/// and then no separator survives either; a number typed with spaces or dashes kept
/// its `+` if it had one, so adding one there would only turn typos into foreign
/// numbers. Not for digits starting with `0`: those are national (trunk prefix) or
/// dialled (international prefix) forms, which `parse` has already read.
fn with_plus(text: &str) -> Option<PhoneNumber> {
    let bare = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if bare && !text.starts_with('0') {
        PhoneNumber::from_e164(text).ok()
    } else {
        None
    }
}

/// Longest digit string a phone number can be written as (3-digit calling code and
/// libphonenumber's longest national number).
const MAX_DIGITS: usize = 20;

/// Reads `9.19876543210E+11`, `9,19876543210e11`, `919876543210E0` as the integer
/// they denote: `Some(Ok(digits))` when every digit of the integer is written,
/// `Some(Err(lost))` when its last `lost` digits are not (the notation was rounded,
/// so they are unknown, even if they may be zeros). `None` for text that is not an
/// integer in scientific notation (no `e`, a negative exponent, a fraction, or more
/// digits than any phone number has).
fn expand_scientific(text: &str) -> Option<Result<String, usize>> {
    let (mantissa, exponent) = text.split_once(['e', 'E'])?;
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if exponent.is_empty() || exponent.len() > 3 || !all_digits(exponent) {
        return None;
    }
    let exponent: usize = exponent.parse().ok()?;
    let (whole, fraction) = mantissa.split_once(['.', ',']).unwrap_or((mantissa, ""));
    // Spreadsheets write the mantissa without leading zeros (and so does anyone else
    // writing a whole number).
    if !whole.starts_with(|c: char| matches!(c, '1'..='9'))
        || !all_digits(whole)
        || !all_digits(fraction)
        || whole.len() + exponent > MAX_DIGITS
    {
        return None;
    }
    if fraction.len() < exponent {
        return Some(Err(exponent - fraction.len()));
    }
    let (integer, below_units) = fraction.split_at(exponent);
    if below_units.bytes().any(|b| b != b'0') {
        return None;
    }
    Some(Ok(format!("{whole}{integer}")))
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::PhoneRepair::{LeadingApostrophe, MissingPlus, ScientificNotation};
    use super::*;

    fn region(r: &str) -> Region {
        Region::parse(r).unwrap()
    }

    fn repair(raw: &str, r: &str) -> Result<(String, Vec<PhoneRepair>), PhoneError> {
        PhoneNumber::parse_repairing(raw, region(r))
            .map(|(p, repairs)| (p.as_str().to_owned(), repairs))
    }

    fn repaired(
        e164: &str,
        repairs: &[PhoneRepair],
    ) -> Result<(String, Vec<PhoneRepair>), PhoneError> {
        Ok((e164.to_owned(), repairs.to_vec()))
    }

    #[test]
    fn cells_that_parse_as_they_are_need_no_repair() {
        assert_eq!(
            repair("+91 98765 43210", "IN"),
            repaired("+919876543210", &[])
        );
        assert_eq!(repair("098765 43210", "IN"), repaired("+919876543210", &[]));
        assert_eq!(repair("14155550123", "US"), repaired("+14155550123", &[]));
        // The region's own code without '+' is already read by `parse`.
        assert_eq!(repair("919876543210", "IN"), repaired("+919876543210", &[]));
        // Not scientific notation: a vanity number keeps parsing as before.
        assert_eq!(repair("1-800-FLOWERS", "US"), repaired("+18003569377", &[]));
    }

    #[test]
    fn a_leading_apostrophe_is_removed_and_reported() {
        assert_eq!(
            repair("'+91 98765 43210", "IN"),
            repaired("+919876543210", &[LeadingApostrophe])
        );
        assert_eq!(
            repair("'09876543210", "IN"),
            repaired("+919876543210", &[LeadingApostrophe])
        );
        assert_eq!(
            repair(" \u{2019}+919876543210 ", "IN"),
            repaired("+919876543210", &[LeadingApostrophe])
        );
        assert_eq!(
            repair("\u{2018}09876543210", "IN"),
            repaired("+919876543210", &[LeadingApostrophe])
        );
        assert_eq!(
            repair("'447911123456", "IN"),
            repaired("+447911123456", &[LeadingApostrophe, MissingPlus])
        );
    }

    #[test]
    fn scientific_notation_with_every_digit_written_is_expanded() {
        for raw in [
            "9.19876543210E+11",
            "9.19876543210e11",
            "9,19876543210E+11",
            "9.19876543210E11",
            "919876543210E0",
            "  9.19876543210E+11 ",
            "9.198765432100E+11",
        ] {
            assert_eq!(
                repair(raw, "IN"),
                repaired("+919876543210", &[ScientificNotation]),
                "{raw}"
            );
        }
        assert_eq!(
            repair("4.47911123456E+11", "IN"),
            repaired("+447911123456", &[ScientificNotation, MissingPlus])
        );
        assert_eq!(
            repair("'1.4155550123E+10", "US"),
            repaired("+14155550123", &[LeadingApostrophe, ScientificNotation])
        );
    }

    #[test]
    fn scientific_notation_that_lost_digits_is_refused_with_how_many() {
        let lost = |raw: &str| match repair(raw, "IN") {
            Err(PhoneError::DigitsLost { lost, .. }) => Some(lost),
            _ => None,
        };
        assert_eq!(lost("9.19877E+11"), Some(6));
        assert_eq!(
            lost("9.1987654321E+11"),
            Some(1),
            "a trailing 0 may have been dropped, or rounded away"
        );
        assert_eq!(lost("9,19877e11"), Some(6));
        assert_eq!(lost("91987654321E1"), Some(1));
        assert_eq!(lost("'9.19877E+11"), Some(6));
        let message = repair("9.19877E+11", "IN").unwrap_err().to_string();
        assert_eq!(
            message,
            "\"9.19877E+11\" lost its last 6 digits to a spreadsheet's scientific notation; \
             format the column as Text and type the numbers again"
        );
        // `parse` reads the E as a keypad 3 and finds a valid French number.
        assert_eq!(
            PhoneNumber::parse("9.68231E10", region("FR")).map(|p| p.as_str().to_owned()),
            Ok("+33968231310".to_owned())
        );
        assert!(matches!(
            repair("9.68231E10", "FR"),
            Err(PhoneError::DigitsLost { lost: 5, .. })
        ));
        let message = repair("9.1987654321E+11", "IN").unwrap_err().to_string();
        assert!(message.contains("lost its last digit to"), "{message}");
    }

    #[test]
    fn a_missing_plus_is_added_only_when_the_region_cannot_read_the_digits() {
        assert_eq!(
            repair("447911123456", "IN"),
            repaired("+447911123456", &[MissingPlus])
        );
        // Typed with separators, the cell was text and kept any `+` it had.
        assert!(repair("44 7911 123456", "IN").is_err());
        assert!(repair("(44) 7911-123456", "US").is_err());
        // Read by the region first: a GB number in GB needs no '+'.
        assert_eq!(repair("447911123456", "GB"), repaired("+447911123456", &[]));
        // The known cost of the rule: one digit too many in an Indian number, and it
        // reads as a Japanese one. The repair is reported so a person can see it.
        assert_eq!(
            repair("81235240189", "IN"),
            repaired("+81235240189", &[MissingPlus])
        );
        // A leading 0 is a trunk or international prefix, never a country code.
        assert!(matches!(
            repair("0447911123456", "IN"),
            Err(PhoneError::Invalid { .. })
        ));
    }

    #[test]
    fn unrepairable_cells_keep_the_message_parse_gives() {
        for (raw, r) in [
            ("'abc", "IN"),
            ("abc", "IN"),
            ("'12", "IN"),
            ("'", "IN"),
            ("", "IN"),
            ("98765 4321", "IN"),
            ("9.19876543210E-11", "IN"),
            ("9.1987654321012E+11", "IN"),
            ("0.919876543210E+12", "IN"),
            ("9.1E+99", "IN"),
            ("+9.19876543210E+11", "IN"),
        ] {
            let plain = PhoneNumber::parse(raw, region(r)).unwrap_err();
            assert_eq!(repair(raw, r), Err(plain), "{raw:?} in {r}");
        }
    }

    #[test]
    fn expanded_digits_that_are_no_number_say_which_digits_they_are() {
        let error = repair("1.23456789E+8", "IN").unwrap_err();
        assert!(error.to_string().contains("\"123456789\""), "{error}");
    }

    /// `digits` as Excel writes a number in scientific notation with `significant`
    /// significant digits (rounded half up, trailing zeros kept): `9.19877E+11`.
    fn excel_scientific(digits: &str, significant: usize) -> String {
        let mut kept: Vec<u8> = digits.bytes().take(significant).collect();
        let mut exponent = digits.len() - 1;
        if digits
            .as_bytes()
            .get(significant)
            .is_some_and(|&b| b >= b'5')
        {
            let mut at = kept.len();
            loop {
                if at == 0 {
                    kept.insert(0, b'1');
                    kept.pop();
                    exponent += 1;
                    break;
                }
                at -= 1;
                if kept[at] == b'9' {
                    kept[at] = b'0';
                } else {
                    kept[at] += 1;
                    break;
                }
            }
        }
        let kept = String::from_utf8(kept).unwrap();
        let (first, rest) = kept.split_at(1);
        match rest {
            "" => format!("{first}E+{exponent:02}"),
            rest => format!("{first}.{rest}E+{exponent:02}"),
        }
    }

    #[test]
    fn excel_scientific_writes_as_excel_does() {
        assert_eq!(excel_scientific("919876543210", 12), "9.19876543210E+11");
        assert_eq!(excel_scientific("919876543210", 6), "9.19877E+11");
        assert_eq!(excel_scientific("999996", 5), "1.0000E+06");
        assert_eq!(excel_scientific("12345", 1), "1E+04");
    }

    /// Every region's example numbers, as their own region and E.164 digits.
    fn examples() -> Vec<(Region, String)> {
        crate::phone::agreement::examples()
            .into_iter()
            .map(|(region, code, nsn, _)| (region, format!("{code}{nsn}")))
            .collect()
    }

    #[test]
    fn example_numbers_in_full_scientific_notation_round_trip_and_rounded_ones_are_refused() {
        let others = [region("IN"), region("US"), region("GB"), region("DE")];
        let mut checked = 0;
        for (own, digits) in examples() {
            let Ok(number) = PhoneNumber::from_e164(&digits) else {
                continue;
            };
            let full = excel_scientific(&digits, digits.len());
            // In the number's own region the notation gives the number back.
            let (back, repairs) = PhoneNumber::parse_repairing(&full, own)
                .unwrap_or_else(|e| panic!("{full} in {own}: {e}"));
            assert_eq!(back, number, "{full} in {own}");
            assert_eq!(
                repairs.first(),
                Some(&ScientificNotation),
                "{full} in {own}"
            );
            // In any region the notation reads exactly as the digits written out.
            for r in others.into_iter().chain([own]) {
                let as_digits = PhoneNumber::parse_repairing(&digits, r).map(|(p, mut repairs)| {
                    repairs.insert(0, ScientificNotation);
                    (p, repairs)
                });
                assert_eq!(
                    PhoneNumber::parse_repairing(&full, r).ok(),
                    as_digits.ok(),
                    "{full} in {r}"
                );
            }
            if digits.len() > 5 {
                let rounded = excel_scientific(&digits, 5);
                match PhoneNumber::parse_repairing(&rounded, own) {
                    Err(PhoneError::DigitsLost { raw, lost }) => {
                        assert_eq!(raw, rounded);
                        let carried = !rounded.ends_with(&format!("E+{:02}", digits.len() - 1));
                        assert_eq!(lost, digits.len() - 5 + usize::from(carried), "{rounded}");
                    }
                    other => panic!("{rounded} ({digits}) in {own}: {other:?}"),
                }
            }
            checked += 1;
        }
        assert!(checked > 1_000, "{checked} example numbers");
    }

    #[test]
    fn whatever_parse_accepts_comes_back_unchanged_and_unrepaired() {
        let mut rng = StdRng::seed_from_u64(7);
        let regions = [
            region("IN"),
            region("US"),
            region("GB"),
            region("DE"),
            region("BR"),
        ];
        let mut inputs = Vec::new();
        for (own, digits) in examples() {
            let (a, b) = digits.split_at(digits.len() / 2);
            for written in [format!("+{digits}"), format!("+{a} {b}"), digits.clone()] {
                inputs.push((written.clone(), own));
                inputs.push((written, regions[rng.random_range(0..regions.len())]));
            }
        }
        for _ in 0..20_000 {
            let len = rng.random_range(1..16);
            let digits: String = (0..len)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect();
            inputs.push((digits, regions[rng.random_range(0..regions.len())]));
        }
        let mut accepted = 0;
        for (raw, r) in &inputs {
            match (
                PhoneNumber::parse(raw, *r),
                PhoneNumber::parse_repairing(raw, *r),
            ) {
                (Ok(plain), Ok((number, repairs))) => {
                    assert_eq!((number, repairs), (plain, vec![]), "{raw} in {r}");
                    accepted += 1;
                }
                (Err(_), Ok((_, repairs))) => {
                    assert_eq!(repairs, vec![MissingPlus], "{raw} in {r}");
                }
                (Err(plain), Err(error)) => assert_eq!(error, plain, "{raw} in {r}"),
                (Ok(plain), Err(error)) => panic!("{raw} in {r}: {plain} but {error}"),
            }
        }
        assert!(accepted > 3_000, "{accepted} of {} accepted", inputs.len());
    }
}
