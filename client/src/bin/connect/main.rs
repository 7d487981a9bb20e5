//! `connect`: provision and manage the apps of a Connect workspace from the command line.
//!
//! The key and the API's address come from `CONNECT_API_KEY` and `CONNECT_BASE_URL`
//! (`--api-key` and `--base-url` override them). The key is never printed.

mod exit;
mod import;
mod results;
mod rows;

use clap::{Parser, Subcommand};
use connect_client::{Client, ClientId};
use exit::Exit;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Provision and manage the OAuth apps of a Connect workspace.
///
/// Exit status: 0 all done, 1 some rows failed, 2 usage or input error, 3 server or
/// network failure after retries.
#[derive(Parser)]
#[command(name = "connect", version)]
struct Cli {
    /// The workspace's API key.
    #[arg(long, env = "CONNECT_API_KEY", hide_env_values = true, global = true)]
    api_key: Option<String>,
    #[arg(
        long,
        env = "CONNECT_BASE_URL",
        global = true,
        help = "The API's address, such as https://api.example.com or http://127.0.0.1:8787"
    )]
    base_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The workspace's apps.
    #[command(subcommand)]
    Apps(Apps),
    /// The workspace of the key, with its app count (JSON).
    Workspace,
}

#[derive(Subcommand)]
enum Apps {
    /// Creates one app per row of a CSV (header: name, redirectUris, idempotencyKey,
    /// webhookUrl, webhookEvents) or JSON Lines file of batch items, exactly once: run it
    /// again after any failure to complete it.
    Import {
        /// The customer list: .csv, or .jsonl / .ndjson.
        file: PathBuf,
        /// Where each line's result goes (.jsonl or .csv); it holds client secrets and is
        /// created with mode 0600. Default: beside FILE, as FILE-stem.results.jsonl.
        #[arg(long)]
        results: Option<PathBuf>,
        /// Report bad rows and skip them, rather than sending nothing.
        #[arg(long)]
        continue_on_error: bool,
    },
    /// Every app, in creation order: client id, creation time and name, tab-separated.
    List {
        /// One JSON object per app and line instead (secrets included).
        #[arg(long)]
        json: bool,
    },
    /// One app (JSON).
    Get { client_id: String },
    /// A new client secret for the app (JSON); the old one stops working at once.
    RotateSecret { client_id: String },
    /// Deletes the app.
    Delete { client_id: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let client = match client(&cli) {
        Ok(c) => c,
        Err(exit) => return exit.report(),
    };
    run(&client, cli.command).report()
}

fn client(cli: &Cli) -> Result<Client, Exit> {
    let key = cli
        .api_key
        .as_deref()
        .ok_or_else(|| Exit::usage("no API key: set CONNECT_API_KEY (or pass --api-key)"))?;
    let base = cli
        .base_url
        .as_deref()
        .ok_or_else(|| Exit::usage("no API address: set CONNECT_BASE_URL (or pass --base-url)"))?;
    Client::builder(base, key)
        .build()
        .map_err(|e| Exit::from_error(&e, "connect"))
}

fn run(client: &Client, command: Command) -> Exit {
    match command {
        Command::Workspace => print_json(client.workspace(), "workspace"),
        Command::Apps(Apps::Import {
            file,
            results,
            continue_on_error,
        }) => import::run(
            client,
            &import::Options {
                file,
                results,
                continue_on_error,
            },
        ),
        Command::Apps(Apps::List { json }) => list(client, json),
        Command::Apps(Apps::Get { client_id }) => match parse_id(&client_id) {
            Ok(id) => print_json(client.get_app(&id), "get"),
            Err(exit) => exit,
        },
        Command::Apps(Apps::RotateSecret { client_id }) => match parse_id(&client_id) {
            Ok(id) => print_json(client.rotate_client_secret(&id, None), "rotate-secret"),
            Err(exit) => exit,
        },
        Command::Apps(Apps::Delete { client_id }) => match parse_id(&client_id) {
            Ok(id) => print_json(client.delete_app(&id), "delete"),
            Err(exit) => exit,
        },
    }
}

fn parse_id(raw: &str) -> Result<ClientId, Exit> {
    ClientId::parse(raw)
        .ok_or_else(|| Exit::usage(format!("{raw:?} is not a client id (8 letters and digits)")))
}

fn print_json<T: Serialize>(result: Result<T, connect_client::Error>, doing: &str) -> Exit {
    match result {
        Ok(value) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&value).expect("answers serialize")
            );
            Exit::Done
        }
        Err(e) => Exit::from_error(&e, doing),
    }
}

fn list(client: &Client, json: bool) -> Exit {
    for app in client.apps() {
        match app {
            Ok(app) if json => println!(
                "{}",
                serde_json::to_string(&app).expect("answers serialize")
            ),
            Ok(app) => println!("{}\t{}\t{}", app.client_id, app.created_at, app.name),
            Err(e) => return Exit::from_error(&e, "list"),
        }
    }
    Exit::Done
}
