//! `p2mp experiment`: the three classic experiments, or a custom sweep, in simulation (default)
//! or as real transfers over loopback UDP (`--real`), with the analytic model beside them.
//!
//! Output: a table per sweep on stdout; `--csv`, `--svg`, `--png` files, or all three per sweep
//! in `--out DIR`. A progress bar on stderr when it is a terminal.

use crate::error::{NativeError, Result};
use crate::experiment_real::{calibrate_host_cost, real_delay_secs};
use crate::units::{parse_duration, parse_size};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use p2mp_core::experiment::{classic_base, csv, simulate_once, svg, table, Param, Point, Stats, Sweep};
use p2mp_core::model::expected_delay_secs;
use p2mp_core::sim::{LinkConfig, SimConfig};
use p2mp_core::RtoPolicy;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most points one sweep may have.
const MAX_POINTS: usize = 1000;

/// Segments of the lossless transfer that calibrates the host cost for `--real`.
const CALIBRATION_SEGMENTS: u64 = 100;

/// Options of `p2mp experiment`.
#[derive(Debug, Clone, Args)]
pub struct ExperimentArgs {
    /// A classic experiment: 1 (n = 1..5), 2 (MSS 100..1000), 3 (p = 0.01..0.10), or all.
    #[arg(long, value_parser = ["1", "2", "3", "all"], conflicts_with_all = ["n", "mss", "p"])]
    pub task: Option<String>,
    /// Receivers: a value (3) or a range (1..5, or 1..9:2 with a step). Default 3.
    #[arg(long, value_name = "N|A..B[:STEP]")]
    pub n: Option<String>,
    /// Maximum segment size in bytes: a value (500) or a range (100..1000:100). Default 500.
    #[arg(long, value_name = "MSS|A..B[:STEP]")]
    pub mss: Option<String>,
    /// Loss probability: a value (0.05) or a range (0.01..0.10:0.01). Default 0.05.
    #[arg(long, value_name = "P|A..B[:STEP]")]
    pub p: Option<String>,
    /// File size (10MB, 500KB, 2MiB, or bytes).
    #[arg(long, default_value = "10MB", value_parser = parse_size)]
    pub size: u64,
    /// Transfers per point.
    #[arg(long, default_value_t = 5)]
    pub runs: u32,
    /// Round-trip time (the simulator uses half of it each way; --real holds each reply this long).
    #[arg(long, default_value = "10ms", value_parser = parse_duration)]
    pub rtt: Duration,
    /// Retransmission timeout: a duration (1s, 100ms) for the original fixed timer, or
    /// `adaptive` for RFC 6298 (initial 1 s, bounds 1 ms..60 s).
    #[arg(long, default_value = "1s", value_parser = parse_timeout)]
    pub timeout: RtoPolicy,
    /// Seed of the first run (run k uses seed + k).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Real transfers over loopback UDP instead of the simulator (the simulation is shown beside).
    #[arg(long)]
    pub real: bool,
    /// Write the table as CSV here (with several sweeps, `-taskK` is added before the extension).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write the SVG plot here.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Write the plot as PNG here.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Write NAME.csv, NAME.svg and NAME.png per sweep into this directory (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Parses `--timeout`: `adaptive` or a positive duration.
pub fn parse_timeout(s: &str) -> std::result::Result<RtoPolicy, String> {
    if s.trim().eq_ignore_ascii_case("adaptive") {
        return Ok(RtoPolicy::adaptive());
    }
    let d = parse_duration(s).map_err(|e| format!("{e}, or `adaptive`"))?;
    if d.is_zero() {
        return Err("the timeout must be positive".into());
    }
    Ok(RtoPolicy::Fixed { timeout: d })
}

/// A sweep to run and the base name of its files.
#[derive(Clone, Debug)]
pub struct Planned {
    /// File base name: `task1`, `sweep-p`, ... with `-adaptive` and `-real` as they apply.
    pub name: String,
    /// The sweep.
    pub sweep: Sweep,
}

/// Parses a parameter's value or range (`A..B[:STEP]`) into its values; `true` for a range.
pub fn parse_values(param: Param, s: &str) -> Result<(Vec<f64>, bool)> {
    let bad = |why: &str| NativeError::usage(format!("invalid --{} `{s}`: {why}", param.name()));
    let num = |t: &str| -> Result<f64> {
        t.trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| bad("not a number"))
    };
    let (values, range) = match s.split_once("..") {
        None => (vec![num(s)?], false),
        Some((lo, rest)) => {
            let (hi, step) = match rest.split_once(':') {
                Some((hi, step)) => (hi, Some(num(step)?)),
                None => (rest, None),
            };
            let (lo, hi) = (num(lo)?, num(hi)?);
            let step = step.unwrap_or(match param {
                Param::N => 1.0,
                Param::Mss => 100.0,
                Param::P => 0.01,
            });
            if step <= 0.0 {
                return Err(bad("the step must be positive"));
            }
            if hi < lo {
                return Err(bad("the range is empty (end below start)"));
            }
            let count = ((hi - lo) / step + 1e-9).floor() + 1.0;
            if count > MAX_POINTS as f64 {
                return Err(bad(&format!("more than {MAX_POINTS} points")));
            }
            // Rounded so that 0.01..0.10:0.01 gives 0.07, not 0.07000000000000001.
            let values = (0..count as usize).map(|k| ((lo + k as f64 * step) * 1e9).round() / 1e9).collect();
            (values, true)
        }
    };
    for &v in &values {
        match param {
            Param::N if v.fract() != 0.0 || !(1.0..=1000.0).contains(&v) => {
                return Err(bad("receivers must be whole numbers from 1 to 1000"))
            }
            Param::Mss if v.fract() != 0.0 || !(1.0..=65_000.0).contains(&v) => {
                return Err(bad("the MSS must be a whole number of bytes from 1 to 65000"))
            }
            Param::P if !(0.0..1.0).contains(&v) => return Err(bad("p must satisfy 0 <= p < 1")),
            _ => {}
        }
    }
    Ok((values, range))
}

