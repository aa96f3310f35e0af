//! Deterministic synthetic people: the rows of `steward gen users`, the demo org, and
//! a whole generated tenant (`steward gen tenant`, see [`tenant`]).
//!
//! The same seed always gives the same people, so benchmarks and tests can regenerate
//! their input instead of storing it. Phones are unique, valid for their region and
//! written the many ways real files write them.

pub mod tenant;

use std::collections::HashSet;
use std::io::Write;

use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use steward_domain::{
    AttributeChanges, AttributeDef, AttributeKey, AttributeType, AttributeValue, PersonName,
    PhoneNumber, Region, UserSource, UserUpsert,
};

/// The attributes synthetic people carry, as an org's schema.
pub fn attribute_defs() -> Vec<AttributeDef> {
    let def = |key: &str, name: &str, ty, mandatory| AttributeDef {
        key: AttributeKey::parse(key).expect("the built-in keys are valid"),
        name: name.to_owned(),
        ty,
        mandatory,
        suggested: true,
    };
    vec![
        def("employee_id", "Employee ID", AttributeType::String, true),
        def("department", "Department", AttributeType::String, false),
        def("job_title", "Job Title", AttributeType::String, false),
        def("location", "Location", AttributeType::String, false),
        def("hire_date", "Hire Date", AttributeType::DateTime, false),
        def("remote", "Remote", AttributeType::YesNo, false),
        def("level", "Level", AttributeType::Number, false),
    ]
}

/// The CSV header of synthetic rows: phone, name, then the attributes by display name.
pub fn header() -> Vec<String> {
    ["Phone Number", "Name"]
        .into_iter()
        .map(str::to_owned)
        .chain(attribute_defs().into_iter().map(|d| d.name))
        .collect()
}

/// One synthetic person.
#[derive(Clone, Debug)]
pub struct Person {
    pub phone: PhoneNumber,
    /// The phone as a file would hold it (spaces, dashes, parentheses...).
    pub phone_written: String,
    pub region: Region,
    pub name: String,
    pub employee_id: String,
    pub department: &'static str,
    pub job_title: &'static str,
    pub location: &'static str,
    pub hire_date: NaiveDate,
    pub remote: bool,
    pub level: u8,
}

impl Person {
    /// The person as a user to create, with typed attributes.
    pub fn upsert(&self, source: UserSource) -> UserUpsert {
        let attributes: AttributeChanges = attribute_defs()
            .iter()
            .zip(&self.cells()[2..])
            .map(|(def, cell)| {
                let value = AttributeValue::parse(def.ty, cell).expect("synthetic cells parse");
                (def.key.clone(), value)
            })
            .collect();
        UserUpsert {
            phone: self.phone.clone(),
            name: PersonName::parse(&self.name).expect("synthetic names are valid"),
            source,
            attributes,
        }
    }

    /// The person's cells in [`header`] order.
    pub fn cells(&self) -> [String; 9] {
        [
            self.phone_written.clone(),
            self.name.clone(),
            self.employee_id.clone(),
            self.department.to_owned(),
            self.job_title.to_owned(),
            self.location.to_owned(),
            self.hire_date.format("%Y-%m-%d").to_string(),
            if self.remote { "Yes" } else { "No" }.to_owned(),
            self.level.to_string(),
        ]
    }
}

/// Where people live: region, city, and how to make a mobile number there.
struct Country {
    region: &'static str,
    calling_code: &'static str,
    cities: &'static [&'static str],
    /// National significant number: a fixed prefix, then random digits.
    prefixes: &'static [&'static str],
    digits: usize,
    /// How the national number is grouped when written.
    groups: &'static [usize],
}

