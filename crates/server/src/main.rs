//! The `sportello` command line. Everything it does lives in the library; this file only parses
//! arguments and wires the pieces.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sportello_server::app::DEFAULT_ORGANISATION;
use sportello_server::app::{router, AppState};
use sportello_server::clock::Clock;
use sportello_server::config::Config;
use sportello_server::staff::{self, Role};
use sportello_server::{api, db, demo, directory, local_db, processors, reminders};
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "sportello",
    about = "Sportello: the citizen-relations desk for Italian municipalities"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server and the background processors (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Fill the database with demo requests (and FAQs).
    Demo {
        #[arg(long, default_value_t = 12)]
        requests: usize,
        /// Published FAQs to add (the real examples first, then generated ones for benchmarks).
        #[arg(long, default_value_t = 0)]
        faqs: usize,
        /// Also generate a synthetic history of this many requests over `--years` years (as
        /// events, through the request aggregate), then rebuild the statistics.
        #[arg(long, default_value_t = 0)]
        history: usize,
        #[arg(long, default_value_t = 3)]
        years: u32,
        /// The history's random seed (the same seed gives the same history).
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// A request's complete event history as JSON (`sportello events 2026/0000001`), or
    /// `sportello events verify`: recompute every request's hash chain and report any break.
    Events {
        /// A request's reference, or `verify`.
        target: String,
        /// With `verify`: a signed checkpoint (a JSON file from the public page or a monthly
        /// report) the log must still contain.
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
    },
    /// Read models built from the events.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// The private MariaDB used when no database is configured.
    LocalDb {
        #[command(subcommand)]
        command: LocalDbCommand,
    },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Departments (offices that answer requests).
    Department {
        #[command(subcommand)]
        command: DepartmentCommand,
    },
    /// API clients (other systems that use /api/v1).
    ApiClient {
        #[command(subcommand)]
        command: ApiClientCommand,
    },
}

#[derive(Subcommand)]
enum ApiClientCommand {
    /// Create a client and print its token (shown this once; stored only as a hash).
    Add {
        #[arg(long)]
        name: String,
        /// requests:read, requests:write, statistics:read, events:read or webhooks:manage
        /// (repeatable).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// A department's id (repeatable): the client sees only those departments' requests.
        #[arg(long = "department")]
        departments: Vec<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a member of staff. The password is read from standard input, never from an argument.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// administrator, urp_manager, urp_operator, front_office, referent or auditor (repeatable).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// A department's name or id (repeatable; for referents).
        #[arg(long = "department")]
        departments: Vec<String>,
    },
}

#[derive(Subcommand)]
enum DepartmentCommand {
    /// Create a department.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        head_name: Option<String>,
        #[arg(long)]
        head_email: Option<String>,
    },
}

#[derive(Subcommand)]
enum ProjectionsCommand {
    /// Drop a read model (or all) and rebuild it from the events.
    Rebuild { name: Option<String> },
}

#[derive(Subcommand)]
enum LocalDbCommand {
    /// Start it (if needed) and print its URL.
    Start,
    /// Print the socket it listens on.
    Socket,
    /// Stop it.
    Stop,
}

/// Exit codes: 0 done; 1 failed (the reason on standard error, never a backtrace); 2 the
/// configuration is malformed; 3 `events verify` found breaks in the event chains.
const EXIT_FAILED: u8 = 1;
const EXIT_CONFIGURATION: u8 = 2;
const EXIT_CHAIN_BROKEN: u8 = 3;

