//! What the client's tests share: the CLI as a command, input files, results files, a
//! scripted HTTP server double for failures the real server cannot be made to give, and a
//! proxy in front of the real server that loses answers (see [`proxy`]).

#![allow(dead_code)] // each test binary uses its own part

pub mod proxy;

use connect_e2e::api::Tenant;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The `connect` binary with the tenant's key and the server's address in its
/// environment, and nothing of the developer's.
pub fn connect(tenant: &Tenant) -> Command {
    connect_to(&tenant.server.base_url(), &tenant.key)
}

/// The `connect` binary pointed at `base_url` with `key`.
pub fn connect_to(base_url: &str, key: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_connect"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("CONNECT_API_KEY", key)
        .env("CONNECT_BASE_URL", base_url)
        .stdin(Stdio::null());
    cmd
}

/// Runs `cmd` to the end, within two minutes.
pub fn run(cmd: &mut Command) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start connect");
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(120));
        // SAFETY: kill(2) on a pid we started; at worst it has exited already.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    });
    let out = child.wait_with_output().expect("wait for connect");
    drop(watchdog);
    out
}

/// The exit status, stdout and stderr of a run, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A CSV of `n` good customers: line 1 the header, customer `i` on line `i + 2`.
pub fn customers_csv(dir: &Path, name: &str, n: usize) -> PathBuf {
    let mut text = String::from("name,redirectUris,idempotencyKey\n");
    for i in 0..n {
        text.push_str(&format!(
            "Customer {i},https://c{i}.example.com/callback https://c{i}.example.com/alt,customer-{i}\n"
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The entries of a results file (JSON Lines).
pub fn journal_entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The mode bits of a file.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// One request as the double saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub bookmark: Option<String>,
    /// Every header line, name and value, as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One scripted answer: status, extra headers, body.
pub type Scripted = (u16, Vec<(&'static str, String)>, String);

/// A server double: answers each request with the next scripted response (status,
/// extra headers, body), closing the connection after each; records what it saw.
pub struct Double {
    pub base_url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    _thread: JoinHandle<()>,
}

impl Double {
    pub fn start(script: Vec<Scripted>) -> Double {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let thread = std::thread::spawn(move || {
            let mut script = script.into_iter();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let Some(request) = read_request(&stream) else {
                    continue;
                };
                log.lock().unwrap().push(request);
                let (status, headers, body) =
                    script
                        .next()
                        .unwrap_or((599, vec![], "the double's script ran out".into()));
                answer(stream, status, &headers, &body);
            }
        });
        Double {
            base_url,
            seen,
            _thread: thread,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// A client with the default settings, pointed at this double.
    pub fn client(&self) -> connect_client::Client {
        connect_client::Client::builder(&self.base_url, "sk_workspace_test_x")
            .build()
            .unwrap()
    }
}

pub(crate) fn read_request(stream: &TcpStream) -> Option<Seen> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut start = String::new();
    reader.read_line(&mut start).ok()?;
    let mut parts = start.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let (mut length, mut key, mut bookmark) = (0usize, None, None);
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "idempotency-key" => key = Some(value.trim().to_owned()),
            "x-connect-bookmark" => bookmark = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        path,
        idempotency_key: key,
        bookmark,
        headers,
        body,
    })
}

fn answer(mut stream: TcpStream, status: u16, headers: &[(&str, String)], body: &str) {
    let mut text = format!(
        "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    let _ = stream.write_all(text.as_bytes());
}
