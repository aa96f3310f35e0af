//! Background jobs as the rest of the system sees them: kind, status, progress, counts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{JobId, OrgId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    ImportUsers,
    ExportUsers,
    ExportTenant,
    DeleteUsers,
    PurgeUsers,
    DeleteOrg,
}

impl JobKind {
    /// The stable name stored in the jobs table and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::ImportUsers => "import_users",
            JobKind::ExportUsers => "export_users",
            JobKind::ExportTenant => "export_tenant",
            JobKind::DeleteUsers => "delete_users",
            JobKind::PurgeUsers => "purge_users",
            JobKind::DeleteOrg => "delete_org",
        }
    }

    pub fn parse(raw: &str) -> Option<JobKind> {
        [
            JobKind::ImportUsers,
            JobKind::ExportUsers,
            JobKind::ExportTenant,
            JobKind::DeleteUsers,
            JobKind::PurgeUsers,
            JobKind::DeleteOrg,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == raw)
    }
}

/// `queued -> running -> completed | completed_with_errors | failed | canceled`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Completed,
    CompletedWithErrors,
    Failed,
    Canceled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::CompletedWithErrors => "completed_with_errors",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
        }
    }

    pub fn parse(raw: &str) -> Option<JobStatus> {
        [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Completed,
            JobStatus::CompletedWithErrors,
            JobStatus::Failed,
            JobStatus::Canceled,
        ]
        .into_iter()
        .find(|status| status.as_str() == raw)
    }

    pub fn is_finished(self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running)
    }

    /// The word the seed's portal shows.
    pub fn portal_label(self) -> &'static str {
        match self {
            JobStatus::Queued => "Queued",
            JobStatus::Running => "Processing",
            JobStatus::Completed | JobStatus::CompletedWithErrors => "Completed",
            JobStatus::Failed => "Failed",
            JobStatus::Canceled => "Canceled",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// What a job counted, by name, in the order the job first named them (an import
/// counts `created`, `updated`, `unchanged` and `failed`). Shown as a JSON object, so
/// every kind of job keeps its own words without a column per word in the store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts(Vec<(String, u64)>);

impl Counts {
    /// Every name at zero, so a job that has not started yet shows what it will count.
    pub fn zero(names: &[&str]) -> Counts {
        Counts(names.iter().map(|n| ((*n).to_owned(), 0)).collect())
    }

    /// The count under `name`; zero when the job never counted it.
    pub fn get(&self, name: &str) -> u64 {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, count)| *count)
    }

    /// Adds `n` under `name`, naming it at the end if it is new.
    pub fn add(&mut self, name: &str, n: u64) {
        match self.0.iter_mut().find(|(existing, _)| existing == name) {
            Some((_, count)) => *count += n,
            None => self.0.push((name.to_owned(), n)),
        }
    }

    /// Adds every count of `other`.
    pub fn add_all(&mut self, other: &Counts) {
        for (name, n) in other.iter() {
            self.add(name, n);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(name, n)| (name.as_str(), *n))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, n) in &self.0 {
            map.serialize_entry(name, n)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Counts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Counts, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Counts;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of counts")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Counts, A::Error> {
                let mut counts = Counts::default();
                while let Some((name, n)) = map.next_entry::<String, u64>()? {
                    counts.add(&name, n);
                }
                Ok(counts)
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub org_id: OrgId,
    pub kind: JobKind,
    pub status: JobStatus,
    pub file_name: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub progress: Progress,
    pub counts: Counts,
    /// The job's own input (a serde payload of its kind).
    pub payload: serde_json::Value,
    /// Where a resumed run picks up; written in the same transaction as the work.
    pub checkpoint: Option<serde_json::Value>,
    /// How many times a worker has started this job (more than one after a crash).
    pub attempts: u32,
    pub cancel_requested: bool,
    /// Why the job failed, in one sentence.
    pub error: Option<String>,
}

impl Job {
    /// How long the job ran, from its first start to its end.
    pub fn duration_ms(&self) -> Option<i64> {
        Some((self.finished_at? - self.started_at?).num_milliseconds())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_read_back_from_their_stable_names() {
        for kind in [
            JobKind::ImportUsers,
            JobKind::ExportUsers,
            JobKind::ExportTenant,
            JobKind::DeleteUsers,
            JobKind::PurgeUsers,
            JobKind::DeleteOrg,
        ] {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for status in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Completed,
            JobStatus::CompletedWithErrors,
            JobStatus::Failed,
            JobStatus::Canceled,
        ] {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }

    #[test]
    fn counts_keep_their_order_and_read_back_from_a_json_object() {
        let mut counts = Counts::zero(&["created", "updated", "unchanged", "failed"]);
        counts.add("failed", 2);
        counts.add("skipped", 1);
        let json = serde_json::to_string(&counts).unwrap();
        assert_eq!(
            json,
            r#"{"created":0,"updated":0,"unchanged":0,"failed":2,"skipped":1}"#
        );
        let back: Counts = serde_json::from_str(&json).unwrap();
        assert_eq!(back, counts);
        assert_eq!((back.get("failed"), back.get("nothing")), (2, 0));
    }

    #[test]
    fn the_portal_shows_the_seed_words() {
        assert_eq!(JobStatus::Running.portal_label(), "Processing");
        assert_eq!(JobStatus::CompletedWithErrors.portal_label(), "Completed");
    }
}
