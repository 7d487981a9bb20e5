//! The commands other than import: the workspace, and one app or all of them. Each prints
//! a view for people by default and the API's JSON with `--json`.

use crate::exit::Exit;
use connect_client::{App, Client, ClientId};
use serde::Serialize;
use std::io::{BufRead, IsTerminal, Write};

/// `connect workspace`.
pub fn workspace(client: &Client, json: bool) -> Exit {
    match client.workspace() {
        Ok(w) if json => print_json(&w),
        Ok(w) => {
            println!("Workspace  {}", w.id);
            println!("Apps       {}", w.apps_count);
            println!("Created    {}", w.created_at);
            Exit::Done
        }
        Err(e) => Exit::from_error(&e, "workspace"),
    }
}

/// `connect apps list`: every app in creation order; with `--json` one app (secret
/// included) per line.
pub fn list(client: &Client, json: bool) -> Exit {
    let mut none = true;
    for app in client.apps() {
        let app = match app {
            Ok(app) => app,
            Err(e) => return Exit::from_error(&e, "list"),
        };
        if json {
            println!(
                "{}",
                serde_json::to_string(&app).expect("answers serialize")
            );
        } else {
            if none {
                println!("{:<9}  {:<24}  NAME", "CLIENT ID", "CREATED");
            }
            // Ids and timestamps write themselves whole, without padding: pad their text.
            println!(
                "{:<9}  {:<24}  {}",
                app.client_id.as_str(),
                app.created_at.to_string(),
                app.name
            );
        }
        none = false;
    }
    if none && !json {
        println!("No apps in this workspace.");
    }
    Exit::Done
}

/// `connect apps get ID`. The view for people leaves the client secret out; `--json`
/// has it.
pub fn get(client: &Client, id: &ClientId, json: bool) -> Exit {
    match client.get_app(id) {
        Ok(app) if json => print_json(&app),
        Ok(app) => {
            print!("{}", view(&app));
            Exit::Done
        }
        Err(e) => Exit::from_error(&e, "get"),
    }
}

/// An app for people, one field a line.
fn view(app: &App) -> String {
    let mut text = String::new();
    let mut field = |name: &str, value: &str| text.push_str(&format!("{name:<14} {value}\n"));
    field("Client ID", app.client_id.as_str());
    field("Name", &app.name);
    field("Created", &app.created_at.to_string());
    field("Updated", &app.updated_at.to_string());
    match app.redirect_uris.split_first() {
        None => field("Redirect URIs", "none"),
        Some((first, rest)) => {
            field("Redirect URIs", first);
            for uri in rest {
                field("", uri);
            }
        }
    }
    let hook = &app.webhook_config;
    let webhook = match (&hook.url, hook.enabled) {
        (Some(url), true) => format!("on, {url}"),
        (Some(url), false) => format!("off ({url})"),
        (None, _) => "off".to_owned(),
    };
    field("Webhook", &webhook);
    if !hook.events.is_empty() {
        field("Events", &hook.events.join(", "));
    }
    field(
        "Client secret",
        &format!(
            "not shown here (`connect apps get {} --json` includes it)",
            app.client_id
        ),
    );
    text
}

/// `connect apps rotate-secret ID`: the new secret alone on stdout (for `$(...)`), what
/// happened on stderr; with `--json`, `{ "clientSecret": ... }`.
pub fn rotate_secret(client: &Client, id: &ClientId, json: bool) -> Exit {
    match client.rotate_client_secret(id, None) {
        Ok(rotated) if json => print_json(&rotated),
        Ok(rotated) => {
            eprintln!("New client secret of {id}; the old one no longer works:");
            println!("{}", rotated.client_secret.expose());
            Exit::Done
        }
        Err(e) => Exit::from_error(&e, "rotate-secret"),
    }
}

/// `connect apps delete ID`: asks first on a terminal, unless `--yes`; refuses to go on
/// without `--yes` when there is no terminal to ask on (a script never hangs on it).
pub fn delete(client: &Client, id: &ClientId, yes: bool, json: bool) -> Exit {
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Exit::usage(format!(
                "not deleting {id} without confirmation: there is no terminal to ask on; \
                 pass --yes to delete from a script"
            ));
        }
        let app = match client.get_app(id) {
            Ok(app) => app,
            Err(e) => return Exit::from_error(&e, "delete"),
        };
        eprint!(
            "Delete app {id} ({:?})? Its client id and secret stop working at once; this \
             cannot be undone. [y/N] ",
            app.name
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer).is_err()
            || !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
        {
            return Exit::Declined(format!("{id} not deleted"));
        }
    }
    match client.delete_app(id) {
        Ok(deleted) if json => print_json(&deleted),
        Ok(_) => {
            println!("Deleted app {id}.");
            Exit::Done
        }
        Err(e) => Exit::from_error(&e, "delete"),
    }
}

fn print_json<T: Serialize>(value: &T) -> Exit {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("answers serialize")
    );
    Exit::Done
}