fn human_size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    match bytes {
        0 => "0 B".into(),
        b if b % 1_000_000 == 0 => format!("{} MB", b / 1_000_000),
        b if b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b % 1000 == 0 => format!("{} KB", b / 1000),
        b if b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} B"),
    }
}

fn human_duration(d: Duration) -> String {
    if d.as_micros().is_multiple_of(1_000_000) {
        format!("{} s", d.as_secs())
    } else if d.as_micros().is_multiple_of(1000) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} us", d.as_micros())
    }
}

fn policy_label(p: &RtoPolicy) -> String {
    match p {
        RtoPolicy::Fixed { timeout } => format!("{} timeout", human_duration(*timeout)),
        RtoPolicy::Adaptive { .. } => "adaptive RTO".into(),
    }
}

/// Turns the options into the sweeps to run (validating everything first).
pub fn plan(args: &ExperimentArgs) -> Result<Vec<Planned>> {
    if args.runs == 0 {
        return Err(NativeError::usage("--runs must be at least 1"));
    }
    if args.size == 0 {
        return Err(NativeError::usage("--size must be at least 1 byte"));
    }
    if args.rtt.is_zero() && args.real {
        return Err(NativeError::usage("--real needs a positive --rtt"));
    }
    let base = SimConfig {
        file_size: args.size,
        link: LinkConfig::with_delay(args.rtt / 2),
        policy: args.timeout,
        seed: args.seed,
        ..classic_base()
    };
    let mut sweeps: Vec<(String, Sweep)> = match args.task.as_deref() {
        Some(task) => {
            let all = [
                ("task1", Sweep::task1(base.clone())),
                ("task2", Sweep::task2(base.clone())),
                ("task3", Sweep::task3(base.clone())),
            ];
            all.into_iter()
                .filter(|(name, _)| task == "all" || name.ends_with(task))
                .map(|(name, s)| (name.to_string(), s))
                .collect()
        }
        None => {
            let mut cfg = base.clone();
            let mut swept: Option<(Param, Vec<f64>)> = None;
            for (param, text) in [(Param::N, &args.n), (Param::Mss, &args.mss), (Param::P, &args.p)] {
                let Some(text) = text else { continue };
                let (values, range) = parse_values(param, text)?;
                if range {
                    if let Some((other, _)) = swept {
                        return Err(NativeError::usage(format!(
                            "only one parameter may be a range (--{} and --{} both are)",
                            other.name(),
                            param.name()
                        )));
                    }
                    swept = Some((param, values));
                } else {
                    cfg = param.apply(&cfg, values[0]);
                }
            }
            // No range: a single point, shown against n.
            let (param, values) = swept.unwrap_or((Param::N, vec![f64::from(cfg.receivers)]));
            let title = format!(
                "Delay vs {} (n = {}, MSS {}, p = {})",
                param.label(),
                if param == Param::N { "*".into() } else { cfg.receivers.to_string() },
                if param == Param::Mss { "*".into() } else { cfg.mss.to_string() },
                if param == Param::P { "*".into() } else { format!("{:.2}", cfg.loss) },
            );
            vec![(format!("sweep-{}", param.name()), Sweep { title, param, values, base: cfg, runs: 5 })]
        }
    };
    for (name, sweep) in &mut sweeps {
        sweep.runs = args.runs;
        // Kept short enough for the plot's width; the legend says real or simulated.
        sweep.title = format!(
            "{}; {}, RTT {}, {}",
            sweep.title,
            human_size(args.size),
            human_duration(args.rtt),
            policy_label(&args.timeout)
        );
        if matches!(args.timeout, RtoPolicy::Adaptive { .. }) {
            name.push_str("-adaptive");
        }
        if args.real {
            name.push_str("-real");
        }
        for &v in &sweep.values {
            let cfg = sweep.config(v, 0);
            cfg.sender_config().validate(cfg.file_size)?;
            if cfg.receivers == 0 {
                return Err(NativeError::usage("at least one receiver is needed"));
            }
            if args.real && cfg.receivers > 250 {
                return Err(NativeError::usage("--real runs at most 250 servers (127.0.0.1 to 127.0.0.250)"));
            }
        }
    }
    Ok(sweeps.into_iter().map(|(name, sweep)| Planned { name, sweep }).collect())
}

