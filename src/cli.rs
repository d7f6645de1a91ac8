//! The `wavault` command line: serve, migrate and the operators' admin commands.
use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::auth::Role;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::identity::{self, Actor};
use crate::startup::{Application, build_state};

#[derive(Parser, Debug)]
#[command(
    name = "wavault",
    version,
    about = "Encrypted, tenant-isolated WhatsApp Business data vault"
)]
pub struct Cli {
    #[command(subcommand)]
    /// Without a command, `serve`.
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP service (applies pending migrations first unless --no-migrate).
    Serve {
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Platform staff.
    Staff {
        #[command(subcommand)]
        cmd: StaffCmd,
    },
    /// Tenants.
    Tenant {
        #[command(subcommand)]
        cmd: TenantCmd,
    },
    /// Tenant users.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Key rotation.
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Background jobs.
    Jobs {
        #[command(subcommand)]
        cmd: JobsCmd,
    },
    /// Deletion certificates.
    Certificate {
        #[command(subcommand)]
        cmd: CertificateCmd,
    },
    /// Audit chains.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
}

#[derive(Subcommand, Debug)]
enum StaffCmd {
    /// Create a platform staff member (password from WAVAULT_PASSWORD or standard input).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["operator", "support"])]
        role: String,
    },
}

#[derive(Subcommand, Debug)]
enum TenantCmd {
    /// Create a tenant, its data key and its owner (password from WAVAULT_PASSWORD or stdin).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        owner_email: String,
    },
}

