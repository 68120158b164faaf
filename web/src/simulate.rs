//! The simulate source: runs the core's deterministic simulator with a few parameters and
//! returns its trace as JSON Lines, exactly what a replay file or the live hub would send.
//! (The in-browser teaching mode will grow the parameters; the player does not change.)

use core::time::Duration;
use p2mp_core::sim::{LinkConfig, LossModel, SimConfig, Simulation};

/// Largest file the page simulates.
pub const MAX_FILE_SIZE: u64 = 20_000_000;
/// Most receivers the page simulates.
pub const MAX_RECEIVERS: u16 = 16;

/// What the user can set.
#[derive(Clone, Debug, PartialEq)]
pub struct SimParams {
    /// Receivers, 1 to [`MAX_RECEIVERS`].
    pub receivers: u16,
    /// The receivers' loss-service probability, `0 <= p < 1`.
    pub loss: f64,
    /// Link loss probability per datagram (Bernoulli), `0 <= p <= 1`.
    pub link_loss: f64,
    /// File bytes.
    pub file_size: u64,
    /// Payload bytes per segment.
    pub mss: usize,
    /// One-way delay of every link (milliseconds).
    pub delay_ms: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for SimParams {
    fn default() -> Self {
        SimParams {
            receivers: 3,
            loss: 0.1,
            link_loss: 0.02,
            file_size: 20_000,
            mss: 500,
            delay_ms: 5.0,
            seed: 1,
        }
    }
}

impl SimParams {
    /// A short description ("3 receivers, p = 0.1, 20000 B, seed 1").
    pub fn label(&self) -> String {
        format!(
            "{} receiver{}, p = {}, link loss {}, {} B, MSS {}, delay {} ms, seed {}",
            self.receivers,
            if self.receivers == 1 { "" } else { "s" },
            self.loss,
            self.link_loss,
            self.file_size,
            self.mss,
            self.delay_ms,
            self.seed
        )
    }

    /// The simulator's configuration, or why the parameters are not acceptable.
    pub fn config(&self) -> Result<SimConfig, String> {
        if !(1..=MAX_RECEIVERS).contains(&self.receivers) {
            return Err(format!("receivers must be 1 to {MAX_RECEIVERS}, got {}", self.receivers));
        }
        if self.file_size > MAX_FILE_SIZE {
            return Err(format!(
                "file size must be at most {MAX_FILE_SIZE} bytes here, got {}",
                self.file_size
            ));
        }
        if !(0.0..1.0).contains(&self.loss) {
            return Err(format!("loss p must be in [0, 1), got {}", self.loss));
        }
        if !(0.0..=1.0).contains(&self.link_loss) {
            return Err(format!("link loss must be in [0, 1], got {}", self.link_loss));
        }
        if !(self.delay_ms.is_finite() && (0.0..=10_000.0).contains(&self.delay_ms)) {
            return Err(format!("delay must be 0 to 10000 ms, got {}", self.delay_ms));
        }
        let loss =
            if self.link_loss > 0.0 { LossModel::Bernoulli { p: self.link_loss } } else { LossModel::None };
        Ok(SimConfig {
            file_size: self.file_size,
            mss: self.mss,
            receivers: self.receivers,
            loss: self.loss,
            seed: self.seed,
            link: LinkConfig {
                delay: Duration::from_micros((self.delay_ms * 1000.0) as u64),
                loss,
                ..LinkConfig::default()
            },
            ..SimConfig::default()
        })
    }
}

/// Runs the simulation to its end and returns the trace as JSON Lines (header first).
pub fn simulate_jsonl(params: &SimParams) -> Result<String, String> {
    let mut sim = Simulation::new(params.config()?).map_err(|e| e.to_string())?;
    sim.run();
    let mut out = serde_json::to_string(&sim.header()).map_err(|e| e.to_string())?;
    out.push('\n');
    for e in sim.trace() {
        out.push_str(&serde_json::to_string(e).map_err(|e| e.to_string())?);
        out.push('\n');
    }
    Ok(out)
}
