//! Plans and the features they include: which commercial plan an org is on decides
//! which features it may use. The table is [`Feature::needed`]; plans are ordered, and
//! each includes everything of the plans below it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The commercial plan of an org, from the smallest to the largest. Each plan includes
/// every feature of the plans before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Free,
    Standard,
    Enterprise,
}

impl Plan {
    /// Every plan, smallest first.
    pub const ALL: [Plan; 3] = [Plan::Free, Plan::Standard, Plan::Enterprise];

    /// The plan of an org created without naming one, and of orgs created before plans
    /// could be changed.
    pub const DEFAULT: Plan = Plan::Standard;

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Standard => "standard",
            Plan::Enterprise => "enterprise",
        }
    }

    pub fn parse(raw: &str) -> Option<Plan> {
        match raw {
            "free" => Some(Plan::Free),
            "standard" => Some(Plan::Standard),
            "enterprise" => Some(Plan::Enterprise),
            _ => None,
        }
    }

    /// Whether an org on this plan may use `feature`.
    pub fn includes(self, feature: Feature) -> bool {
        self >= feature.needed()
    }

    /// The features this plan includes, in [`Feature::ALL`] order.
    pub fn features(self) -> Vec<Feature> {
        Feature::ALL
            .into_iter()
            .filter(|f| self.includes(*f))
            .collect()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A feature that not every plan includes. Everything not listed here is on every plan
/// (a member's export of their own data, which the law grants, is never gated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// The tenant data archive (`kind: "tenant"` exports, `steward org export`).
    TenantExport,
}

impl Feature {
    pub const ALL: [Feature; 1] = [Feature::TenantExport];

    /// The smallest plan that includes the feature (and so every larger plan does).
    pub fn needed(self) -> Plan {
        match self {
            Feature::TenantExport => Plan::Standard,
        }
    }

    /// The stable name, as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::TenantExport => "tenant_export",
        }
    }

    /// What the feature is, for a sentence.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::TenantExport => "exporting the tenant's data",
        }
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_export_is_on_standard_and_enterprise_but_not_free() {
        assert!(!Plan::Free.includes(Feature::TenantExport));
        assert!(Plan::Standard.includes(Feature::TenantExport));
        assert!(Plan::Enterprise.includes(Feature::TenantExport));
        assert_eq!(Feature::TenantExport.needed(), Plan::Standard);
    }

    #[test]
    fn every_plan_includes_what_the_smaller_plans_include() {
        for pair in Plan::ALL.windows(2) {
            for feature in pair[0].features() {
                assert!(pair[1].includes(feature), "{} {feature}", pair[1]);
            }
        }
        assert!(Plan::Free.features().is_empty());
    }

    #[test]
    fn plans_read_back_from_their_names() {
        for plan in Plan::ALL {
            assert_eq!(Plan::parse(plan.as_str()), Some(plan));
        }
        assert_eq!(Plan::parse("gold"), None);
    }
}
