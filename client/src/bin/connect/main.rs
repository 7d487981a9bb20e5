//! `connect`: provision and manage the apps of a Connect workspace from the command line.
//!
//! The key and the API's address come from `CONNECT_API_KEY` and `CONNECT_BASE_URL`
//! (`--api-key` and `--base-url` override them). The key is never printed.

mod commands;
mod exit;
mod identity;
mod import;
mod journal;
mod plan;
mod report;
mod rows;

use clap::{Parser, Subcommand};
use connect_client::{Client, ClientId};
use exit::Exit;
use std::path::PathBuf;
use std::process::ExitCode;

/// Provision and manage the OAuth apps of a Connect workspace.
///
/// Every command prints a view for people; with --json, JSON for scripts.
///
/// Exit status: 0 all done; 1 not all done (some rows not created, a deletion declined);
/// 2 usage or input error (nothing was sent); 3 server or network failure after retries,
/// 429 and 5xx included (run it again later).
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
    /// Print JSON for scripts instead of text for people.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The workspace of the key, with its app count.
    Workspace,
    /// The workspace's apps.
    #[command(subcommand)]
    Apps(Apps),
}

/// The import's manual, as `connect apps import --help` shows it.
const IMPORT_HELP: &str = "\
Creates one app per customer row of a CSV or JSON Lines file, exactly once per row, \
however often it is run.

Input: CSV with a header row naming any of name (required), redirectUris (separated by \
spaces), idempotencyKey, webhookUrl, webhookEvents (separated by spaces), in any case; \
or JSON Lines, one POST /apps/batch item per line. A column it does not know is refused \
by name unless --ignore-extra-columns.

A row is known by its idempotencyKey (your reference for the customer) when it has one, \
else by its content: without a key, an edited row is a new customer. Two rows with one \
identity are refused (the later one).

The results file (default FILE-stem.results.jsonl beside FILE; mode 0600, as it holds \
client secrets) is a journal of what was sent and what came back, written to disk before \
each batch goes out. It belongs to one workspace at one address: used with another, it is \
refused and nothing is sent. On every run:
  - a batch of an earlier run that went unanswered (a crash, a lost answer, a network \
failure) is sent again first, with its key and its rows as recorded, even if the file \
changed: the API replays its answer or creates it once;
  - rows whose app was created are never sent again (a changed one is reported, not \
updated);
  - rows the server refused are sent again once they change: fix them in the file and run \
again;
  - a run with nothing left to do sends nothing and exits 0.

Without --continue-on-error, a row that would not be created (by the server's rules, \
checked here first, or refused by the server before and unchanged) stops the import \
before anything is sent, and each batch is all or nothing. With it, every row that can be \
read is sent and judged by the server: the rows it refuses are recorded (fix them and run \
again), the others created; rows that cannot be read are reported and skipped.

An unanswered batch is replayed within 23 hours of when it was sent: the API remembers its \
key for 24 and an hour is left for clocks and the replay itself; after that the import \
stops and says what to do (--forget-unanswered).";

#[derive(Subcommand)]
enum Apps {
    /// Creates one app per row of a CSV or JSON Lines file, exactly once per row: run it
    /// again after any failure, or after fixing refused rows, to complete it.
    #[command(long_about = IMPORT_HELP)]
    Import {
        /// The customer list: .csv, or .jsonl / .ndjson.
        file: PathBuf,
        /// The results file (a JSON Lines journal). Default: FILE-stem.results.jsonl
        /// beside FILE.
        #[arg(long)]
        results: Option<PathBuf>,
        /// Import the rows that can be imported: rows the server refuses are recorded, the
        /// others created (exit 1).
        #[arg(long)]
        continue_on_error: bool,
        /// Leave out CSV columns the import does not know, rather than refusing the file.
        #[arg(long)]
        ignore_extra_columns: bool,
        /// Judge the whole file against the results file and print what a run would send;
        /// send nothing, write nothing (one read of the workspace).
        #[arg(long)]
        dry_run: bool,
        /// Rows per batch, 1 to 100 (a batch is also kept under the API's 1 MiB).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(1..=100))]
        batch_size: u8,
        /// Give up on unanswered batches older than 23 hours (the API may no longer know
        /// their key): their rows are sent again as new. Check `connect apps list` first:
        /// their apps may exist.
        #[arg(long)]
        forget_unanswered: bool,
    },
    /// Every app, in creation order: client id, creation time and name (--json: one app per
    /// line, client secret included).
    List,
    /// One app (--json: the API's App, client secret included).
    Get { client_id: String },
    /// A new client secret for the app, printed alone on stdout; the old one stops working
    /// at once.
    RotateSecret { client_id: String },
    /// Deletes the app, after asking on the terminal.
    Delete {
        client_id: String,
        /// Delete without asking (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let client = match client(&cli) {
        Ok(c) => c,
        Err(exit) => return exit.report(),
    };
    run(&client, cli.command, cli.json).report()
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

fn run(client: &Client, command: Command, json: bool) -> Exit {
    match command {
        Command::Workspace => commands::workspace(client, json),
        Command::Apps(Apps::Import {
            file,
            results,
            continue_on_error,
            ignore_extra_columns,
            dry_run,
            batch_size,
            forget_unanswered,
        }) => import::run(
            client,
            &import::Options {
                file,
                results,
                continue_on_error,
                ignore_extra_columns,
                dry_run,
                batch_size: batch_size.into(),
                forget_unanswered,
                json,
            },
        ),
        Command::Apps(Apps::List) => commands::list(client, json),
        Command::Apps(Apps::Get { client_id }) => match parse_id(&client_id) {
            Ok(id) => commands::get(client, &id, json),
            Err(exit) => exit,
        },
        Command::Apps(Apps::RotateSecret { client_id }) => match parse_id(&client_id) {
            Ok(id) => commands::rotate_secret(client, &id, json),
            Err(exit) => exit,
        },
        Command::Apps(Apps::Delete { client_id, yes }) => match parse_id(&client_id) {
            Ok(id) => commands::delete(client, &id, yes, json),
            Err(exit) => exit,
        },
    }
}

fn parse_id(raw: &str) -> Result<ClientId, Exit> {
    ClientId::parse(raw)
        .map_err(|_| Exit::usage(format!("{raw:?} is not a client id (8 letters and digits)")))
}
