//! `talos-agent --config agent.toml`: the station agent binary. Exit codes: 0 after a clean
//! shutdown with the rotator parked, 1 when the park could not be confirmed (or the agent
//! could not start), 2 for a bad command line or configuration file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokio::sync::mpsc;
use tracing_subscriber::EnvFilter;

use talos_agent::config::{EXAMPLE_TOML, PASSWORD_ENV};
use talos_agent::{AgentConfig, Exit};

/// TALOS station agent: drives Hamlib rotctld/rigctld from the director's MQTT setpoints
/// and keeps the antenna safe (dead-man stop, park on director loss or shutdown, limits).
#[derive(Debug, Parser)]
#[command(name = "talos-agent", version)]
struct Cli {
    /// The agent's TOML configuration (see --print-example-config).
    #[arg(long, env = "TALOS_AGENT_CONFIG", required_unless_present = "print_example_config")]
    config: Option<PathBuf>,
    /// Validate the configuration file and exit (0 if valid, 2 if not).
    #[arg(long)]
    check: bool,
    /// Print the documented example configuration and exit.
    #[arg(long)]
    print_example_config: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.print_example_config {
        print!("{EXAMPLE_TOML}");
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let Some(path) = cli.config else {
        eprintln!("talos-agent: --config is required");
        return ExitCode::from(2);
    };
    let config = match AgentConfig::load(&path, std::env::var(PASSWORD_ENV).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("talos-agent: bad configuration {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    if cli.check {
        println!("{}: ok", path.display());
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("talos-agent: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(async {
        let (signals_tx, signals) = mpsc::unbounded_channel();
        tokio::spawn(forward_signals(signals_tx));
        talos_agent::run(config, signals).await
    }) {
        Ok(Exit::Parked) => ExitCode::SUCCESS,
        Ok(Exit::NotParked(_)) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("talos-agent: {e}");
            ExitCode::FAILURE
        }
    }
}

/// SIGTERM and SIGINT, each time they arrive (the second one cuts the park wait short).
async fn forward_signals(tx: mpsc::UnboundedSender<&'static str>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot install the SIGTERM/SIGINT handlers");
        return;
    };
    loop {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        if tx.send(name).is_err() {
            return;
        }
    }
}
