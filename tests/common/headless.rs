//! `scxtop --headless` as a child process: commands in, JSON lines out, read
//! as they come. The child is killed when dropped, so a failed assertion
//! leaves nothing running.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use super::poll_until;

pub struct Headless {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    reader: Option<thread::JoinHandle<()>>,
    /// Every line read so far, in order.
    pub seen: Vec<Value>,
}

impl Headless {
    /// Starts `cmd` (an `scxtop --headless ...` command) with piped stdio.
    pub fn start(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines,
            reader: Some(reader),
            seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            let v = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            self.seen.push(v);
        }
    }

    /// Waits until at least `n` lines seen so far satisfy `pred`; returns them.
    pub fn wait_count(
        &mut self,
        what: &str,
        n: usize,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        poll_until(what, timeout, || {
            self.drain();
            let hits: Vec<Value> = self.seen.iter().filter(|v| pred(v)).cloned().collect();
            if hits.len() >= n {
                Ok(hits)
            } else {
                Err(format!("{} lines: {:?}", self.seen.len(), self.seen.last()))
            }
        })
    }

    /// Snapshot lines seen so far.
    pub fn snapshots(&mut self) -> Vec<Value> {
        self.drain();
        self.seen
            .iter()
            .filter(|v| v.get("sched").is_some())
            .cloned()
            .collect()
    }

    /// Sends one command line.
    pub fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the child to end by itself (a signal, `quit`, `--duration`).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let status = poll_until("scxtop to exit", timeout, || {
            self.child
                .try_wait()
                .unwrap()
                .ok_or_else(|| "still running".to_string())
        });
        // The reader ends at the EOF the exit made; take all it read.
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.drain();
        status
    }

    /// Sends `quit` and waits for the exit.
    pub fn quit(&mut self, timeout: Duration) -> ExitStatus {
        self.send("quit");
        self.wait_exit(timeout)
    }
}

impl Drop for Headless {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