/// What a command that ran to its end reports: done, or the chains are broken.
enum Outcome {
    Done,
    ChainBroken,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return std::process::ExitCode::from(EXIT_CONFIGURATION);
        }
    };
    init_logs(&config);
    match run(cli, config).await {
        Ok(Outcome::Done) => std::process::ExitCode::SUCCESS,
        Ok(Outcome::ChainBroken) => std::process::ExitCode::from(EXIT_CHAIN_BROKEN),
        Err(error) => {
            eprintln!("sportello: {error:#}");
            std::process::ExitCode::from(EXIT_FAILED)
        }
    }
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<Outcome> {
    let result: anyhow::Result<()> = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let (pool, _) = open_database(&config).await?;
            println!(
                "migrations applied to {}",
                pool.connect_options().get_database().unwrap_or("?")
            );
            Ok(())
        }
        Command::Demo {
            requests,
            faqs,
            history,
            years,
            seed,
        } => {
            let (pool, _) = open_database(&config).await?;
            let app = AppState::build(config, pool, Clock::system()).await?;
            if history > 0 {
                let started = std::time::Instant::now();
                let plan = demo::history::Plan {
                    requests: history,
                    days: 365 * years.max(1),
                    seed,
                    lively: false,
                };
                let generated = demo::history::generate(&app, &plan).await?;
                let written = started.elapsed();
                let statistics = sportello_projections::statistics::Statistics;
                let started = std::time::Instant::now();
                let read = sportello_projections::rebuild(&app.pool, &statistics).await?;
                println!(
                    "{} requests ({} events) over {years} years written in {:.1} s; statistics rebuilt from {read} events in {:.1} s.",
                    generated.requests,
                    generated.events,
                    written.as_secs_f64(),
                    started.elapsed().as_secs_f64()
                );
            }
            if faqs > 0 {
                demo::seed_faqs(&app, faqs).await?;
                println!("{faqs} FAQs added.");
            }
            for filed in demo::seed(&app, requests).await? {
                println!(
                    "{}  {}/segui/{}",
                    filed.reference, app.config.public_url, filed.token
                );
            }
            Ok(())
        }
        Command::Events { target, checkpoint } => {
            let (pool, _) = open_database(&config).await?;
            if target == "verify" {
                return verify_events(&pool, &config, checkpoint.as_deref()).await;
            }
            let organisation = sportello_server::app::DEFAULT_ORGANISATION;
            let Some(id) =
                sportello_server::audit::aggregate_of(&pool, organisation, &target).await?
            else {
                anyhow::bail!("no request has the reference {target}");
            };
            let events = sportello_server::audit::history(&pool, &id).await?;
            let out =
                serde_json::json!({ "aggregate_id": id, "reference": target, "events": events });
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Projections {
            command: ProjectionsCommand::Rebuild { name },
        } => {
            let (pool, _) = open_database(&config).await?;
            let projections = match name {
                None => sportello_projections::all(),
                Some(name) => vec![sportello_projections::named(&name)
                    .with_context(|| format!("no projection named {name}"))?],
            };
            for projection in projections {
                let applied = sportello_projections::rebuild(&pool, projection.as_ref()).await?;
                println!("{}: rebuilt from {applied} events", projection.name());
            }
            Ok(())
        }
        Command::LocalDb { command } => match command {
            LocalDbCommand::Start => {
                println!("{}", local_db::start(&config.data_dir).await?);
                Ok(())
            }
            LocalDbCommand::Socket => {
                println!("{}", local_db::socket_for(&config.data_dir)?.display());
                Ok(())
            }
            LocalDbCommand::Stop => local_db::stop(&config.data_dir).await,
        },
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    name,
                    roles,
                    departments,
                },
        } => {
            let (pool, _) = open_database(&config).await?;
            let roles = roles
                .iter()
                .map(|r| r.parse::<Role>().map_err(anyhow::Error::msg))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut ids = Vec::new();
            for department in &departments {
                let found =
                    directory::find_department(&pool, DEFAULT_ORGANISATION, department).await?;
                ids.push(
                    found
                        .with_context(|| format!("no department named {department}"))?
                        .id,
                );
            }
            let password = read_password()?;
            let new = staff::NewStaff {
                organisation_id: DEFAULT_ORGANISATION,
                email: &email,
                name: &name,
                password: &password,
                roles: &roles,
                departments: &ids,
            };
            let id = staff::add(&pool, new, Clock::system().now()).await?;
            println!("created {email} ({id})");
            Ok(())
        }
        Command::Department {
            command:
                DepartmentCommand::Add {
                    name,
                    email,
                    head_name,
                    head_email,
                },
        } => {
            let (pool, _) = open_database(&config).await?;
            let head = head_name.as_deref().zip(head_email.as_deref());
            let id =
                directory::add_department(&pool, DEFAULT_ORGANISATION, &name, &email, head).await?;
            println!("created department {name} ({id})");
            Ok(())
        }
        Command::ApiClient {
            command:
                ApiClientCommand::Add {
                    name,
                    scopes,
                    departments,
                },
        } => {
            let (pool, _) = open_database(&config).await?;
            let scopes = scopes
                .iter()
                .map(|code| api::Scope::of(code).with_context(|| format!("unknown scope {code}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let departments = departments
                .iter()
                .map(|id| {
                    uuid::Uuid::parse_str(id).with_context(|| format!("not a department id: {id}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let known = directory::departments(&pool, DEFAULT_ORGANISATION).await?;
            if let Some(unknown) = departments
                .iter()
                .find(|d| !known.iter().any(|k| k.id == **d))
            {
                anyhow::bail!("no department {unknown}");
            }
            if !departments.is_empty() && scopes.iter().any(|s| s.whole_organisation()) {
                anyhow::bail!(
                    "events:read and webhooks:manage are for clients of every department"
                );
            }
            if name.trim().is_empty() || name.trim().chars().count() > 200 {
                anyhow::bail!("the name must have 1 to 200 characters");
            }
            let new = api::NewClient {
                name: name.trim().to_string(),
                scopes,
                departments,
            };
            let at = Clock::system().now();
            let (_, token) =
                api::create_client(&pool, DEFAULT_ORGANISATION, uuid::Uuid::nil(), &new, at)
                    .await?;
            println!("{token}");
            Ok(())
        }
    };
    result.map(|()| Outcome::Done)
}

/// `sportello events verify [--checkpoint FILE]`: every request's chain, the whole log's chain,
/// and that the log still contains the checkpoint; each break named on standard error.
async fn verify_events(
    pool: &sqlx::MySqlPool,
    config: &Config,
    checkpoint: Option<&std::path::Path>,
) -> anyhow::Result<Outcome> {
    use sportello_server::event_store::{chain, checkpoint as checkpoints, log_chain};
    let requests = chain::verify(pool).await?;
    let log = log_chain::verify(pool, None).await?;
    let mut problems: Vec<String> = requests.breaks.iter().map(ToString::to_string).collect();
    problems.extend(log.breaks.iter().map(ToString::to_string));
    if let Some(path) = checkpoint {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let kept: checkpoints::Checkpoint = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a checkpoint", path.display()))?;
        problems.extend(checkpoints::verify(pool, &config.data_dir, &kept).await?);
    }
    let report = serde_json::json!({
        "events": requests.events, "aggregates": requests.aggregates,
        "log_entries": log.entries, "log_head": log.head_hash,
        "breaks": requests.breaks, "log_breaks": log.breaks, "problems": problems,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if problems.is_empty() {
        return Ok(Outcome::Done);
    }
    eprintln!(
        "{} problem(s) in the event log of {} events:",
        problems.len(),
        requests.events
    );
    for problem in &problems {
        eprintln!("  {problem}");
    }
    Ok(Outcome::ChainBroken)
}

/// The password from standard input: prompted without echo on a terminal, else the first line.
fn read_password() -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    if terminal {
        eprint!("Password: ");
        std::io::stderr().flush().ok();
        std::process::Command::new("stty")
            .arg("-echo")
            .status()
            .ok();
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if terminal {
        std::process::Command::new("stty").arg("echo").status().ok();
        eprintln!();
    }
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Connects (provisioning the private database when none is configured) and migrates. The flag
/// says whether the database is the private one.
async fn open_database(config: &Config) -> anyhow::Result<(sqlx::MySqlPool, bool)> {
    let (url, private) = match &config.database_url {
        Some(url) => (url.clone(), false),
        None => (local_db::start(&config.data_dir).await?, true),
    };
    let pool = db::connect(&url, 20)
        .await
        .context("connecting to the database")?;
    db::migrate(&pool).await.context("applying migrations")?;
    Ok((pool, private))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let (pool, private) = open_database(&config).await?;
    let bind = config.bind;
    let app = AppState::build(config, pool, Clock::system()).await?;
    if private && !has_events(&app).await? {
        let living = demo::living(&app).await?;
        println!("Demo content added: {} requests.", living.requests);
        if let Some(token) = living.tracking {
            println!(
                "Follow a demo request waiting for its citizen at {}/segui/{token}",
                app.config.public_url
            );
        }
        // Someone who configured the back office before the first start keeps their own.
        if let Some((email, password)) = living.staff {
            println!(
                "Back office: {}/ufficio — sign in as {email} with the password {password} (shown only now)",
                app.config.public_url
            );
        }
    }
    let (stop, shutdown) = watch::channel(false);
    let workers = processors::spawn_all(&app, shutdown);
    let mut scheduler = reminders::schedule(&app).await?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    tracing::info!(%bind, public_url = app.config.public_url, "Sportello is listening");
    println!("Sportello: open {}", app.config.public_url);
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        terminated().await;
        tracing::info!("shutting down: finishing requests in flight");
    })
    .await?;
    stop.send(true).ok();
    scheduler.shutdown().await.ok();
    for worker in workers {
        worker.await.ok();
    }
    Ok(())
}

async fn has_events(app: &AppState) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM events")
        .fetch_one(&app.pool)
        .await?
        > 0)
}

async fn terminated() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}

fn init_logs(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter)
        .unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if config.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}
