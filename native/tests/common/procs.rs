//! Child processes for the tests that run the real binaries: killed however a test ends,
//! waited for with a deadline, their output kept in log files.

use super::LIMIT;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Children killed when the test ends, however it ends.
pub struct Children(pub Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits for `child` until `deadline`; kills it and panics past it.
pub fn wait_until(child: &mut Child, deadline: Instant, what: &str) -> ExitStatus {
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Spawns `cmd` with stdout in `log` and stderr beside it (`.err`).
pub fn spawn_logged(mut cmd: Command, log: &Path) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(log).expect("log file"))
        .stderr(std::fs::File::create(log.with_extension("err")).expect("log file"))
        .spawn()
        .expect("spawn")
}

/// What a child wrote to [`spawn_logged`]'s logs.
pub fn read_log(log: &Path) -> String {
    let out = std::fs::read_to_string(log).unwrap_or_default();
    let err = std::fs::read_to_string(log.with_extension("err")).unwrap_or_default();
    format!("{out}{err}")
}

/// Waits until the server logging to `log` has bound its socket (it says so on stderr);
/// panics if it exits first or takes longer than [`LIMIT`].
pub fn wait_listening(child: &mut Child, log: &Path) {
    let deadline = Instant::now() + LIMIT;
    while !read_log(log).contains("listening on") {
        if let Some(s) = child.try_wait().expect("try_wait") {
            panic!("server exited early ({s}): {}", read_log(log));
        }
        assert!(Instant::now() < deadline, "server never started listening");
        std::thread::sleep(Duration::from_millis(10));
    }
}
