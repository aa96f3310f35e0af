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
            JobKind::PurgeUsers => "purge_users",
            JobKind::DeleteOrg => "delete_org",
        }
    }

    pub fn parse(raw: &str) -> Option<JobKind> {
        [
            JobKind::ImportUsers,
            JobKind::ExportUsers,
            JobKind::ExportTenant,
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

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.failed += other.failed;
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

/// A job as the API and the CLI show it: the stored fields and how long it ran.
#[derive(Clone, Debug, Serialize)]
pub struct JobView {
    #[serde(flatten)]
    pub job: Job,
    pub duration_ms: Option<i64>,
}

impl From<Job> for JobView {
    fn from(job: Job) -> JobView {
        JobView {
            duration_ms: job.duration_ms(),
            job,
        }
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
    fn the_portal_shows_the_seed_words() {
        assert_eq!(JobStatus::Running.portal_label(), "Processing");
        assert_eq!(JobStatus::CompletedWithErrors.portal_label(), "Completed");
    }
}
