//! The experiments tab's engine: a sweep (one of the three classic experiments or a custom
//! one) run on the core's simulator in bounded slices of events ([`SweepRun`]), so the page
//! can interleave them with rendering without blocking for a whole transfer, and show
//! progress. The results use the core's own table, CSV and SVG (the same as
//! `p2mp experiment` natively).

use p2mp_core::experiment::{classic_base, Param, Point, Sweep, SweepRun};

/// Which sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// Delay vs number of receivers.
    Task1,
    /// Delay vs MSS.
    Task2,
    /// Delay vs loss probability.
    Task3,
    /// A parameter and values of the user's choice.
    Custom,
}

impl Which {
    /// The `<select>` value.
    pub fn name(self) -> &'static str {
        match self {
            Which::Task1 => "task1",
            Which::Task2 => "task2",
            Which::Task3 => "task3",
            Which::Custom => "custom",
        }
    }

    /// Parses [`Which::name`].
    pub fn parse(s: &str) -> Option<Self> {
        [Which::Task1, Which::Task2, Which::Task3, Which::Custom].into_iter().find(|w| w.name() == s)
    }
}

/// What the form asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentForm {
    /// Which sweep.
    pub which: Which,
    /// File bytes (the classic is 10 MB; the page defaults to less).
    pub file_size: u64,
    /// Runs per point.
    pub runs: u32,
    /// Custom sweep: the parameter.
    pub param: Param,
    /// Custom sweep: its values, comma-separated.
    pub values: String,
    /// Seed of the first run.
    pub seed: u64,
}

impl Default for ExperimentForm {
    fn default() -> Self {
        ExperimentForm {
            which: Which::Task1,
            file_size: 1_000_000,
            runs: 3,
            param: Param::P,
            values: "0, 0.05, 0.1, 0.15, 0.2".into(),
            seed: 1,
        }
    }
}

impl ExperimentForm {
    /// The sweep, or why not.
    pub fn sweep(&self) -> Result<Sweep, String> {
        if self.file_size == 0 || self.file_size > crate::simulate::MAX_FILE_SIZE {
            return Err(format!("file size must be 1 to {} bytes", crate::simulate::MAX_FILE_SIZE));
        }
        if !(1..=50).contains(&self.runs) {
            return Err("runs per point must be 1 to 50".into());
        }
        let base = p2mp_core::sim::SimConfig { file_size: self.file_size, seed: self.seed, ..classic_base() };
        let mut sweep = match self.which {
            Which::Task1 => Sweep::task1(base),
            Which::Task2 => Sweep::task2(base),
            Which::Task3 => Sweep::task3(base),
            Which::Custom => {
                let values = parse_values(self.param, &self.values)?;
                Sweep {
                    title: format!("Custom: delay vs {}", self.param.label()),
                    param: self.param,
                    values,
                    base,
                    runs: self.runs,
                }
            }
        };
        sweep.runs = self.runs;
        if self.file_size != 10_000_000 {
            sweep.title = format!("{} — {} byte file", sweep.title, self.file_size);
        }
        Ok(sweep)
    }
}

/// Values of a custom sweep, checked against the parameter's range.
pub fn parse_values(param: Param, text: &str) -> Result<Vec<f64>, String> {
    let (lo, hi) = match param {
        Param::N => (1.0, f64::from(crate::simulate::MAX_RECEIVERS)),
        Param::Mss => (crate::simulate::MSS_RANGE.0 as f64, crate::simulate::MSS_RANGE.1 as f64),
        Param::P => (0.0, crate::simulate::MAX_LOSS),
    };
    let values = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<f64>() {
            Ok(v) if v.is_finite() && (lo..=hi).contains(&v) => Ok(v),
            _ => Err(format!("“{s}” is not a value of {} from {lo} to {hi}", param.label())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if values.is_empty() || values.len() > 40 {
        return Err("give 1 to 40 values, comma-separated".into());
    }
    Ok(values)
}

/// A sweep in progress.
#[derive(Debug)]
pub struct Runner {
    run: SweepRun,
    /// The failure (or "stopped") that ended it early, if any.
    pub error: Option<String>,
}

impl Runner {
    /// Ready to run `sweep`.
    pub fn new(sweep: Sweep) -> Self {
        Runner { run: SweepRun::new(sweep), error: None }
    }

    /// The sweep.
    pub fn sweep(&self) -> &Sweep {
        self.run.sweep()
    }

    /// Points finished.
    pub fn points(&self) -> &[Point] {
        self.run.points()
    }

    /// Transfers in the whole sweep.
    pub fn total(&self) -> usize {
        self.run.total()
    }

    /// Transfers done.
    pub fn done(&self) -> usize {
        self.run.done()
    }

    /// Whether every run is done (or it failed or was stopped).
    pub fn finished(&self) -> bool {
        self.error.is_some() || self.run.finished()
    }

    /// Processes at most `max_steps` simulator events (see [`SweepRun::advance`]); returns
    /// whether there is more to do.
    pub fn advance(&mut self, max_steps: u64) -> bool {
        if self.error.is_some() {
            return false;
        }
        let more = self.run.advance(max_steps);
        if let Some(e) = self.run.error() {
            self.error = Some(e.to_string());
        }
        more
    }

    /// Runs the rest of the current transfer (or the next one whole); returns whether there
    /// is more to do.
    pub fn step(&mut self) -> bool {
        self.advance(u64::MAX)
    }

    /// The plot (SVG text).
    pub fn svg(&self) -> String {
        p2mp_core::experiment::svg(self.sweep(), self.points(), "simulated")
    }

    /// The table as CSV.
    pub fn csv(&self) -> String {
        p2mp_core::experiment::csv(self.sweep(), self.points())
    }
}
