//! Background jobs: the runtime ([`runner`]: the job contract and the registry;
//! [`worker`]: claiming, leases, heartbeats, settling) and one module per job.
//!
//! To add a job: write its module (a payload type implementing [`BackgroundJob`]) and
//! register it in [`registry`]; nothing in the runtime names it.

pub mod delete_org;
pub mod delete_users;
pub mod export_tenant;
pub mod export_users;
pub mod import_users;
mod publish;
pub mod purge_users;
pub mod runner;
pub mod worker;

pub use runner::{BackgroundJob, JobContext, JobStop, Registry, checkpoint_of};
pub use worker::{Worker, WorkerConfig};

/// Every job type Steward has, for `serve`, the CLI's in-process runs and tests.
pub fn registry() -> Registry {
    Registry::new()
        .register_job_type::<crate::import::ImportUsers>()
        .register_job_type::<crate::export::ExportUsers>()
        .register_job_type::<crate::export::ExportTenant>()
        .register_job_type::<crate::lifecycle::PurgeUsers>()
        .register_job_type::<crate::org_deletion::DeleteOrg>()
        .register_job_type::<delete_users::DeleteUsers>()
}

#[cfg(test)]
mod tests {
    use steward_domain::JobKind;

    use super::*;

    #[test]
    fn the_registry_runs_every_job_steward_has_and_nothing_else() {
        let jobs = registry();
        assert!(jobs.runs(JobKind::ImportUsers));
        assert!(jobs.runs(JobKind::ExportUsers));
        assert!(jobs.runs(JobKind::ExportTenant));
        assert!(jobs.runs(JobKind::PurgeUsers));
        assert!(jobs.runs(JobKind::DeleteOrg));
        assert!(jobs.runs(JobKind::DeleteUsers));
    }

    #[test]
    #[should_panic(expected = "two job types registered for import_users")]
    fn a_kind_cannot_be_registered_twice() {
        let _ = registry().register_job_type::<crate::import::ImportUsers>();
    }
}