fn progress(total: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} transfers, {elapsed} (eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Simulates every run of every point of `sweeps` on all cores; results in sweep order
/// (deterministic: the same seeds give the same points whatever the thread count).
pub fn simulate_all(sweeps: &[Sweep], bar: &ProgressBar) -> Result<Vec<Vec<Point>>> {
    let jobs: Vec<(usize, usize, u32)> = sweeps
        .iter()
        .enumerate()
        .flat_map(|(s, sw)| (0..sw.values.len()).flat_map(move |v| (0..sw.runs).map(move |r| (s, v, r))))
        .collect();
    let results: Mutex<Vec<Option<Result<f64>>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(s, v, r)) = jobs.get(k) else { break };
                let sw = &sweeps[s];
                let out =
                    simulate_once(&sw.config(sw.values[v], r)).map(|(d, _)| d).map_err(NativeError::from);
                if let Ok(mut res) = results.lock() {
                    res[k] = Some(out);
                }
                bar.inc(1);
            });
        }
    });
    let mut results =
        results.into_inner().map_err(|_| NativeError::Verify("a simulation thread panicked".into()))?;
    let mut k = 0;
    let mut all = Vec::with_capacity(sweeps.len());
    for sw in sweeps {
        let mut points = Vec::with_capacity(sw.values.len());
        for &value in &sw.values {
            let mut samples = Vec::with_capacity(sw.runs as usize);
            for _ in 0..sw.runs {
                let r = results[k]
                    .take()
                    .ok_or_else(|| NativeError::Verify("a simulation did not run".into()))?;
                samples.push(r?);
                k += 1;
            }
            points.push(Point {
                value,
                stats: Stats::of(&samples),
                samples,
                model: expected_delay_secs(&sw.config(value, 0)),
                sim: None,
            });
        }
        all.push(points);
    }
    Ok(all)
}

/// Measures every point of `sweep` with real loopback transfers, the simulator's mean beside
/// each (at the same parameters, seeds and calibrated host cost). Returns the points and the
/// host cost used.
pub async fn measure_real(sweep: &Sweep, bar: &ProgressBar) -> Result<(Vec<Point>, Duration)> {
    let dir = tempfile::Builder::new()
        .prefix("p2mp-experiment-")
        .tempdir()
        .map_err(|e| NativeError::OutputFile { path: std::env::temp_dir(), reason: e.to_string() })?;
    bar.set_message("calibrating");
    let host_cost = calibrate_host_cost(&sweep.base, CALIBRATION_SEGMENTS, dir.path()).await?;
    let sweep = Sweep { base: SimConfig { host_cost, ..sweep.base.clone() }, ..sweep.clone() };
    let input = dir.path().join("input.bin");
    crate::loopback::write_random_file(&input, sweep.base.file_size, sweep.base.seed)
        .map_err(|e| NativeError::OutputFile { path: input.clone(), reason: e.to_string() })?;
    bar.set_message("real transfers");
    let mut points = Vec::with_capacity(sweep.values.len());
    for &value in &sweep.values {
        let mut samples = Vec::with_capacity(sweep.runs as usize);
        for run in 0..sweep.runs {
            samples.push(real_delay_secs(&sweep.config(value, run), &input, dir.path()).await?);
            bar.inc(1);
        }
        points.push(Point {
            value,
            stats: Stats::of(&samples),
            samples,
            model: expected_delay_secs(&sweep.config(value, 0)),
            sim: None,
        });
    }
    let sims = simulate_all(std::slice::from_ref(&sweep), &ProgressBar::hidden())?;
    for (p, s) in points.iter_mut().zip(sims.into_iter().flatten()) {
        p.sim = Some(s.stats.mean);
    }
    // `dir` is removed here, with whatever a failed transfer may have left.
    Ok((points, host_cost))
}

