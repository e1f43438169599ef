//! An HTTP receiver for the audit webhook sink: answers every POST with 200 and keeps the
//! records of each batch (`{"records": [...]}`) in arrival order. It can be stopped (the port
//! then refuses connections) and started again on the same port, to play an outage.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use legate_audit::ChainedRecord;

pub struct WebhookReceiver {
    pub port: u16,
    records: Arc<Mutex<Vec<ChainedRecord>>>,
    running: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl WebhookReceiver {
    /// Listening on a free port.
    pub fn start() -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut receiver = WebhookReceiver {
            port,
            records: Arc::default(),
            running: None,
        };
        receiver.serve(listener);
        receiver
    }

    /// `http://127.0.0.1:<port>/audit`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/audit", self.port)
    }

    /// Every record received so far, in arrival order (a batch sent twice appears twice).
    pub fn records(&self) -> Vec<ChainedRecord> {
        self.records.lock().unwrap().clone()
    }

    /// Closes the port; connections are refused until [`WebhookReceiver::start_again`].
    pub fn stop(&mut self) {
        let Some((stopping, thread)) = self.running.take() else {
            return;
        };
        stopping.store(true, Ordering::Release);
        // Wakes the accept loop so it sees the flag and drops the listener.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        let _ = thread.join();
    }

    /// Listens on the same port again, keeping what was received.
    pub fn start_again(&mut self) {
        assert!(self.running.is_none(), "the receiver is already running");
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        let stopping = Arc::new(AtomicBool::new(false));
        let records = self.records.clone();
        let flag = stopping.clone();
        let thread = thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::Acquire) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if let Some(batch) = answer(stream) {
                    records.lock().unwrap().extend(batch);
                }
            }
        });
        self.running = Some((stopping, thread));
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads one POST, answers 200 and returns its records; `None` (and no answer) for anything
/// else, so the sink sees a failure.
fn answer(stream: TcpStream) -> Option<Vec<ChainedRecord>> {
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if !line.starts_with("POST ") {
        return None;
    }
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let mut batch: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let records = serde_json::from_value(batch.get_mut("records")?.take()).ok()?;
    let mut stream = reader.into_inner();
    stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .ok()?;
    Some(records)
}
