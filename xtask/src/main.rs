//! Project tasks, run as `cargo xtask <task>` (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask test [--no-browser]`: the full check CI runs. Installs what is missing (the
//!   wasm target, Trunk, the wasm-bindgen CLI, uftp for the namespaced bench, and unless
//!   `--no-browser` Chromium with its driver), then runs fmt, clippy (host, and the web crate
//!   for wasm), the tests, the core's wasm build, the web app's release build and the browser
//!   tests (`p2mp-e2e`, headless Chromium against that build), stopping at the first failure.
//! - `cargo xtask web`: installs the web tools if missing and builds the web app into `dist/`.
//! - `cargo xtask install [--no-browser]`: only the installs.
//!
//! Std only, so it builds in seconds on a fresh machine.

use std::env;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// Trunk release to install (0.22 needs a newer rustc than the project's).
const TRUNK_VERSION: &str = "0.21.14";
/// Rust target of the browser builds.
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The nodes must build on Windows; this target's standard library is all `cargo check` (and
/// clippy) need, no C cross compiler.
const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";
/// Debian packages for the browser tests.
const BROWSER_PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];
/// Debian package of the peer the namespaced bench measures against (`uftp` and `uftpd`).
const UFTP_PACKAGE: &str = "uftp";

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  test [--no-browser]     install missing tools, then fmt, clippy, tests, wasm builds (CI runs this)
  web                     install missing web tools and build the web app into dist/ (trunk build --release)
  install [--no-browser]  only install missing tools

--no-browser  do not install Chromium and chromedriver, and skip the browser tests";

