//! The `steward` command: the server (API, portal and job workers) and every admin
//! command, all on the same data directory.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use steward_app::audit::{self, AuditContext, AuditFilter};
use steward_app::export::{self, TenantScopeRequest, UsersFormat};
use steward_app::exports::{self, ExportRequest, NewExport};
use steward_app::import::{ColumnMapping, ImportOptions};
use steward_app::imports::{self, Upload};
use steward_app::jobs::{self, Worker, WorkerConfig};
use steward_app::org_deletion::{self, DeletionRequest, DeletionStatus};
use steward_app::security::Proof;
use steward_app::{
    App, AppError, Caller, SystemClock, archive, demo, directory, history, import, lifecycle, orgs,
    plans, security, synthetic, tokens, user_deletions,
};
use steward_domain::text::display_safe;
use steward_domain::{AttributeDef, Job, JobId, JobKind, JobStatus, OrgId, Plan};
use steward_store::Page;
use steward_web::wire::{
    DeletedUserJson, ExportJson, HoldJson, JobJson, OrgDeletionJson, ReceiptJson, UserJson,
};
use steward_web::{Application, ServerConfig, StorageConfig};

#[derive(Parser)]
#[command(
    name = "steward",
    version,
    about = "Organization admin and data governance for team messaging"
)]
struct Cli {
    /// Data directory of the embedded store.
    #[arg(
        long,
        global = true,
        env = "STEWARD_DATA",
        default_value = "./steward-data"
    )]
    data: PathBuf,
    /// PostgreSQL URL instead of the embedded store (not supported yet).
    #[arg(
        long,
        global = true,
        env = "STEWARD_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Seconds a job stays claimed without a heartbeat before another worker resumes
    /// it (after a crash).
    #[arg(long, global = true, default_value_t = 30, env = "STEWARD_JOB_LEASE_SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    job_lease_secs: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and the job workers.
    Serve(ServeArgs),
    /// Create the demo org "Contoso" (if missing) and print how to use it.
    Demo {
        #[arg(long)]
        json: bool,
    },
    /// Manage orgs.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage org admin accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Sign-in codes sent to members.
    #[command(subcommand)]
    Otp(OtpCommand),
    /// Read an org's audit log, newest first.
    Audit {
        #[arg(long)]
        org: String,
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        action: Option<String>,
        /// Events to print, 1 to 1000.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=i64::from(audit::MAX_LIMIT)))]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Manage an org's attribute schema.
    #[command(subcommand)]
    Attributes(AttributesCommand),
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Follow and control background jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Generate synthetic data.
    #[command(subcommand)]
    Gen(GenCommand),
    /// Check export archives.
    #[command(subcommand)]
    Export(ExportCommand),
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Check every file of an archive against its manifest.json (size, rows, SHA-256);
    /// exits 1 on any mismatch, naming the file.
    Verify { file: PathBuf },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "STEWARD_LISTEN")]
    listen: String,
    /// Create the demo org on first start and print a token for it.
    #[arg(long)]
    demo: bool,
    /// Mark the session cookie Secure (set this when users reach the server over HTTPS).
    #[arg(long, env = "STEWARD_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Number of job workers (0 to 64).
    #[arg(long, default_value_t = 2, env = "STEWARD_WORKERS", value_parser = clap::value_parser!(u16).range(0..=64))]
    workers: u16,
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an org; prints its id.
    Create {
        #[arg(long)]
        name: String,
        /// Default region for phone numbers written without a country code.
        #[arg(long, default_value = "IN")]
        region: String,
        /// The org's plan: free, standard or enterprise (see the README's table).
        #[arg(long, default_value = "standard", value_parser = PLANS)]
        plan: String,
        #[arg(long)]
        json: bool,
    },
    /// Export the org's data as a zip of CSV files with a manifest, in this process;
    /// shows progress on a terminal. A run killed part-way is resumed by running the
    /// same command again.
    Export {
        #[arg(long)]
        org: String,
        /// The zip file to write (written whole, then renamed into place).
        #[arg(short = 'o', long = "output", value_name = "FILE.zip")]
        output: PathBuf,
        /// Kinds of data, comma-separated (users,groups,messages,...); all by default.
        #[arg(long, value_name = "LIST")]
        scope: Option<String>,
        /// Only what is by or about this user.
        #[arg(long, value_name = "PHONE")]
        user: Option<String>,
        /// Content and telemetry from this date (YYYY-MM-DD or RFC 3339).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Content and telemetry up to this date.
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Leave out the attachments' files (their metadata stays).
        #[arg(long)]
        no_attachments: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete the org and everything it holds, irreversibly: its sessions and tokens
    /// end at once, then its data, files and sign-in data are removed in this process,
    /// and the receipt is printed. Run it again after an interruption to finish.
    Delete {
        #[arg(long)]
        org: String,
        /// The org's name, typed again to confirm.
        #[arg(long)]
        confirm: String,
        /// Delete without a tenant export from the last 24 hours.
        #[arg(long)]
        skip_final_export: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show an org deletion's progress, or its receipt once done.
    Deletion {
        #[arg(long)]
        org: String,
        #[arg(long)]
        json: bool,
    },
    /// The org's plan, which decides the features it includes.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Show how many days deleted users stay restorable, or set it (1 to 30).
    PurgeWindow {
        #[arg(long)]
        org: String,
        /// The new window in days; without it, the window is shown.
        days: Option<i64>,
        #[arg(long)]
        json: bool,
    },
}

/// The names `--plan` and `org plan set` accept.
const PLANS: [&str; 3] = ["free", "standard", "enterprise"];

#[derive(Subcommand)]
enum PlanCommand {
    /// Put an org on a plan (audited).
    Set {
        #[arg(long)]
        org: String,
        #[arg(value_parser = PLANS)]
        plan: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token; prints it once.
    Create {
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "org-admin")]
        role: String,
        #[arg(long, default_value = "cli")]
        label: String,
        /// Days until the token expires, 1 to 3650 (never, if not given).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(tokens::MAX_TOKEN_DAYS)))]
        expires_days: Option<u32>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Add an org admin account. Reads the password from stdin, or generates one and
    /// prints it once when stdin is a terminal or empty.
    Add {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// Disable an org admin account; its sessions end at once.
    Disable {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum OtpCommand {
    /// The text messages the built-in sender kept instead of sending, newest first.
    Outbox {
        /// Messages to print, 1 to 1000.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=i64::from(security::MAX_OUTBOX)))]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AttributesCommand {
    /// Print the org's attribute schema as JSON.
    Show {
        #[arg(long)]
        org: String,
    },
    /// Replace the org's attribute schema with {"attributes": [...]} read from stdin.
    Set {
        #[arg(long)]
        org: String,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Import users from a CSV file or an Excel workbook (.xlsx, its first sheet), in
    /// this process; shows progress on a terminal and prints a summary.
    Import {
        file: PathBuf,
        #[arg(long)]
        org: String,
        /// Check the whole file and count what would change; write no user.
        #[arg(long)]
        dry_run: bool,
        /// A built-in column mapping (m365) or a JSON mapping file.
        #[arg(long, value_name = "NAME|FILE")]
        mapping: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Export users with the import template's columns, in this process; the format
    /// follows the file's extension (.csv or .xlsx).
    Export {
        #[arg(long)]
        org: String,
        /// The file to write (written whole, then renamed into place).
        #[arg(short = 'o', long = "output", value_name = "FILE.csv|FILE.xlsx")]
        output: PathBuf,
        /// A filter of the users list: an attribute (department=Sales), q=TEXT or
        /// sort=name; repeat for more.
        #[arg(long, value_name = "KEY=VALUE")]
        filter: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete a user: restorable until the org's purge window passes. With --file,
    /// delete every user listed in a CSV with a phone column, as a job in this process.
    Delete {
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        phone: Option<String>,
        #[arg(long)]
        org: String,
        /// A CSV with a phone column: delete each user it lists.
        #[arg(long)]
        file: Option<PathBuf>,
        /// With --file: check every row and count what would happen; delete no one.
        #[arg(long, requires = "file")]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Restore a deleted user with their memberships and content, as before.
    Restore {
        phone: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete a deleted user permanently now, in this process (resumes a purge that
    /// was stopped).
    Purge {
        phone: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        json: bool,
    },
    /// List the org's deleted users, with their purge dates.
    Deleted {
        #[arg(long)]
        org: String,
        #[arg(long)]
        json: bool,
    },
    /// Place a legal hold on one user (PHONE) or on the whole org (no PHONE): what it
    /// covers is never purged while it stands.
    Hold {
        phone: Option<String>,
        #[arg(long)]
        org: String,
        /// Why the data is held (required; kept in the audit log).
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// List the org's legal holds.
    Holds {
        #[arg(long)]
        org: String,
        #[arg(long)]
        json: bool,
    },
    /// Lift a legal hold (by its id); purges that were due run at the next pass.
    Release {
        hold: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        json: bool,
    },
    /// List the receipts purges left (with --phone, only that phone's: the proof it was
    /// purged).
    Receipts {
        #[arg(long)]
        org: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// List an org's jobs, newest first.
    List {
        #[arg(long)]
        org: String,
        #[arg(long)]
        json: bool,
    },
    /// Show one job.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Print a job's row errors as CSV (row, column, value, reason).
    Errors { id: String },
    /// Print an import's result file: its rows with Import Status and Import Message.
    Result { id: String },
    /// Cancel a job: at once if queued, at its next step if running.
    Cancel {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum GenCommand {
    /// Deterministic synthetic users as an import CSV on stdout.
    Users {
        /// Rows to write, up to 100 million.
        #[arg(long, value_parser = clap::value_parser!(u64).range(0..=100_000_000))]
        rows: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Fill an existing org that has no users with a deterministic synthetic tenant
    /// (for benchmarks): people with attributes, groups, memberships, messages over a
    /// year, actions with responses, connectors and telemetry.
    Tenant {
        #[arg(long)]
        org: String,
        /// People to create, up to 10 million.
        #[arg(long, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
        users: u64,
        /// Messages to create, up to 100 million.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=100_000_000))]
        messages: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbose = matches!(cli.command, Command::Serve(_));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STEWARD_LOG")
                .unwrap_or_else(|_| if verbose { "info" } else { "warn" }.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where this invocation's data lives, from `--data` and `--database-url`.
fn storage(cli: &Cli) -> StorageConfig {
    StorageConfig {
        data: cli.data.clone(),
        database_url: cli.database_url.clone(),
    }
}

fn open_app(storage: &StorageConfig) -> anyhow::Result<App> {
    let (store, blobs) = steward_web::open_backend(storage)?;
    Ok(App::new(store, blobs, Arc::new(SystemClock)))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Gen(GenCommand::Users { rows, seed }) = cli.command {
        let stdout = std::io::stdout().lock();
        synthetic::write_users_csv(
            rows,
            seed,
            std::io::BufWriter::with_capacity(1 << 16, stdout),
        )
        .context("while writing synthetic users")?;
        return Ok(());
    }
    let workers = WorkerConfig {
        lease: Duration::from_secs(cli.job_lease_secs),
        ..WorkerConfig::default()
    };
    let storage = storage(&cli);
    if let Command::Serve(args) = cli.command {
        return serve(storage, args, workers);
    }
    let app = open_app(&storage)?;
    match cli.command {
        Command::Serve(_) => unreachable!("handled above"),
        Command::Demo { json } => {
            let demo = demo::ensure(&app, demo::DemoSize::default())?;
            let secret = demo_token(&app, &demo)?;
            if json {
                print_json(&serde_json::json!({"id": demo.org.id, "token": secret}))
            } else {
                print_demo(&app, &demo, &secret, "http://127.0.0.1:8080")
            }
        }
        Command::Org(OrgCommand::Create {
            name,
            region,
            plan,
            json,
        }) => {
            let mut org = orgs::create_org(&app, &AuditContext::cli(), &name, &region)?;
            let plan = parse_plan(&plan)?;
            if plan != org.plan {
                org = plans::set_plan(&app, &AuditContext::cli(), org.id, plan)?;
            }
            if json {
                print_json(&serde_json::json!({"id": org.id}))
            } else {
                say(org.id)
            }
        }
        Command::Org(OrgCommand::Plan(PlanCommand::Set { org, plan, json })) => {
            let org = plans::set_plan(
                &app,
                &AuditContext::cli(),
                parse_org(&org)?,
                parse_plan(&plan)?,
            )?;
            if json {
                print_json(&serde_json::json!({"id": org.id, "plan": org.plan}))
            } else {
                let features: Vec<&str> = org.plan.features().iter().map(|f| f.as_str()).collect();
                say(format_args!(
                    "{} is on the {} plan; features beyond the free plan: {}",
                    display_safe(org.name.as_str()),
                    org.plan,
                    if features.is_empty() {
                        "none".to_owned()
                    } else {
                        features.join(", ")
                    }
                ))
            }
        }
        Command::Org(OrgCommand::Delete {
            org,
            confirm,
            skip_final_export,
            json,
        }) => {
            let request = DeletionRequest {
                confirm_name: confirm,
                skip_final_export,
            };
            delete_org(app, workers, &org, &request, json)
        }
        Command::Org(OrgCommand::Deletion { org, json }) => {
            let status = org_deletion::operator_status(&app, parse_org(&org)?)?
                .with_context(|| format!("no deletion of org {org} has begun"))?;
            print_deletion(&status, json)
        }
        Command::Org(OrgCommand::PurgeWindow { org, days, json }) => {
            let operator = operator(&app, &org)?;
            let window = match days {
                Some(days) => lifecycle::set_purge_window(&app, &operator, days)?,
                None => lifecycle::purge_window(&app, &operator)?,
            };
            if json {
                print_json(&serde_json::json!({"purge_window_days": window.as_days()}))
            } else {
                say(format!(
                    "Deleted users stay restorable for {} days",
                    window.as_days()
                ))
            }
        }
        Command::Token(TokenCommand::Create {
            org,
            role,
            label,
            expires_days,
            json,
        }) => {
            let operator = operator(&app, &org)?;
            let (_, secret) = tokens::issue_token(&app, &operator, &role, &label, expires_days)?;
            if json {
                print_json(&serde_json::json!({"token": secret}))
            } else {
                say(secret)
            }
        }
        Command::Attributes(AttributesCommand::Show { org }) => {
            let defs = directory::attribute_schema(&app, &operator(&app, &org)?)?;
            print_json(&serde_json::json!({"attributes": defs}))
        }
        Command::Attributes(AttributesCommand::Set { org }) => {
            #[derive(serde::Deserialize)]
            struct Schema {
                attributes: Vec<AttributeDef>,
                #[serde(default)]
                force: bool,
            }
            let operator = operator(&app, &org)?;
            let schema: Schema = serde_json::from_reader(std::io::stdin().lock()).context(
                "while reading {\"attributes\": [...], \"force\": false} from standard input",
            )?;
            let saved = directory::save_schema(&app, &operator, schema.attributes, schema.force)?;
            say(format!("{} attributes saved", saved.len()))
        }
        Command::Users(UsersCommand::Import {
            file,
            org,
            dry_run,
            mapping,
            json,
        }) => {
            let options = ImportOptions {
                dry_run,
                mapping: mapping.as_deref().map(read_mapping).transpose()?,
            };
            import_file(app, workers, &file, &org, options, json)
        }
        Command::Users(UsersCommand::Export {
            org,
            output,
            filter,
            json,
        }) => {
            let format = match output.extension().and_then(|e| e.to_str()) {
                Some(ext) => UsersFormat::parse(ext),
                None => None,
            }
            .context("the output file must end in .csv or .xlsx")?;
            let mut pairs = BTreeMap::new();
            for raw in filter {
                let (key, value) = raw
                    .split_once('=')
                    .with_context(|| format!("--filter {raw:?} is not KEY=VALUE"))?;
                pairs.insert(key.trim().to_owned(), value.to_owned());
            }
            let request = NewExport {
                what: ExportRequest::Users {
                    format,
                    filter: pairs,
                },
                retention_days: None,
            };
            export_file(app, workers, &org, request, &output, json)
        }
        Command::Org(OrgCommand::Export {
            org,
            output,
            scope,
            user,
            since,
            until,
            no_attachments,
            json,
        }) => {
            let request = NewExport {
                what: ExportRequest::Tenant(TenantScopeRequest {
                    kinds: scope,
                    since,
                    until,
                    user,
                    attachments: Some(!no_attachments),
                }),
                retention_days: None,
            };
            export_file(app, workers, &org, request, &output, json)
        }
        Command::Export(ExportCommand::Verify { file }) => verify_archive(&file),
        Command::Users(UsersCommand::Delete {
            file: Some(file),
            org,
            dry_run,
            json,
            ..
        }) => {
            let operator = operator(&app, &org)?;
            let name = file.file_name().map_or_else(
                || "deletions.csv".into(),
                |n| n.to_string_lossy().into_owned(),
            );
            let mut data = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let job = user_deletions::upload(&app, &operator, name, dry_run, &mut data)?;
            let job = run_here(&app, workers, job.id)?;
            if job.status == JobStatus::Failed {
                bail!(
                    "the deletion failed: {}",
                    display_safe(job.error.as_deref().unwrap_or("unknown reason"))
                );
            }
            if json {
                print_json(&JobJson::from(&job))
            } else {
                let c = &job.counts;
                say(format!(
                    "delete_users {} {}: {} of {} rows; {} {}, already deleted {}, failed {}",
                    job.id,
                    job.status.as_str(),
                    job.progress.done,
                    job.progress.total,
                    if dry_run { "would delete" } else { "deleted" },
                    c.get("deleted"),
                    c.get("already_deleted"),
                    c.get("failed")
                ))
            }
        }
        Command::Users(UsersCommand::Delete {
            phone: Some(phone),
            org,
            json,
            ..
        }) => {
            let user = lifecycle::delete(&app, &operator(&app, &org)?, &phone)?;
            if json {
                print_json(&DeletedUserJson::from(user))
            } else {
                say(format!(
                    "Deleted {}; restorable until {} (steward users restore {} --org {org})",
                    user.user.phone,
                    user.purge_after.format("%Y-%m-%d %H:%M UTC"),
                    user.user.phone
                ))
            }
        }
        Command::Users(UsersCommand::Delete { .. }) => {
            bail!("give the PHONE of the user to delete, or --file with a CSV of phones")
        }
        Command::Users(UsersCommand::Restore { phone, org, json }) => {
            let user = lifecycle::restore_user(&app, &operator(&app, &org)?, &phone)?;
            if json {
                print_json(&UserJson::from(user))
            } else {
                say(format!("Restored {}", user.phone))
            }
        }
        Command::Users(UsersCommand::Purge { phone, org, json }) => {
            let job = lifecycle::purge_now(&app, &operator(&app, &org)?, &phone)?;
            let job = run_here(&app, workers, job.id)?;
            if job.status == JobStatus::Failed {
                bail!(
                    "the purge failed: {}",
                    display_safe(job.error.as_deref().unwrap_or("unknown reason"))
                );
            }
            if json {
                print_json(&JobJson::from(&job))
            } else {
                say(describe(&job))
            }
        }
        Command::Users(UsersCommand::Deleted { org, json }) => {
            let users = lifecycle::deleted_users(&app, &operator(&app, &org)?)?;
            if json {
                let items: Vec<DeletedUserJson> = users.into_iter().map(Into::into).collect();
                print_json(
                    &serde_json::json!({"items": items, "next_cursor": null, "total": items.len()}),
                )
            } else {
                for v in &users {
                    say(format!(
                        "{}  deleted {} by {}  purge after {}{}",
                        v.deleted.user.phone,
                        v.deleted.deleted_at.format("%Y-%m-%d %H:%M"),
                        v.deleted.deleted_by,
                        v.deleted.purge_after.format("%Y-%m-%d %H:%M"),
                        if v.held { "  (held)" } else { "" }
                    ))?;
                }
                Ok(())
            }
        }
        Command::Users(UsersCommand::Hold {
            phone,
            org,
            reason,
            json,
        }) => {
            let hold =
                lifecycle::add_hold(&app, &operator(&app, &org)?, phone.as_deref(), &reason)?;
            if json {
                print_json(&HoldJson::from(hold))
            } else {
                say(format!(
                    "Hold {} placed (steward users release {} --org {org})",
                    hold.id, hold.id
                ))
            }
        }
        Command::Users(UsersCommand::Holds { org, json }) => {
            let holds: Vec<HoldJson> = lifecycle::holds(&app, &operator(&app, &org)?)?
                .into_iter()
                .map(Into::into)
                .collect();
            if json {
                print_json(&serde_json::json!({"items": holds}))
            } else {
                for h in &holds {
                    say(format!(
                        "{}  {}  by {} on {}: {}",
                        h.id,
                        h.phone.as_deref().unwrap_or("the whole org"),
                        display_safe(&h.created_by),
                        h.created_at.format("%Y-%m-%d %H:%M"),
                        display_safe(&h.reason)
                    ))?;
                }
                Ok(())
            }
        }
        Command::Users(UsersCommand::Release { hold, org, json }) => {
            let hold = lifecycle::remove_hold(&app, &operator(&app, &org)?, &hold)?;
            if json {
                print_json(&HoldJson::from(hold))
            } else {
                say(format!("Hold {} lifted", hold.id))
            }
        }
        Command::Users(UsersCommand::Receipts { org, phone, json }) => {
            let operator = operator(&app, &org)?;
            let receipts = match phone {
                Some(phone) => lifecycle::receipts_for_phone(&app, &operator, &phone)?,
                None => lifecycle::receipts(&app, &operator)?,
            };
            let receipts: Vec<ReceiptJson> = receipts.into_iter().map(Into::into).collect();
            if json {
                print_json(&serde_json::json!({"items": receipts}))
            } else {
                for r in &receipts {
                    let counts: Vec<String> = r
                        .counts
                        .iter()
                        .map(|(kind, n)| format!("{kind} {n}"))
                        .collect();
                    say(format!(
                        "{}  purged {} by {}  phone hash {}  {}",
                        r.id,
                        r.purged_at.format("%Y-%m-%d %H:%M"),
                        display_safe(&r.purged_by),
                        r.phone_hash,
                        counts.join(", ")
                    ))?;
                }
                Ok(())
            }
        }
        Command::Jobs(JobsCommand::List { org, json }) => {
            let page = history::list_jobs(&app, &operator(&app, &org)?, 100)?;
            if json {
                print_json(&page)
            } else {
                print_jobs(&page)
            }
        }
        Command::Jobs(JobsCommand::Show { id, json }) => {
            let job = find_job(&app, &id)?;
            if json {
                print_json(&JobJson::from(&job))
            } else {
                say(describe(&job))
            }
        }
        Command::Admin(AdminCommand::Add { org, email, json }) => {
            let operator = operator(&app, &org)?;
            let password = read_password()?;
            let (account, generated) =
                security::add_admin(&app, &operator, &email, password.as_deref())?;
            if json {
                print_json(
                    &serde_json::json!({"id": account.id, "email": account.email, "password": generated}),
                )
            } else {
                say(format!(
                    "Added org admin {} ({})",
                    account.email, account.id
                ))?;
                match generated {
                    Some(password) => say(format!("Password (shown only now): {password}")),
                    None => Ok(()),
                }
            }
        }
        Command::Admin(AdminCommand::Disable { org, email }) => {
            let account = security::disable_admin(&app, &operator(&app, &org)?, &email).map_err(
                |e| match e {
                    AppError::NotFound(_) => anyhow!("no admin account {email} in this org"),
                    other => other.into(),
                },
            )?;
            say(format!(
                "Disabled {}; its sessions have ended",
                account.email
            ))
        }
        Command::Otp(OtpCommand::Outbox { limit, json }) => {
            let outbox = security::sms_outbox(&app, limit)?;
            if json {
                let items: Vec<_> = outbox
                    .iter()
                    .map(|m| {
                        let code: String = m.body.chars().filter(char::is_ascii_digit).take(6).collect();
                        serde_json::json!({"phone": m.phone, "code": code, "body": m.body, "created_at": m.created_at})
                    })
                    .collect();
                print_json(&items)
            } else {
                for m in &outbox {
                    say(format!(
                        "{}  {}  {}",
                        m.created_at.format("%Y-%m-%d %H:%M:%S"),
                        m.phone,
                        m.body
                    ))?;
                }
                Ok(())
            }
        }
        Command::Audit {
            org,
            actor,
            action,
            limit,
            json,
        } => {
            let filter = AuditFilter {
                actor,
                action,
                limit: Some(limit),
                ..AuditFilter::default()
            };
            let page = audit::list(&app, &operator(&app, &org)?, filter)?;
            if json {
                print_json(&page)
            } else {
                for e in &page.items {
                    say(format!(
                        "{}  {:<32}  {:<18}  {}  {}",
                        e.at.format("%Y-%m-%d %H:%M:%S"),
                        e.actor,
                        e.action,
                        e.target,
                        e.outcome
                    ))?;
                }
                Ok(())
            }
        }
        Command::Jobs(JobsCommand::Errors { id }) => {
            let job = find_job(&app, &id)?;
            import::write_notes_csv(&app, job.org_id, job.id, &mut std::io::stdout().lock())?;
            Ok(())
        }
        Command::Jobs(JobsCommand::Result { id }) => {
            let job = find_job(&app, &id)?;
            import::write_result_csv(&app, job.org_id, job.id, &mut std::io::stdout().lock())?;
            Ok(())
        }
        Command::Jobs(JobsCommand::Cancel { id, json }) => {
            let job = find_job(&app, &id)?;
            let operator = Caller::operator(&app, job.org_id)?;
            let job = history::cancel_job(&app, &operator, job.id)?;
            if json {
                print_json(&JobJson::from(&job))
            } else {
                say(describe(&job))
            }
        }
        Command::Gen(GenCommand::Tenant {
            org,
            users,
            messages,
            seed,
            json,
        }) => {
            let org = parse_org(&org)?;
            let terminal = std::io::stderr().is_terminal();
            let report = synthetic::tenant::generate(
                &app,
                org,
                synthetic::tenant::TenantSize { users, messages },
                seed,
                &mut |stage, done, total| {
                    if terminal {
                        eprint!("\r{stage}: {done}/{total}\x1b[K");
                    }
                },
            )?;
            if terminal {
                eprintln!();
            }
            if json {
                print_json(&report)
            } else {
                say(format!(
                    "{} users, {} groups, {} memberships, {} messages, {} actions, {} responses, {} connectors, {} telemetry events",
                    report.users,
                    report.groups,
                    report.memberships,
                    report.messages,
                    report.actions,
                    report.responses,
                    report.connectors,
                    report.telemetry
                ))
            }
        }
        Command::Gen(GenCommand::Users { .. }) => unreachable!("handled above"),
    }
}

fn serve(storage: StorageConfig, args: ServeArgs, worker: WorkerConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("while starting the async runtime")?;
    let config = ServerConfig {
        listen: args.listen,
        workers: args.workers.into(),
        worker,
        security: steward_web::Security {
            secure_cookies: args.secure_cookies,
            ..steward_web::Security::default()
        },
        ..ServerConfig::new(storage)
    };
    let server = runtime.block_on(Application::build(config))?;
    let address = server.local_addr();
    if args.demo {
        let app = server.app();
        let demo = demo::ensure(app, demo::DemoSize::default())?;
        let secret = demo_token(app, &demo)?;
        print_demo(app, &demo, &secret, &format!("http://{address}"))?;
    }
    tracing::info!(%address, workers = args.workers, "steward is serving");
    say(format!("Steward is listening on http://{address}"))?;
    runtime.block_on(server.run_until_stopped(shutdown_signal()))?;
    tracing::info!("steward stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight and pausing jobs");
}

/// A built-in mapping's name, or a file holding a mapping as JSON.
fn read_mapping(raw: &str) -> anyhow::Result<ColumnMapping> {
    if let Some(preset) = ColumnMapping::preset(raw) {
        return Ok(preset);
    }
    let text = std::fs::read_to_string(raw).with_context(|| {
        format!(
            "{raw:?} is neither a built-in mapping ({}) nor a readable mapping file",
            ColumnMapping::PRESETS.join(", ")
        )
    })?;
    Ok(ColumnMapping::from_json(&text)?)
}

/// Runs an import in this process. If a server's worker takes the job first, follows it.
fn import_file(
    app: App,
    config: WorkerConfig,
    file: &Path,
    org: &str,
    options: ImportOptions,
    json: bool,
) -> anyhow::Result<()> {
    let operator = operator(&app, org)?;
    let open =
        || std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()));
    // The same file with the same options, still unfinished (a run that was killed):
    // resume it rather than import the file a second time.
    let job = match imports::unfinished_for_file(&app, &operator, &mut open()?, &options)? {
        Some(job) => {
            eprintln!(
                "Resuming import {} of this file, stopped at row {} of {} ({}).",
                job.id,
                job.progress.done,
                job.progress.total,
                job.status.as_str()
            );
            job
        }
        None => {
            let file_name = file
                .file_name()
                .map_or_else(|| "upload.csv".into(), |n| n.to_string_lossy().into_owned());
            let upload = Upload {
                file_name,
                options,
                idempotency_key: None,
            };
            imports::upload(&app, &operator, upload, &mut open()?)?
        }
    };
    let job = run_here(&app, config, job.id)?;
    match job.status {
        JobStatus::Failed => bail!(
            "the import failed: {}",
            display_safe(job.error.as_deref().unwrap_or("unknown reason"))
        ),
        JobStatus::Canceled => bail!("the import was canceled"),
        _ => {}
    }
    if json {
        print_json(&JobJson::from(&job))?;
    } else {
        say(describe(&job))?;
        if job.counts.get(import::FAILED) > 0 {
            say(format!(
                "The rows that failed, and why: steward jobs errors {}",
                job.id
            ))?;
        }
    }
    Ok(())
}

/// Runs a job in this process, with a progress bar. If another process holds it (a
/// server's worker, or a killed run whose lease has not ended yet), follows it and
/// takes it over once it is free. Answers the job as it ended.
fn run_here(app: &App, config: WorkerConfig, id: JobId) -> anyhow::Result<Job> {
    let shutdown = Arc::new(AtomicBool::new(false));
    let worker = Worker::new(app.clone(), Arc::new(jobs::registry()), config, shutdown);
    let progress = Progress::start(app, id);
    let mut finished = worker.run_next(Some(id))?;
    while !finished.as_ref().is_some_and(|j| j.status.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        finished = match worker.run_next(Some(id))? {
            Some(ran) => Some(ran),
            None => Some(history::find_job(app, id)?),
        };
    }
    progress.stop();
    finished.context("the job disappeared")
}

/// Runs an export in this process (or resumes the same export left unfinished by a
/// killed run) and writes its file to `output`: to a temporary file beside it,
/// fsynced, then renamed, so `output` is never a partial file.
fn export_file(
    app: App,
    config: WorkerConfig,
    org: &str,
    request: NewExport,
    output: &Path,
    json: bool,
) -> anyhow::Result<()> {
    let operator = operator(&app, org)?;
    let job = match exports::unfinished_like(&app, &operator, request.clone())? {
        Some(job) => {
            eprintln!(
                "Resuming export {} ({}), left unfinished by an earlier run.",
                job.id,
                job.status.as_str()
            );
            job
        }
        None => exports::request(&app, &operator, request)?,
    };
    let job = run_here(&app, config, job.id)?;
    match job.status {
        JobStatus::Failed => bail!(
            "the export failed: {}",
            display_safe(job.error.as_deref().unwrap_or("unknown reason"))
        ),
        JobStatus::Canceled => bail!("the export was canceled"),
        _ => {}
    }
    let (export, mut reader) = exports::download(&app, &operator, &job.id.to_string())?;
    let dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".steward-export-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    std::io::copy(&mut reader, &mut tmp).context("while writing the export file")?;
    tmp.as_file()
        .sync_all()
        .context("while writing the export file")?;
    tmp.persist(output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    if json {
        print_json(&ExportJson::from(export))
    } else {
        let file = export.file.context("the export has no file")?;
        let counts: Vec<String> = export
            .job
            .counts
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        say(format!(
            "{} {} {}: {}\nwrote {} ({} bytes, sha256 {})",
            export.job.kind.as_str(),
            export.job.id,
            export.job.status.as_str(),
            counts.join(", "),
            output.display(),
            file.size,
            file.sha256
        ))?;
        if export.job.counts.get(export::WARNINGS) > 0 {
            say(format!(
                "Rows that would not import again as they are, and why: steward jobs errors {}",
                export.job.id
            ))?;
        }
        Ok(())
    }
}

/// Checks an archive against its manifest; any mismatch fails the command, naming
/// each file that differs.
fn verify_archive(file: &Path) -> anyhow::Result<()> {
    let report = archive::verify_archive(file)
        .with_context(|| format!("cannot verify {}", file.display()))?;
    let bad: std::collections::BTreeSet<&str> =
        report.mismatches.iter().map(|m| m.name.as_str()).collect();
    for checked in report
        .files
        .iter()
        .filter(|f| !bad.contains(f.name.as_str()))
    {
        say(format!("ok        {}", display_safe(&checked.name)))?;
    }
    if report.is_intact() {
        say(format!(
            "{}: all {} files match manifest.json",
            file.display(),
            report.files.len()
        ))
    } else {
        for mismatch in &report.mismatches {
            eprintln!(
                "MISMATCH  {}: {}",
                display_safe(&mismatch.name),
                display_safe(&mismatch.problem)
            );
        }
        bail!(
            "{} does not match its manifest ({} problems)",
            file.display(),
            report.mismatches.len()
        )
    }
}

/// Deletes an org in this process, or finishes a deletion an interruption left
/// unfinished, and prints the receipt.
fn delete_org(
    app: App,
    config: WorkerConfig,
    raw_org: &str,
    request: &DeletionRequest,
    json: bool,
) -> anyhow::Result<()> {
    let org = parse_org(raw_org)?;
    let status = match org_deletion::operator_status(&app, org)? {
        // The name was confirmed when the deletion began; the org's name is gone now.
        Some(status) if status.receipt.finished_at.is_none() => {
            eprintln!(
                "Finishing the deletion of org {org}, begun {} by {}.",
                status.receipt.requested_at.format("%Y-%m-%d %H:%M:%S"),
                status.receipt.requested_by
            );
            status
        }
        Some(status) => {
            eprintln!("Org {org} was deleted already; its receipt:");
            return print_deletion(&status, json);
        }
        None => {
            let operator = Caller::operator(&app, org)?;
            org_deletion::request(&app, &operator, Proof::Operator, request)?.status
        }
    };
    let job = run_here(&app, config, status.receipt.job_id)?;
    if job.status != JobStatus::Completed {
        bail!(
            "the deletion stopped: {}; run this command again to finish it",
            display_safe(job.error.as_deref().unwrap_or(job.status.as_str()))
        );
    }
    let status = org_deletion::operator_status(&app, org)?.context("the receipt disappeared")?;
    print_deletion(&status, json)
}

fn print_deletion(status: &DeletionStatus, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(&OrgDeletionJson::from(status));
    }
    let r = &status.receipt;
    let state = match r.finished_at {
        Some(at) => format!("deleted {}", at.format("%Y-%m-%d %H:%M:%S")),
        None => "being deleted".into(),
    };
    say(format!(
        "Org {} {state}; asked by {} at {}.",
        r.org_id,
        r.requested_by,
        r.requested_at.format("%Y-%m-%d %H:%M:%S")
    ))?;
    let counts: Vec<String> = r.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    say(format!("Counts: {}", counts.join(", ")))?;
    for e in &status.events {
        say(format!(
            "{}  {:<22}  {}",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            e.step,
            e.detail
        ))?;
    }
    Ok(())
}

/// A progress bar on stderr while a job runs, when stderr is a terminal: rows done,
/// rows per second and the time left, read from the job's committed progress.
struct Progress {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(app: &App, id: JobId) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress {
                stop: None,
                thread: None,
            };
        }
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let app = app.clone();
        let thread = std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} rows, {per_sec}, ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_millis(250))
            {
                if let Ok(job) = history::find_job(&app, id) {
                    bar.set_length(job.progress.total);
                    bar.set_position(job.progress.done);
                }
            }
            bar.finish_and_clear();
        });
        Progress {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A password piped on stdin (its first line), or none when stdin is a terminal or
/// empty, in which case one is generated.
fn read_password() -> anyhow::Result<Option<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdin.lock(), &mut line)
        .context("while reading the password")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    Ok((!password.is_empty()).then_some(password))
}

fn parse_plan(raw: &str) -> anyhow::Result<Plan> {
    Plan::parse(raw)
        .with_context(|| format!("{raw:?} is not a plan: use one of {}", PLANS.join(", ")))
}

fn parse_org(raw: &str) -> anyhow::Result<OrgId> {
    raw.parse().with_context(|| {
        format!("{raw:?} is not an org id (a UUID, as printed by 'steward org create')")
    })
}

/// The operator at the command line, acting in the org of `--org`.
fn operator(app: &App, raw_org: &str) -> anyhow::Result<Caller> {
    Ok(Caller::operator(app, parse_org(raw_org)?)?)
}

/// A fresh org-admin token for the demo org, issued (and audited) by the operator.
fn demo_token(app: &App, demo: &demo::Demo) -> anyhow::Result<String> {
    let operator = Caller::operator(app, demo.org.id)?;
    let (_, secret) = tokens::issue_token(app, &operator, "org-admin", "demo", None)?;
    Ok(secret)
}

fn find_job(app: &App, raw: &str) -> anyhow::Result<Job> {
    let id: JobId = raw
        .parse()
        .with_context(|| format!("{raw:?} is not a job id"))?;
    history::find_job(app, id).with_context(|| format!("no job {id}"))
}

fn describe(job: &Job) -> String {
    let c = &job.counts;
    let counted = if job.kind == JobKind::ImportUsers {
        format!(
            "created {}, updated {}, unchanged {}, failed {}",
            c.get(import::CREATED),
            c.get(import::UPDATED),
            c.get(import::UNCHANGED),
            c.get(import::FAILED)
        )
    } else {
        c.iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!(
        "{} {} {}: {} of {} rows; {counted}",
        job.kind.as_str(),
        job.id,
        job.status.as_str(),
        job.progress.done,
        job.progress.total,
    );
    // The file name and the error (which can quote the file's headers) are the
    // uploader's text: shown safely, so no escape sequence reaches the terminal.
    if let Some(name) = &job.file_name {
        text.push_str(&format!("\nfile: {}", display_safe(name)));
    }
    if let Some(error) = &job.error {
        text.push_str(&format!("\nerror: {}", display_safe(error)));
    }
    text
}

fn print_jobs(page: &Page<Job>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<36}  {:<14}  {:<21}  {:<20}  FILE",
        "ID", "KIND", "STATUS", "CREATED"
    )?;
    for job in &page.items {
        writeln!(
            out,
            "{:<36}  {:<14}  {:<21}  {:<20}  {}",
            job.id,
            job.kind.as_str(),
            job.status.as_str(),
            job.created_at.format("%Y-%m-%d %H:%M:%S"),
            display_safe(job.file_name.as_deref().unwrap_or(""))
        )?;
    }
    Ok(())
}

fn print_demo(app: &App, demo: &demo::Demo, secret: &str, base: &str) -> anyhow::Result<()> {
    let summary = demo::summary(app, demo)?;
    let org = demo.org.id;
    let mut out = std::io::stdout().lock();
    let verb = if demo.created { "Created" } else { "Using" };
    writeln!(
        out,
        "{verb} the demo org \"{}\" ({org}): {} users, {} groups, {} messages, {} actions, {} connectors.",
        demo.org.name,
        summary.users,
        summary.groups,
        summary.messages,
        summary.actions,
        summary.connectors
    )?;
    writeln!(out, "An org-admin API token for it (shown only now):\n")?;
    writeln!(out, "  export STEWARD_TOKEN={secret}")?;
    writeln!(
        out,
        "  curl -H \"Authorization: Bearer $STEWARD_TOKEN\" '{base}/api/v1/orgs/{org}/users?limit=5'\n"
    )?;
    writeln!(
        out,
        "The portal: {base}/  (sign in with the admin's email and password)"
    )?;
    match &demo.admin_password {
        Some(password) => writeln!(
            out,
            "Admin sign-in (POST {base}/api/v1/auth/login): {} / {password}  (shown only now)",
            demo::DEMO_ADMIN
        )?,
        None => writeln!(
            out,
            "Admin sign-in: {} with the password printed when the demo was created (or add one: steward admin add --org {org} --email you@example.com)",
            demo::DEMO_ADMIN
        )?,
    }
    writeln!(
        out,
        "Members sign in by phone (POST {base}/api/v1/auth/otp/start); 'steward otp outbox' shows their codes.\n"
    )?;
    if std::io::stdout().is_terminal() {
        writeln!(
            out,
            "Import users:  steward gen users --rows 1000 > users.csv && steward users import users.csv --org {org}"
        )?;
    }
    Ok(())
}

fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn say(text: impl std::fmt::Display) -> anyhow::Result<()> {
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}