const COUNTRIES: &[Country] = &[
    Country {
        region: "IN",
        calling_code: "91",
        cities: &["Bengaluru", "Mumbai", "Delhi", "Hyderabad", "Pune"],
        prefixes: &["98", "97", "99", "94", "88", "70"],
        digits: 8,
        groups: &[5, 5],
    },
    Country {
        region: "US",
        calling_code: "1",
        cities: &["Seattle", "New York", "Austin", "Chicago"],
        prefixes: &["206", "212", "512", "312", "415", "646"],
        digits: 7,
        groups: &[3, 3, 4],
    },
    Country {
        region: "GB",
        calling_code: "44",
        cities: &["London", "Manchester", "Edinburgh"],
        prefixes: &["74", "75", "77", "78", "79"],
        digits: 8,
        groups: &[4, 6],
    },
    Country {
        region: "DE",
        calling_code: "49",
        cities: &["Berlin", "Munich", "Hamburg"],
        prefixes: &["151", "152", "160", "170", "171", "176"],
        digits: 8,
        groups: &[3, 8],
    },
    Country {
        region: "BR",
        calling_code: "55",
        cities: &["São Paulo", "Rio de Janeiro"],
        prefixes: &["119", "219", "319"],
        digits: 8,
        groups: &[2, 5, 4],
    },
    Country {
        region: "ZA",
        calling_code: "27",
        cities: &["Johannesburg", "Cape Town"],
        prefixes: &["82", "83", "84", "72", "73"],
        digits: 7,
        groups: &[2, 3, 4],
    },
    Country {
        region: "AU",
        calling_code: "61",
        cities: &["Sydney", "Melbourne"],
        prefixes: &["40", "41", "42", "43"],
        digits: 7,
        groups: &[3, 3, 3],
    },
    Country {
        region: "KE",
        calling_code: "254",
        cities: &["Nairobi", "Mombasa"],
        prefixes: &["70", "71", "72"],
        digits: 7,
        groups: &[3, 3, 3],
    },
    Country {
        region: "AE",
        calling_code: "971",
        cities: &["Dubai", "Abu Dhabi"],
        prefixes: &["50", "52", "55", "56"],
        digits: 7,
        groups: &[2, 3, 4],
    },
    Country {
        region: "NG",
        calling_code: "234",
        cities: &["Lagos", "Abuja"],
        prefixes: &["803", "806", "813", "816"],
        digits: 7,
        groups: &[3, 3, 4],
    },
];

const FIRST: &[&str] = &[
    "Aarav", "Ananya", "Rohan", "Priya", "Vikram", "Meera", "James", "Olivia", "Liam", "Emma",
    "Noah", "Ava", "Lukas", "Mia", "Felix", "Lena", "Thiago", "Beatriz", "Sipho", "Naledi",
    "Chloe", "Jack", "Wanjiru", "Otieno", "Fatima", "Omar", "Chidi", "Ngozi", "Sofia", "Mateus",
    "Ishaan", "Kavya", "Hannah", "Oliver", "Amara", "Zanele", "Yusuf", "Leila", "Arjun", "Diya",
];
const LAST: &[&str] = &[
    "Sharma",
    "Iyer",
    "Reddy",
    "Patel",
    "Nair",
    "Gupta",
    "Smith",
    "Johnson",
    "Brown",
    "Garcia",
    "Miller",
    "Davis",
    "Müller",
    "Schmidt",
    "Schneider",
    "Silva",
    "Santos",
    "Oliveira",
    "Dlamini",
    "Nkosi",
    "Taylor",
    "Wilson",
    "Kamau",
    "Odhiambo",
    "Al Mansoori",
    "Haddad",
    "Okafor",
    "Adeyemi",
    "O'Brien",
    "Costa",
    "Fernandes",
    "Mehta",
    "Kapoor",
    "Walker",
    "Moyo",
    "Hassan",
    "Das",
    "Bose",
];
const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Support",
    "Finance",
    "Operations",
    "HR",
    "Legal",
];
const TITLES: &[&str] = &[
    "Field Technician",
    "Sales Associate",
    "Store Manager",
    "Engineer",
    "Senior Engineer",
    "Support Agent",
    "Team Lead",
    "Analyst",
    "Driver",
    "Nurse",
    "Accountant",
    "Director",
];

/// An endless, deterministic stream of distinct people.
#[derive(Debug)]
pub struct People {
    rng: ChaCha8Rng,
    seen: HashSet<u64>,
    count: u64,
}

impl People {
    pub fn new(seed: u64) -> People {
        People {
            rng: ChaCha8Rng::seed_from_u64(seed),
            seen: HashSet::new(),
            count: 0,
        }
    }