#[derive(Subcommand, Debug)]
enum UserCmd {
    /// Create a tenant user (password from WAVAULT_PASSWORD or standard input).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["owner", "admin", "agent"])]
        role: String,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCmd {
    /// Rewrap every tenant data key under the active master key.
    RotateMaster,
    /// Add a data-key version for a tenant and re-encrypt its values under it.
    RotateTenant {
        #[arg(long)]
        tenant: String,
        /// Finish an interrupted rotation without adding another version.
        #[arg(long)]
        resume: bool,
    },
}

#[derive(Subcommand, Debug)]
enum JobsCmd {
    /// Run due tenant wipes and retention purges once, then exit.
    RunDue,
}

#[derive(Subcommand, Debug)]
enum CertificateCmd {
    /// Check a deletion certificate's signature against the configured certificate key.
    Verify { file: std::path::PathBuf },
}

#[derive(Subcommand, Debug)]
enum AuditCmd {
    /// Check the hash chains (one tenant, or the platform chain and every tenant's).
    Verify {
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Entry point: one line on standard error and a non-zero exit on failure.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = Settings::load()
        .map_err(anyhow::Error::from)
        .and_then(|settings| {
            crate::telemetry::init(&settings.telemetry);
            let _ = rustls::crypto::ring::default_provider().install_default();
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?
                .block_on(run(cli, settings))
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wavault: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("WAVAULT_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(
        !p.is_empty(),
        "no password: set WAVAULT_PASSWORD or pipe it on standard input"
    );
    Ok(p)
}

async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve { no_migrate: false });
    if let Command::Serve { no_migrate } = command {
        let app = Application::build(settings, !no_migrate).await?;
        app.run_until_stopped().await?;
        return Ok(());
    }
    if let Command::Certificate {
        cmd: CertificateCmd::Verify { file },
    } = &command
    {
        return certificate_verify(&settings, file);
    }
    let state = build_state(settings, Arc::new(SystemClock)).await?;
    let actor = Actor::cli();
    match command {
        Command::Serve { .. } | Command::Certificate { .. } => {}
        Command::Jobs {
            cmd: JobsCmd::RunDue,
        } => {
            let r = crate::jobs::run_due(&state).await?;
            anyhow::ensure!(r.wipes_failed == 0, "{} due wipes failed", r.wipes_failed);
            println!("{}", serde_json::to_string(&r)?);
        }
        Command::Migrate => {
            state.db.migrate().await.context("migrations failed")?;
            println!("migrations applied");
        }
        Command::Staff {
            cmd: StaffCmd::Create { email, role },
        } => {
            let role: Role = role.parse().map_err(|_| anyhow::anyhow!("unknown role"))?;
            let id =
                identity::create_staff(&state, &email, &read_password()?, role, &actor).await?;
            println!("{id}");
        }
        Command::Tenant {
            cmd:
                TenantCmd::Create {
                    name,
                    slug,
                    owner_email,
                },
        } => {
            let t = identity::create_tenant(
                &state,
                &name,
                &slug,
                &owner_email,
                &read_password()?,
                &actor,
            )
            .await?;
            println!("{}", t.id);
        }
        Command::User {
            cmd:
                UserCmd::Create {
                    tenant,
                    email,
                    role,
                },
        } => {
            let role: Role = role.parse().map_err(|_| anyhow::anyhow!("unknown role"))?;
            let t = state
                .db
                .tenant_by_slug(&tenant)
                .await
                .map_err(|_| anyhow::anyhow!("no tenant with slug '{tenant}'"))?;
            let id = identity::create_user(&state, t.id, &email, &read_password()?, role, &actor)
                .await?;
            println!("{id}");
        }
        Command::Keys {
            cmd: KeysCmd::RotateMaster,
        } => {
            let n = state.keys.rotate_master().await?;
            println!(
                "rewrapped {n} data key versions under '{}'",
                state.keys.ring().active_id()
            );
        }
        Command::Keys {
            cmd: KeysCmd::RotateTenant { tenant, resume },
        } => {
            let t = state
                .db
                .tenant_by_slug(&tenant)
                .await
                .map_err(|_| anyhow::anyhow!("no tenant with slug '{tenant}'"))?;
            let r = crate::rotation::rotate_tenant(&state, t.id, resume).await?;
            println!(
                "tenant '{tenant}': key version {} active; {} rows scanned, {} values re-encrypted",
                r.active_version, r.rows_scanned, r.values_reencrypted
            );
        }
        Command::Audit {
            cmd: AuditCmd::Verify { tenant },
        } => audit_verify(&state, tenant).await?,
    }
    state.db.close().await;
    Ok(())
}

async fn audit_verify(
    state: &crate::state::AppState,
    tenant: Option<String>,
) -> anyhow::Result<()> {
    let tenants = match tenant {
        Some(slug) => vec![
            state
                .db
                .tenant_by_slug(&slug)
                .await
                .map_err(|_| anyhow::anyhow!("no tenant with slug '{slug}'"))?,
        ],
        None => {
            let p = state.db.verify_platform_audit().await?;
            println!("platform: ok={} events={}", p.ok, p.events_checked);
            anyhow::ensure!(
                p.ok,
                "platform audit chain broken at seq {:?}",
                p.first_bad_seq
            );
            all_tenants(state).await?
        }
    };
    for t in tenants {
        let tx = state.db.tenant(t.id).await?;
        let c = tx.verify_audit().await?;
        tx.commit().await?;
        println!("{}: ok={} events={}", t.slug, c.ok, c.events_checked);
        anyhow::ensure!(
            c.ok,
            "audit chain of tenant '{}' broken at seq {:?}",
            t.slug,
            c.first_bad_seq
        );
    }
    Ok(())
}

async fn all_tenants(
    state: &crate::state::AppState,
) -> anyhow::Result<Vec<entity::tenants::Model>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = state.db.list_tenants(after, 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        out.extend(page);
    }
    Ok(out)
}

/// Verifies a certificate file with the configured key; prints `ok` and what it certifies.
fn certificate_verify(settings: &Settings, file: &std::path::Path) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let signer =
        crate::crypto::CertSigner::from_seed_b64(settings.crypto.certificate_key.expose_secret())
            .map_err(|_| anyhow::anyhow!("the configured certificate key is not usable"))?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let cert: serde_json::Value =
        serde_json::from_str(&text).context("the file is not a JSON certificate")?;
    crate::wipe::certificate::verify_with(&signer, &cert)
        .context("certificate verification failed")?;
    println!(
        "ok: tenant {} wiped at {}, signed by key {}",
        cert.get("tenant_id")
            .and_then(|v| v.as_str())
            .unwrap_or("?"),
        cert.get("executed_at")
            .and_then(|v| v.as_str())
            .unwrap_or("?"),
        signer.key_id()
    );
    Ok(())
}