/// Relative errors: (mean |a/b - 1|, max |a/b - 1|) over the points, in percent.
pub fn relative_errors(pairs: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    let errs: Vec<f64> = pairs.filter(|(_, b)| *b > 0.0).map(|(a, b)| (a / b - 1.0).abs() * 100.0).collect();
    if errs.is_empty() {
        return (0.0, 0.0);
    }
    (errs.iter().sum::<f64>() / errs.len() as f64, errs.iter().copied().fold(0.0, f64::max))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{suffix}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{suffix}"),
    };
    path.with_file_name(name)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)
        .map_err(|e| NativeError::OutputFile { path: path.to_path_buf(), reason: e.to_string() })
}

fn write_outputs(
    args: &ExperimentArgs,
    planned: &Planned,
    several: bool,
    points: &[Point],
) -> Result<Vec<PathBuf>> {
    let label = if args.real { "real loopback" } else { "simulation" };
    let svg_text = svg(&planned.sweep, points, label);
    let csv_text = csv(&planned.sweep, points);
    let pick = |p: &Option<PathBuf>| {
        p.as_ref().map(|p| if several { with_suffix(p, &planned.name) } else { p.clone() })
    };
    let mut written = Vec::new();
    let mut targets: Vec<(PathBuf, &str)> = Vec::new();
    if let Some(p) = pick(&args.csv) {
        targets.push((p, "csv"));
    }
    if let Some(p) = pick(&args.svg) {
        targets.push((p, "svg"));
    }
    if let Some(p) = pick(&args.png) {
        targets.push((p, "png"));
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| NativeError::OutputFile { path: dir.clone(), reason: e.to_string() })?;
        for ext in ["csv", "svg", "png"] {
            targets.push((dir.join(format!("{}.{ext}", planned.name)), ext));
        }
    }
    for (path, kind) in targets {
        match kind {
            "csv" => write_file(&path, &csv_text)?,
            "svg" => write_file(&path, &svg_text)?,
            _ => crate::plot_png::write(&svg_text, &path)?,
        }
        written.push(path);
    }
    Ok(written)
}

/// Runs the experiment(s) and prints the tables.
pub async fn run(args: ExperimentArgs) -> Result<()> {
    let planned = plan(&args)?;
    let several = planned.len() > 1;
    let started = Instant::now();
    let transfers: u64 = planned.iter().map(|p| p.sweep.values.len() as u64 * u64::from(p.sweep.runs)).sum();
    let mode = if args.real { "real loopback UDP" } else { "simulation" };
    println!(
        "{mode}: {}, RTT {}, {}, {} run(s) per point, seed {}",
        human_size(args.size),
        human_duration(args.rtt),
        policy_label(&args.timeout),
        args.runs,
        args.seed
    );
    if args.real {
        // The model's mean delays, summed: what the real transfers will take, roughly.
        let secs: f64 = planned
            .iter()
            .flat_map(|p| {
                p.sweep
                    .values
                    .iter()
                    .map(|&v| expected_delay_secs(&p.sweep.config(v, 0)) * f64::from(p.sweep.runs))
            })
            .sum();
        println!("expected wall time (model): about {:.0} s", secs.ceil());
    }
    let bar = progress(transfers, if args.real { "real transfers" } else { "simulating" });
    let mut results: Vec<(Vec<Point>, Option<Duration>)> = Vec::new();
    if args.real {
        for p in &planned {
            let (points, cost) = measure_real(&p.sweep, &bar).await?;
            results.push((points, Some(cost)));
        }
    } else {
        let sweeps: Vec<Sweep> = planned.iter().map(|p| p.sweep.clone()).collect();
        results = simulate_all(&sweeps, &bar)?.into_iter().map(|p| (p, None)).collect();
    }
    bar.finish_and_clear();
    for (p, (points, cost)) in planned.iter().zip(&results) {
        println!();
        print!("{}", table(&p.sweep, points));
        let (mean, max) = relative_errors(points.iter().map(|p| (p.stats.mean, p.model)));
        println!(
            "{} vs model: mean error {mean:.1}%, max {max:.1}%",
            if args.real { "real" } else { "simulation" }
        );
        if let Some(cost) = cost {
            let (mean, max) = relative_errors(points.iter().filter_map(|p| p.sim.map(|s| (p.stats.mean, s))));
            println!(
                "real vs simulation: mean error {mean:.1}%, max {max:.1}% (simulated host cost {} us per datagram, calibrated)",
                cost.as_micros()
            );
        }
        for path in write_outputs(&args, p, several, points)? {
            println!("wrote {}", path.display());
        }
    }
    println!("\n{transfers} transfers in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
