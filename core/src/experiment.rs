//! The three classic experiments (and custom sweeps): run on the simulator, summarised with
//! the analytic model beside them, exported as CSV and SVG.
//!
//! Shared by the native `p2mp experiment` command and the browser, so both compute and draw
//! the same thing.

use crate::model::expected_delay_secs;
use crate::rto::RtoPolicy;
use crate::sim::{LinkConfig, SimConfig, Simulation};
use core::fmt::Write as _;
use core::time::Duration;
use serde::{Deserialize, Serialize};

/// The parameter a sweep varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Param {
    /// Number of receivers n.
    N,
    /// Maximum segment size.
    Mss,
    /// Loss probability p.
    P,
}

impl Param {
    /// Axis label.
    pub fn label(self) -> &'static str {
        match self {
            Param::N => "receivers n",
            Param::Mss => "MSS (bytes)",
            Param::P => "loss probability p",
        }
    }

    /// Short name, as in CSV and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Param::N => "n",
            Param::Mss => "mss",
            Param::P => "p",
        }
    }

    /// `cfg` with this parameter set to `value`.
    pub fn apply(self, cfg: &SimConfig, value: f64) -> SimConfig {
        let mut c = cfg.clone();
        match self {
            Param::N => c.receivers = value.round().clamp(1.0, f64::from(u16::MAX)) as u16,
            Param::Mss => c.mss = value.round().max(1.0) as usize,
            Param::P => c.loss = value,
        }
        c
    }
}

/// A sweep: one parameter over several values, each point the mean of `runs` transfers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// Title for tables and plots.
    pub title: String,
    /// What varies.
    pub param: Param,
    /// Its values.
    pub values: Vec<f64>,
    /// Everything else.
    pub base: SimConfig,
    /// Transfers per point (seeds `base.seed .. base.seed + runs`).
    pub runs: u32,
}

/// The classic setting: a ~10 MB file, 10 ms RTT, the original 1 s timer, 5 runs per point.
pub fn classic_base() -> SimConfig {
    SimConfig {
        file_size: 10_000_000,
        mss: 500,
        receivers: 3,
        loss: 0.05,
        link: LinkConfig::with_delay(Duration::from_millis(5)),
        policy: RtoPolicy::default(),
        max_timeouts: 1000,
        trace: false,
        ..SimConfig::default()
    }
}

impl Sweep {
    /// Experiment 1: n = 1..5, MSS 500, p = 0.05.
    pub fn task1(base: SimConfig) -> Sweep {
        Sweep {
            title: "Task 1: delay vs number of receivers (MSS 500, p = 0.05)".into(),
            param: Param::N,
            values: (1..=5).map(f64::from).collect(),
            base: SimConfig { mss: 500, loss: 0.05, ..base },
            runs: 5,
        }
    }

    /// Experiment 2: MSS = 100, 200, ..., 1000 with n = 3, p = 0.05.
    pub fn task2(base: SimConfig) -> Sweep {
        Sweep {
            title: "Task 2: delay vs MSS (n = 3, p = 0.05)".into(),
            param: Param::Mss,
            values: (1..=10).map(|k| f64::from(k * 100)).collect(),
            base: SimConfig { receivers: 3, loss: 0.05, ..base },
            runs: 5,
        }
    }

    /// Experiment 3: p = 0.01, 0.02, ..., 0.10 with n = 3, MSS 500.
    pub fn task3(base: SimConfig) -> Sweep {
        Sweep {
            title: "Task 3: delay vs loss probability (n = 3, MSS 500)".into(),
            param: Param::P,
            values: (1..=10).map(|k| f64::from(k) / 100.0).collect(),
            base: SimConfig { receivers: 3, mss: 500, ..base },
            runs: 5,
        }
    }

    /// The configuration of point `value`, run `run`.
    pub fn config(&self, value: f64, run: u32) -> SimConfig {
        let mut c = self.param.apply(&self.base, value);
        c.seed = self.base.seed.wrapping_add(u64::from(run));
        c.trace = false;
        c
    }
}

/// Summary statistics of a sample of delays (seconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one sample).
    pub std: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