/// A failed task: what went wrong, for one line on stderr.
#[derive(Debug)]
struct Failure(String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T = ()> = std::result::Result<T, Failure>;

fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(Failure(msg.into()))
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let Some((task, opts)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let mut no_browser = false;
    for o in opts {
        match o.as_str() {
            "--no-browser" if task != "web" => no_browser = true,
            _ => {
                eprintln!("error: unknown option `{o}` for `{task}`\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let mut runner = match Runner::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match task.as_str() {
        "test" => test(&mut runner, no_browser),
        "web" => web(&mut runner),
        "install" => runner.step("install tools", |r| install(r, !no_browser)),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("error: unknown task `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    runner.print_timings();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask {task}: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Everything CI checks, in order.
fn test(r: &mut Runner, no_browser: bool) -> Result {
    r.step("install tools", |r| install(r, !no_browser))?;
    r.step("fmt", |r| r.cargo(&["fmt", "--all", "--", "--check"]))?;
    // The web crate compiles on the host without Yew (its UI is cfg(target_arch = "wasm32")),
    // so the host clippy covers the whole workspace; the UI is linted for wasm next.
    r.step("clippy (host, workspace)", |r| {
        r.cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])
    })?;
    r.step("clippy (wasm, p2mp-core + p2mp-web)", |r| {
        r.cargo(&[
            "clippy",
            "-p",
            "p2mp-core",
            "-p",
            "p2mp-web",
            "--target",
            WASM_TARGET,
            "--",
            "-D",
            "warnings",
        ])
    })?;
    // The non-Linux cfg paths of the nodes (the seed's users ran Windows) are compiled here.
    r.step("clippy (windows, p2mp-native binaries)", |r| {
        ensure_target(r, WINDOWS_TARGET)?;
        r.cargo(&[
            "clippy",
            "-p",
            "p2mp-native",
            "--target",
            WINDOWS_TARGET,
            "--bins",
            "--",
            "-D",
            "warnings",
        ])
    })?;
    // The browser tests need the web build: they run after it, below.
    r.step("test (host, workspace)", |r| r.cargo(&["test", "--workspace", "--exclude", "p2mp-e2e"]))?;
    r.step("build p2mp-core for wasm", |r| r.cargo(&["build", "-p", "p2mp-core", "--target", WASM_TARGET]))?;
    r.step("web app (trunk build --release)", build_web)?;
    if no_browser {
        println!("\n==> browser tests (p2mp-e2e): skipped (--no-browser)");
    } else {
        // Headless Chromium against the dist/ just built (not a default member: run it here).
        // CI=1 turns a missing chromedriver into a failure instead of a skip: the suite must
        // not go green without having run its browser tests.
        r.step("browser tests (p2mp-e2e, headless Chromium)", |r| {
            r.run_env("cargo", &["test", "-p", "p2mp-e2e", "--", "--test-threads=1"], &[("CI", "1")])
        })?;
    }
    Ok(())
}

/// `cargo xtask web`: the tools the web build needs, then the build.
fn web(r: &mut Runner) -> Result {
    r.step("install tools", |r| install(r, false))?;
    r.step("web app (trunk build --release)", build_web)
}

/// Builds the web app into `dist/` and reports the wasm size.
///
/// Trunk runs offline (Trunk.toml), which also makes cargo offline: fetch the crates first.
fn build_web(r: &mut Runner) -> Result {
    r.cargo(&["fetch"])?;
    r.run("trunk", &["build", "--release"])?;
    let dist = r.root.join("dist");
    let entries = fs::read_dir(&dist).map_err(|e| Failure(format!("cannot list {}: {e}", dist.display())))?;
    let mut found = false;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "wasm") {
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            println!(
                "    {}: {} bytes ({:.0} KiB)",
                path.strip_prefix(&r.root).unwrap_or(&path).display(),
                len,
                len as f64 / 1024.0
            );
            found = true;
        }
    }
    if !found {
        return fail(format!("trunk left no .wasm in {}", dist.display()));
    }
    Ok(())
}

/// Installs what is missing; each check takes milliseconds when the tool is present.
fn install(r: &mut Runner, browser: bool) -> Result {
    ensure_components(r)?;
    ensure_target(r, WASM_TARGET)?;
    let bindgen = wasm_bindgen_version(&r.root)?;
    ensure_cargo_tool(r, "trunk", "trunk", TRUNK_VERSION, &["--locked"])?;
    // Not --locked: the CLI's own lockfile can need a newer rustc than ours.
    ensure_cargo_tool(r, "wasm-bindgen", "wasm-bindgen-cli", &bindgen, &[])?;
    ensure_packages(r, browser)
}

/// rustfmt and clippy come with rustup's default profile, but not with the minimal one.
fn ensure_components(r: &mut Runner) -> Result {
    for (probe, component) in [("fmt", "rustfmt"), ("clippy", "clippy")] {
        if r.quiet_ok("cargo", &[probe, "--version"]) {
            continue;
        }
        println!("    {component}: missing, installing");
        r.run("rustup", &["component", "add", component])?;
    }
    Ok(())
}

/// Installs a rustup target unless it is already there.
fn ensure_target(r: &mut Runner, target: &str) -> Result {
    let installed = r.output("rustup", &["target", "list", "--installed"])?;
    if installed.lines().any(|l| l.trim() == target) {
        println!("    {target}: present");
        return Ok(());
    }
    println!("    {target}: missing, installing");
    r.run("rustup", &["target", "add", target])
}

/// The wasm-bindgen version, from Trunk.toml's `[tools] wasm_bindgen`, checked against the
/// crate pin in web/Cargo.toml: the CLI and the crate must match exactly.
fn wasm_bindgen_version(root: &Path) -> Result<String> {
    let read =
        |p: &str| fs::read_to_string(root.join(p)).map_err(|e| Failure(format!("cannot read {p}: {e}")));
    let tools = toml_string(&read("Trunk.toml")?, "wasm_bindgen")
        .ok_or_else(|| Failure("Trunk.toml has no [tools] wasm_bindgen = \"...\"".into()))?;
    let pin = toml_string(&read("web/Cargo.toml")?, "wasm-bindgen")
        .ok_or_else(|| Failure("web/Cargo.toml has no wasm-bindgen = \"=...\"".into()))?;
    if pin.strip_prefix('=') != Some(tools.as_str()) {
        return fail(format!(
            "web/Cargo.toml pins wasm-bindgen = \"{pin}\" but Trunk.toml wants the CLI {tools}: \
             they must be equal, with `=` in Cargo.toml"
        ));
    }
    Ok(tools)
}

/// The string value of the first `key = "value"` line (enough for our two files).
fn toml_string(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        if k.trim() != key {
            return None;
        }
        let v = v.split('#').next()?.trim();
        Some(v.strip_prefix('"')?.strip_suffix('"')?.to_string())
    })
}

/// Installs `krate` at `version` with cargo unless `bin --version` already reports it.
fn ensure_cargo_tool(r: &mut Runner, bin: &str, krate: &str, version: &str, extra: &[&str]) -> Result {
    let found =
        r.output(bin, &["--version"]).ok().and_then(|out| out.split_whitespace().nth(1).map(str::to_string));
    match found.as_deref() {
        Some(v) if v == version => {
            println!("    {bin} {version}: present");
            return Ok(());
        }
        Some(v) => println!("    {bin}: found {v}, want {version}: installing"),
        None => println!("    {bin}: missing, installing {krate} {version} (takes minutes)"),
    }
    let mut args = vec!["install", krate, "--version", version, "--force"];
    args.extend_from_slice(extra);
    r.run("cargo", &args)
}

/// Debian packages: Chromium and chromedriver for the browser tests (unless `--no-browser`),
/// and uftp, which the namespaced bench and its test run beside selective repeat. Installed
/// together with apt-get as root; elsewhere a missing browser fails (its tests must run) and
/// a missing uftp is a warning (the bench measures it only where installed).
fn ensure_packages(r: &mut Runner, browser: bool) -> Result {
    let mut missing: Vec<&str> = Vec::new();
    if !browser {
        println!("    chromium: skipped (--no-browser)");
    } else if r.quiet_ok("chromium", &["--version"]) && r.quiet_ok("chromedriver", &["--version"]) {
        println!("    chromium, chromedriver: present");
    } else {
        missing.extend_from_slice(&BROWSER_PACKAGES);
    }
    if r.on_path("uftp") && r.on_path("uftpd") {
        println!("    uftp, uftpd: present");
    } else {
        missing.push(UFTP_PACKAGE);
    }
    if missing.is_empty() {
        return Ok(());
    }
    let root = r.output("id", &["-u"]).is_ok_and(|uid| uid.trim() == "0");
    if !root || !r.quiet_ok("apt-get", &["--version"]) {
        if missing.contains(&BROWSER_PACKAGES[0]) {
            return fail(format!(
                "chromium/chromedriver missing and this is not root with apt-get: install {} yourself, \
                 or pass --no-browser to skip the browser tests",
                BROWSER_PACKAGES.join(" ")
            ));
        }
        println!("    uftp: missing and this is not root with apt-get; the bench's uftp rows and their test are skipped");
        return Ok(());
    }
    println!("    {}: missing, installing with apt-get", missing.join(", "));
    r.run_env("apt-get", &["update", "-q"], &[("DEBIAN_FRONTEND", "noninteractive")])?;
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend_from_slice(&missing);
    r.run_env("apt-get", &args, &[("DEBIAN_FRONTEND", "noninteractive")])
}

/// Whether a file's permissions let someone run it (always true off Unix).
#[cfg(unix)]
fn executable(m: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o111 != 0
}

/// Whether a file's permissions let someone run it (always true off Unix).
#[cfg(not(unix))]
fn executable(_: &fs::Metadata) -> bool {
    true
}

/// Runs commands from the repository root, with cargo's bin directory on PATH, and times steps.
struct Runner {
    root: PathBuf,
    path: OsString,
    timings: Vec<(String, Duration, bool)>,
}

impl Runner {
    fn new() -> Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or_else(|| Failure("xtask is not inside the workspace".into()))?
            .to_path_buf();
        // Tools installed by `cargo install` must be found in this same run.
        let cargo_home = env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
        let mut dirs: Vec<PathBuf> = cargo_home.map(|h| h.join("bin")).into_iter().collect();
        dirs.extend(env::split_paths(&env::var_os("PATH").unwrap_or_default()));
        let path = env::join_paths(dirs).map_err(|e| Failure(format!("bad PATH: {e}")))?;
        Ok(Runner { root, path, timings: Vec::new() })
    }

    /// Runs one named, timed step.
    fn step(&mut self, name: &str, f: impl FnOnce(&mut Runner) -> Result) -> Result {
        println!("\n==> {name}");
        let start = Instant::now();
        let result = f(self);
        let took = start.elapsed();
        let ok = result.is_ok();
        println!("<== {name}: {} in {:.1}s", if ok { "ok" } else { "FAILED" }, took.as_secs_f64());
        self.timings.push((name.to_string(), took, ok));
        result.map_err(|e| Failure(format!("{name}: {e}")))
    }

    fn print_timings(&self) {
        if self.timings.is_empty() {
            return;
        }
        println!("\nsteps:");
        for (name, took, ok) in &self.timings {
            let mark = if *ok { "ok    " } else { "FAILED" };
            println!("  {mark} {:>7.1}s  {name}", took.as_secs_f64());
        }
        let total: Duration = self.timings.iter().map(|t| t.1).sum();
        println!("  total  {:>7.1}s", total.as_secs_f64());
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.args(args).current_dir(&self.root).env("PATH", &self.path);
        c
    }

    fn cargo(&mut self, args: &[&str]) -> Result {
        self.run("cargo", args)
    }

    fn run(&mut self, program: &str, args: &[&str]) -> Result {
        self.run_env(program, args, &[])
    }

    /// Runs a command with inherited output; any non-zero exit is a failure.
    fn run_env(&mut self, program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result {
        let shown = format!("{program} {}", args.join(" "));
        println!("    $ {shown}");
        let status = self
            .command(program, args)
            .envs(envs.iter().copied())
            .status()
            .map_err(|e| Failure(format!("cannot run `{shown}`: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            fail(format!("`{shown}` exited with {status}"))
        }
    }

    /// A command's stdout, if it ran and succeeded.
    fn output(&self, program: &str, args: &[&str]) -> Result<String> {
        let out = self
            .command(program, args)
            .output()
            .map_err(|e| Failure(format!("cannot run `{program}`: {e}")))?;
        if !out.status.success() {
            return fail(format!("`{program} {}` exited with {}", args.join(" "), out.status));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Whether `program` is an executable file in a directory of the runner's PATH (for tools
    /// with no harmless option to run, like uftp, which would start a transfer).
    fn on_path(&self, program: &str) -> bool {
        env::split_paths(&self.path)
            .any(|dir| fs::metadata(dir.join(program)).is_ok_and(|m| m.is_file() && executable(&m)))
    }

    /// Whether a command runs and succeeds (output discarded).
    fn quiet_ok(&self, program: &str, args: &[&str]) -> bool {
        self.output(program, args).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_string_values_of_simple_toml_lines() {
        let text = "[tools]\n# comment\nwasm_bindgen = \"0.2.130\"  # pinned\nother = 1\n";
        assert_eq!(toml_string(text, "wasm_bindgen").as_deref(), Some("0.2.130"));
        assert_eq!(toml_string(text, "other"), None);
        assert_eq!(toml_string(text, "missing"), None);
    }

    #[test]
    fn repository_pins_agree() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace");
        let v = wasm_bindgen_version(root).expect("Trunk.toml and web/Cargo.toml agree");
        assert!(v.starts_with("0.2."), "{v}");
    }
}
