//! A proxy in front of the real server that can lose answers: each request is carried to
//! the server and its answer relayed, except the answers of the batches it is told to
//! lose, where the connection is closed without a word after the server has answered.
//! That is a write committed whose answer never came back (a network cut, a crash of a
//! middlebox), which the real server cannot be made to do by itself.

use super::{read_request, Seen};
use connect_e2e::Server;
use std::collections::HashSet;
use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// What the proxy does with the answers of `POST /connect/v1/apps/batch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answers {
    /// Every answer relayed.
    Relay,
    /// The answers of the `n`-th distinct batch (by `Idempotency-Key`, from 0) and of every
    /// later one are lost, however often each is retried; earlier ones are relayed.
    LoseBatchesFrom(usize),
}

#[derive(Default)]
struct Log {
    seen: Vec<Seen>,
    batch_keys: Vec<String>,
}

pub struct Proxy {
    pub base_url: String,
    answers: Arc<Mutex<Answers>>,
    log: Arc<Mutex<Log>>,
    _thread: JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `server`, relaying every answer until told otherwise.
    pub fn start(server: &'static Server) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let answers = Arc::new(Mutex::new(Answers::Relay));
        let log = Arc::new(Mutex::new(Log::default()));
        let (rule, kept) = (answers.clone(), log.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let Some(request) = read_request(&stream) else {
                    continue;
                };
                let lose = {
                    let mut log = kept.lock().unwrap();
                    log.seen.push(request.clone());
                    let batch =
                        request.method == "POST" && request.path == "/connect/v1/apps/batch";
                    match (batch, &request.idempotency_key) {
                        (true, Some(key)) => {
                            if !log.batch_keys.contains(key) {
                                log.batch_keys.push(key.clone());
                            }
                            let index = log.batch_keys.iter().position(|k| k == key).unwrap();
                            matches!(*rule.lock().unwrap(), Answers::LoseBatchesFrom(n) if index >= n)
                        }
                        _ => false,
                    }
                };
                relay(server, &request, stream, lose);
            }
        });
        Proxy {
            base_url,
            answers,
            log,
            _thread: thread,
        }
    }

    pub fn set(&self, answers: Answers) {
        *self.answers.lock().unwrap() = answers;
    }

    /// Every request seen, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().seen.clone()
    }

    /// The batch requests seen (every attempt).
    pub fn batch_requests(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == "POST" && s.path == "/connect/v1/apps/batch")
            .collect()
    }

    /// Forgets what was seen.
    pub fn clear(&self) {
        *self.log.lock().unwrap() = Log::default();
    }
}

/// Sends `request` to the server and relays its answer, or loses it.
fn relay(server: &Server, request: &Seen, mut stream: TcpStream, lose: bool) {
    let skip: HashSet<&str> = ["host", "connection", "content-length"].into();
    let mut to_server = server.request(&request.method, &request.path);
    for (name, value) in &request.headers {
        if !skip.contains(name.to_ascii_lowercase().as_str()) {
            to_server = to_server.header(name, value);
        }
    }
    if !request.body.is_empty() {
        to_server = to_server.body(request.body.clone());
    }
    let answer = to_server.try_send();
    let Ok(answer) = answer else {
        return; // the server did not answer: neither does the proxy
    };
    if lose {
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    let mut text = format!("HTTP/1.1 {} {}\r\n", answer.status, answer.reason).into_bytes();
    for (name, value) in &answer.headers {
        let lower = name.to_ascii_lowercase();
        if !["transfer-encoding", "content-length", "connection"].contains(&lower.as_str()) {
            text.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
    }
    text.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            answer.body.len()
        )
        .as_bytes(),
    );
    text.extend_from_slice(&answer.body);
    let _ = stream.write_all(&text);
}