impl Stats {
    /// Statistics of `xs` (all zero if empty).
    pub fn of(xs: &[f64]) -> Stats {
        if xs.is_empty() {
            return Stats::default();
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var =
            if xs.len() > 1 { xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
        Stats {
            mean,
            std: var.sqrt(),
            min: xs.iter().copied().fold(f64::INFINITY, f64::min),
            max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// One point of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The parameter's value.
    pub value: f64,
    /// Delays measured (seconds), one per run.
    pub samples: Vec<f64>,
    /// Their statistics.
    pub stats: Stats,
    /// The model's prediction (seconds).
    pub model: f64,
    /// For measured points: the simulation's mean at the same parameters.
    pub sim: Option<f64>,
}

/// Simulates one run; returns the delay in seconds and the events processed.
pub fn simulate_once(cfg: &SimConfig) -> Result<(f64, u64), crate::Error> {
    let mut s = Simulation::new(cfg.clone())?;
    let r = s.run();
    Ok((r.totals.delay_micros as f64 / 1e6, r.steps))
}

/// Simulates every run of the point `value`.
pub fn simulate_point(sweep: &Sweep, value: f64) -> Result<Point, crate::Error> {
    let samples = (0..sweep.runs)
        .map(|run| simulate_once(&sweep.config(value, run)).map(|(d, _)| d))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Point {
        value,
        stats: Stats::of(&samples),
        samples,
        model: expected_delay_secs(&sweep.config(value, 0)),
        sim: None,
    })
}

/// A sweep run a slice at a time: [`SweepRun::advance`] processes at most a given number of
/// simulator events (starting and finishing transfers as it goes), so a caller with a time
/// budget (the browser's experiments tab) never blocks for a whole transfer. The points are
/// those of [`simulate_point`], however the run is sliced.
#[derive(Debug)]
pub struct SweepRun {
    sweep: Sweep,
    points: Vec<Point>,
    samples: Vec<f64>,
    /// The transfer in progress, if one has started.
    current: Option<Simulation>,
    error: Option<crate::Error>,
}

impl SweepRun {
    /// Ready to run `sweep`.
    pub fn new(sweep: Sweep) -> Self {
        SweepRun { sweep, points: Vec::new(), samples: Vec::new(), current: None, error: None }
    }

    /// The sweep.
    pub fn sweep(&self) -> &Sweep {
        &self.sweep
    }

    /// Points finished.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// The failure that stopped it, if any.
    pub fn error(&self) -> Option<&crate::Error> {
        self.error.as_ref()
    }

    /// Transfers in the whole sweep.
    pub fn total(&self) -> usize {
        self.sweep.values.len() * self.sweep.runs as usize
    }

    /// Transfers finished.
    pub fn done(&self) -> usize {
        self.points.len() * self.sweep.runs as usize + self.samples.len()
    }

    /// Whether every transfer is done (or one failed).
    pub fn finished(&self) -> bool {
        self.error.is_some() || self.points.len() >= self.sweep.values.len()
    }

    /// Processes at most `max_steps` events of the current transfer (starting the next one if
    /// none is in progress) and stops early when that transfer ends; returns whether there is
    /// more to do. `advance(u64::MAX)` runs exactly one whole transfer.
    pub fn advance(&mut self, max_steps: u64) -> bool {
        if self.finished() {
            return false;
        }
        let value = self.sweep.values[self.points.len()];
        let sim = match self.current.as_mut() {
            Some(sim) => sim,
            None => {
                let run = self.samples.len() as u32;
                match Simulation::new(self.sweep.config(value, run)) {
                    Ok(sim) => self.current.insert(sim),
                    Err(e) => {
                        self.error = Some(e);
                        return false;
                    }
                }
            }
        };
        if !sim.run_for_steps(max_steps) {
            return true;
        }
        let delay = sim.result().totals.delay_micros as f64 / 1e6;
        self.current = None;
        self.samples.push(delay);
        if self.samples.len() as u32 >= self.sweep.runs {
            let samples = core::mem::take(&mut self.samples);
            self.points.push(Point {
                value,
                stats: Stats::of(&samples),
                samples,
                model: expected_delay_secs(&self.sweep.config(value, 0)),
                sim: None,
            });
        }
        !self.finished()
    }
}

fn fmt_value(param: Param, v: f64) -> String {
    match param {
        Param::P => format!("{v:.2}"),
        _ => format!("{v:.0}"),
    }
}

/// A fixed-width table of the points.
pub fn table(sweep: &Sweep, points: &[Point]) -> String {
    let measured = points.iter().any(|p| p.sim.is_some());
    let mut s = format!("{}\n", sweep.title);
    let _ = write!(
        s,
        "{:>6} {:>10} {:>9} {:>10} {:>10} {:>10}",
        sweep.param.name(),
        "mean (s)",
        "std",
        "min",
        "max",
        "model"
    );
    if measured {
        let _ = write!(s, " {:>10}", "sim");
    }
    s.push('\n');
    for p in points {
        let _ = write!(
            s,
            "{:>6} {:>10.3} {:>9.3} {:>10.3} {:>10.3} {:>10.3}",
            fmt_value(sweep.param, p.value),
            p.stats.mean,
            p.stats.std,
            p.stats.min,
            p.stats.max,
            p.model
        );
        if let Some(sim) = p.sim {
            let _ = write!(s, " {sim:>10.3}");
        }
        s.push('\n');
    }
    s
}

/// CSV with a header row.
pub fn csv(sweep: &Sweep, points: &[Point]) -> String {
    let mut s = format!("{},runs,mean_s,std_s,min_s,max_s,model_s,sim_s\n", sweep.param.name());
    for p in points {
        let _ = writeln!(
            s,
            "{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{}",
            fmt_value(sweep.param, p.value),
            p.samples.len(),
            p.stats.mean,
            p.stats.std,
            p.stats.min,
            p.stats.max,
            p.model,
            p.sim.map_or(String::new(), |v| format!("{v:.6}"))
        );
    }
    s
}

/// A line plot of delay against the parameter: mean with min-max bars, the model's curve,
/// and (for measured sweeps) the simulation's means.
pub fn svg(sweep: &Sweep, points: &[Point], measured_label: &str) -> String {
    let (w, h, l, r, t, b) = (720.0, 440.0, 70.0, 20.0, 40.0, 60.0);
    let xs: Vec<f64> = points.iter().map(|p| p.value).collect();
    let (x0, x1) = bounds(&xs);
    let ys = points.iter().flat_map(|p| [p.stats.max, p.model, p.sim.unwrap_or(0.0)]);
    let y1 = nice_ceiling(ys.fold(0.0, f64::max));
    let px = |x: f64| l + (x - x0) / (x1 - x0).max(f64::EPSILON) * (w - l - r);
    let py = |y: f64| h - b - y / y1 * (h - t - b);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
        w / 2.0,
        escape(&sweep.title)
    );
    // Axes and ticks.
    let _ =
        writeln!(s, "<line x1=\"{l}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>", h - b, w - r, h - b);
    let _ = writeln!(s, "<line x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{}\" stroke=\"black\"/>", h - b);
    for k in 0..=5 {
        let y = y1 * f64::from(k) / 5.0;
        let _ = writeln!(
            s,
            "<line x1=\"{l}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"#ddd\"/><text x=\"{2}\" y=\"{3:.1}\" text-anchor=\"end\">{y:.1}</text>",
            py(y),
            w - r,
            l - 6.0,
            py(y) + 4.0
        );
    }
    for &x in &xs {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            px(x),
            h - b + 18.0,
            fmt_value(sweep.param, x)
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        (l + w - r) / 2.0,
        h - 18.0,
        sweep.param.label()
    );
    let _ = writeln!(
        s,
        "<text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\">delay (s)</text>",
        (t + h - b) / 2.0
    );
    let path = |f: &dyn Fn(&Point) -> Option<f64>| {
        points
            .iter()
            .filter_map(|p| f(p).map(|y| format!("{:.1},{:.1}", px(p.value), py(y))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = writeln!(s, "<polyline fill=\"none\" stroke=\"#d95f02\" stroke-width=\"2\" stroke-dasharray=\"6 4\" points=\"{}\"/>", path(&|p| Some(p.model)));
    if points.iter().any(|p| p.sim.is_some()) {
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"#7570b3\" stroke-width=\"2\" points=\"{}\"/>",
            path(&|p| p.sim)
        );
    }
    let _ = writeln!(
        s,
        "<polyline fill=\"none\" stroke=\"#1b9e77\" stroke-width=\"2\" points=\"{}\"/>",
        path(&|p| Some(p.stats.mean))
    );
    for p in points {
        let x = px(p.value);
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#1b9e77\"/><circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"#1b9e77\"/>",
            py(p.stats.min),
            py(p.stats.max),
            py(p.stats.mean)
        );
    }
    let mut legend = vec![(format!("{measured_label} (mean, min-max)"), "#1b9e77", "")];
    if points.iter().any(|p| p.sim.is_some()) {
        legend.push(("simulation (mean)".into(), "#7570b3", ""));
    }
    legend.push(("model".into(), "#d95f02", " stroke-dasharray=\"6 4\""));
    for (i, (name, color, dash)) in legend.iter().enumerate() {
        let y = t + 10.0 + 18.0 * i as f64;
        let _ = writeln!(
            s,
            "<line x1=\"{0}\" y1=\"{y}\" x2=\"{1}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/><text x=\"{2}\" y=\"{3}\">{4}</text>",
            l + 12.0,
            l + 40.0,
            l + 46.0,
            y + 4.0,
            escape(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn bounds(xs: &[f64]) -> (f64, f64) {
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    }
}

/// A round axis maximum at or above `y`: 1, 2 or 5 times a power of ten.
fn nice_ceiling(y: f64) -> f64 {
    if y <= 0.0 || !y.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(y.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|&c| c >= y).unwrap_or(10.0 * mag)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_by_hand() {
        let s = Stats::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!((s.mean, s.min, s.max), (2.5, 1.0, 4.0));
        assert!((s.std - 1.290_994_448_7).abs() < 1e-9);
        assert_eq!(Stats::of(&[]), Stats::default());
        assert_eq!(nice_ceiling(37.0), 50.0);
        assert_eq!(nice_ceiling(0.013), 0.02);
    }

    #[test]
    fn classic_sweeps_have_the_assignment_points() {
        let t1 = Sweep::task1(classic_base());
        assert_eq!(t1.values, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(t1.config(4.0, 2).receivers, 4);
        assert_eq!(t1.config(4.0, 2).seed, classic_base().seed + 2);
        let t2 = Sweep::task2(classic_base());
        assert_eq!(t2.values.first(), Some(&100.0));
        assert_eq!(t2.values.last(), Some(&1000.0));
        let t3 = Sweep::task3(classic_base());
        assert_eq!(t3.values.len(), 10);
        assert!((t3.config(0.07, 0).loss - 0.07).abs() < 1e-12);
    }

    #[test]
    fn sliced_runs_give_the_unsliced_results() {
        // One lossy transfer, run whole and in slices of 1, 7 and 1000 events: same result,
        // same trace.
        let cfg = SimConfig { file_size: 30_000, loss: 0.1, trace: true, seed: 7, ..classic_base() };
        let mut whole = Simulation::new(cfg.clone()).unwrap();
        let expected = whole.run();
        assert!(expected.totals.retransmissions > 0, "the seed must give losses");
        for slice in [1, 7, 1000] {
            let mut sim = Simulation::new(cfg.clone()).unwrap();
            let mut calls = 1;
            while !sim.run_for_steps(slice) {
                calls += 1;
            }
            assert_eq!(sim.result(), expected, "slices of {slice}");
            assert_eq!(sim.trace(), whole.trace(), "slices of {slice}");
            assert!(calls as u64 >= expected.steps / slice, "slices of {slice}: {calls} calls");
            assert!(sim.run_for_steps(10), "still over");
        }
        assert!(!Simulation::new(cfg).unwrap().run_for_steps(0));

        // A sweep, sliced or not, gives the points of simulate_point.
        let base = SimConfig { file_size: 20_000, ..classic_base() };
        let sweep = Sweep { runs: 2, values: vec![1.0, 3.0], ..Sweep::task1(base) };
        let expected: Vec<Point> = sweep.values.iter().map(|&v| simulate_point(&sweep, v).unwrap()).collect();
        for slice in [1, 13, 5000, u64::MAX] {
            let mut run = SweepRun::new(sweep.clone());
            assert_eq!(run.total(), 4);
            let mut calls = 0u64;
            while run.advance(slice) {
                calls += 1;
                assert!(run.done() <= run.total());
            }
            assert!(run.finished() && run.error().is_none());
            assert_eq!(run.done(), 4);
            assert_eq!(run.points(), expected.as_slice(), "slices of {slice}");
            if slice == u64::MAX {
                assert_eq!(calls, 3, "one whole transfer a call");
            }
            assert!(!run.advance(slice), "nothing left");
        }
    }

    #[test]
    fn small_sweep_exports_csv_and_svg() {
        let base = SimConfig { file_size: 20_000, ..classic_base() };
        let sweep = Sweep { runs: 2, ..Sweep::task1(base) };
        let points: Vec<Point> = sweep.values.iter().map(|&v| simulate_point(&sweep, v).unwrap()).collect();
        // More receivers, more chances to lose a round: the mean rises with n here, in the
        // model and in the simulation (n = 5 loses about 4.5 times as many rounds as n = 1;
        // with these seeds the simulated mean goes from 4.4 s to 11.4 s).
        assert!(points[4].model > points[0].model);
        assert!(
            points[4].stats.mean > 2.0 * points[0].stats.mean,
            "simulated mean at n = 5 ({}) vs n = 1 ({})",
            points[4].stats.mean,
            points[0].stats.mean
        );
        let csv = csv(&sweep, &points);
        assert_eq!(csv.lines().count(), 6);
        assert!(csv.starts_with("n,runs,mean_s"));
        let svg = svg(&sweep, &points, "simulation");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 5);
        assert!(table(&sweep, &points).lines().count() == 7);
    }
}
