//! Phone numbers in E.164 form, parsed and validated with libphonenumber's metadata.
//!
//! Interim implementation backed directly by the `phonenumber` crate; the fast path
//! replaces it with the same API.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO 3166-1 alpha-2 region known to the phone metadata, e.g. `IN` or `US`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region([u8; 2]);

impl Region {
    pub fn parse(raw: &str) -> Result<Region, PhoneError> {
        let upper = raw.trim().to_ascii_uppercase();
        let id = phonenumber::country::Id::from_str(&upper)
            .map_err(|_| PhoneError::UnknownRegion(raw.trim().to_owned()))?;
        let bytes = id.as_ref().as_bytes();
        Ok(Region([bytes[0], bytes[1]]))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    fn id(self) -> phonenumber::country::Id {
        phonenumber::country::Id::from_str(self.as_str()).unwrap_or(phonenumber::country::Id::US)
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the phone number is empty")]
    Empty,
    #[error("unknown region {0:?}: use a two-letter ISO country code such as IN or US")]
    UnknownRegion(String),
    #[error("{0:?} is not a phone number")]
    NotANumber(String),
    #[error("{0:?} has an unknown country calling code")]
    UnknownCountryCode(String),
    #[error("{0:?} is too short to be a phone number")]
    TooShort(String),
    #[error("{0:?} is too long to be a phone number")]
    TooLong(String),
    #[error("{0:?} is not a valid phone number")]
    Invalid(String),
}

impl PhoneNumber {
    pub fn parse(raw: &str, default_region: Region) -> Result<PhoneNumber, PhoneError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let owned = || trimmed.to_owned();
        let number =
            phonenumber::parse(Some(default_region.id()), trimmed).map_err(|e| match e {
                phonenumber::ParseError::InvalidCountryCode => {
                    PhoneError::UnknownCountryCode(owned())
                }
                phonenumber::ParseError::TooShortAfterIdd
                | phonenumber::ParseError::TooShortNsn => PhoneError::TooShort(owned()),
                phonenumber::ParseError::TooLong => PhoneError::TooLong(owned()),
                _ => PhoneError::NotANumber(owned()),
            })?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid(owned()));
        }
        Ok(PhoneNumber(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn from_e164(raw: &str) -> Result<PhoneNumber, PhoneError> {
        let trimmed = raw.trim();
        let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::NotANumber(trimmed.to_owned()));
        }
        let owned = || trimmed.to_owned();
        let number = phonenumber::parse(None, format!("+{digits}"))
            .map_err(|_| PhoneError::NotANumber(owned()))?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid(owned()));
        }
        Ok(PhoneNumber(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn country_code(&self) -> u16 {
        phonenumber::parse(None, &self.0)
            .map(|n| n.code().value())
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
