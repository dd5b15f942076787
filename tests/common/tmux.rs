//! A tmux session to drive the live view like a user: keys in, the screen
//! as text out. The session is killed when dropped.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::poll_until;

pub struct Tmux {
    pub name: String,
}

fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("tmux {args:?}: {e} (install tmux: scripts/install-deps.sh --test)")
        })
}

impl Tmux {
    /// Starts `script` (sh text) in a detached `width`x`height` session.
    pub fn start(tag: &str, width: u16, height: u16, script: &str, env: &[(&str, &Path)]) -> Self {
        let name = format!("scxtop-{tag}-{}", std::process::id());
        let _ = tmux(&["kill-session", "-t", &name]);
        let (w, h) = (width.to_string(), height.to_string());
        let mut args = vec!["new-session", "-d", "-s", &name, "-x", &w, "-y", &h];
        let envs: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{k}={}", v.display()))
            .collect();
        for e in &envs {
            args.extend(["-e", e]);
        }
        args.extend(["sh", "-c", script]);
        let out = tmux(&args);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The screen must not shrink when the test's own terminal is smaller.
        let _ = tmux(&["set-option", "-t", &name, "window-size", "manual"]);
        Self { name }
    }

    pub fn screen(&self) -> String {
        let out = tmux(&["capture-pane", "-p", "-t", &self.name]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends tmux key names ("q", "Tab", "C-c") one by one.
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let out = tmux(&["send-keys", "-t", &self.name, k]);
            assert!(out.status.success());
        }
    }

    /// Resizes the window, as a user dragging their terminal would. The
    /// session's window-size is manual, so this size sticks.
    pub fn resize(&self, width: u16, height: u16) {
        let (w, h) = (width.to_string(), height.to_string());
        let out = tmux(&["resize-window", "-t", &self.name, "-x", &w, "-y", &h]);
        assert!(
            out.status.success(),
            "tmux resize-window {w}x{h}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The pid of the pane's first process (the `sh -c` running the script).
    pub fn pane_pid(&self) -> i32 {
        let out = tmux(&["display-message", "-p", "-t", &self.name, "#{pane_pid}"]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// Polls the screen until `done` holds; panics with the last screen
    /// after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
        poll_until(what, timeout, || {
            let s = self.screen();
            if done(&s) { Ok(s) } else { Err(s) }
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.name]);
    }
}