    fn phone(&mut self, country: &Country) -> (PhoneNumber, String) {
        let region = Region::parse(country.region).expect("the built-in regions are known");
        loop {
            let prefix = country.prefixes[self.rng.random_range(0..country.prefixes.len())];
            let mut national = prefix.to_owned();
            for _ in 0..country.digits {
                national.push(char::from(b'0' + self.rng.random_range(0..10u8)));
            }
            let written = self.write_phone(country, &national);
            let Ok(phone) = PhoneNumber::parse(&written, region) else {
                continue;
            };
            let digits: u64 = phone.as_str()[1..].parse().expect("E.164 is digits");
            if self.seen.insert(digits) {
                return (phone, written);
            }
        }
    }

    /// Writes a number as people do: E.164, spaced, dashed, with parentheses, or in
    /// the international format with a 00 prefix.
    fn write_phone(&mut self, country: &Country, national: &str) -> String {
        let mut grouped = Vec::new();
        let mut rest = national;
        for (i, &len) in country.groups.iter().enumerate() {
            let take = if i + 1 == country.groups.len() {
                rest.len()
            } else {
                len.min(rest.len())
            };
            let (head, tail) = rest.split_at(take);
            grouped.push(head);
            rest = tail;
        }
        let cc = country.calling_code;
        match self.rng.random_range(0..6) {
            0 => format!("+{cc}{national}"),
            1 => format!("+{cc} {}", grouped.join(" ")),
            2 => format!("+{cc}-{}", grouped.join("-")),
            3 => format!("+{cc} ({}) {}", grouped[0], grouped[1..].join(" ")),
            4 => format!("00{cc} {}", grouped.join(" ")),
            _ => format!("+{cc}.{}", grouped.join(".")),
        }
    }

    /// The next person: a country first, then a phone, a name and attributes.
    pub fn next_person(&mut self) -> Person {
        // Weighted towards India and the US, as a large multinational would be.
        let weights = [30, 20, 10, 8, 8, 6, 6, 4, 4, 4];
        let total: u32 = weights.iter().sum();
        let mut pick = self.rng.random_range(0..total);
        let mut index = 0;
        while pick >= weights[index] {
            pick -= weights[index];
            index += 1;
        }
        let country = &COUNTRIES[index];
        let (phone, phone_written) = self.phone(country);
        self.count += 1;
        let first = FIRST[self.rng.random_range(0..FIRST.len())];
        let last = LAST[self.rng.random_range(0..LAST.len())];
        let epoch = NaiveDate::from_ymd_opt(2005, 1, 1).expect("a valid date");
        Person {
            region: Region::parse(country.region).expect("the built-in regions are known"),
            phone,
            phone_written,
            name: format!("{first} {last}"),
            employee_id: format!("E-{:07}", self.count),
            department: DEPARTMENTS[self.rng.random_range(0..DEPARTMENTS.len())],
            job_title: TITLES[self.rng.random_range(0..TITLES.len())],
            location: country.cities[self.rng.random_range(0..country.cities.len())],
            hire_date: epoch + Duration::days(self.rng.random_range(0..7300)),
            remote: self.rng.random_bool(0.2),
            level: self.rng.random_range(1..=9),
        }
    }
}

/// Writes `rows` synthetic users as an import CSV.
pub fn write_users_csv(rows: u64, seed: u64, out: impl Write) -> csv::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(header())?;
    let mut people = People::new(seed);
    for _ in 0..rows {
        writer.write_record(people.next_person().cells())?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_file() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_users_csv(300, 7, &mut a).unwrap();
        write_users_csv(300, 7, &mut b).unwrap();
        assert_eq!(a, b);
        let mut c = Vec::new();
        write_users_csv(300, 8, &mut c).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn every_person_has_a_distinct_valid_phone_that_reparses_from_how_it_is_written() {
        let mut people = People::new(1);
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let p = people.next_person();
            assert_eq!(
                PhoneNumber::parse(&p.phone_written, p.region).unwrap(),
                p.phone
            );
            assert!(seen.insert(p.phone.clone()), "duplicate {}", p.phone);
        }
    }
}
