//! The simulate source's parameters: what a teacher can set, their ranges and defaults, the
//! page URL's query string that holds them (so a scenario can be shared as a link), the preset
//! scenarios, and the core [`SimConfig`] they make.
//!
//! Parsing never fails and never panics: a bad or out-of-range value is clamped or replaced by
//! its default, with a message for the page to show.

use core::time::Duration;
use p2mp_core::rto::RtoPolicy;
use p2mp_core::sim::{DeadReceiver, LinkConfig, LossModel, SimConfig, Simulation};
use p2mp_core::window::Mode;
use p2mp_core::wire::Dialect;
use p2mp_core::Instant;

/// Largest file the page simulates.
pub const MAX_FILE_SIZE: u64 = 20_000_000;
/// Most receivers the page simulates.
pub const MAX_RECEIVERS: u16 = 16;
/// Largest loss-service probability offered.
pub const MAX_LOSS: f64 = 0.5;
/// Smallest and largest MSS offered.
pub const MSS_RANGE: (usize, usize) = (16, 8_000);
/// Largest one-way delay or jitter offered (milliseconds).
pub const MAX_DELAY_MS: f64 = 2_000.0;
/// Largest window offered (segments).
pub const MAX_WINDOW: u32 = 1_024;
/// The compare view's window unless set.
pub const DEFAULT_COMPARE_WINDOW: u32 = 8;

/// The timeout policy as offered in the page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rto {
    /// A fixed timer of this many milliseconds.
    Fixed(f64),
    /// RFC 6298 adaptive (1 s initial, 1 ms floor, 60 s ceiling).
    Adaptive,
}

/// The link loss model as offered in the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkLoss {
    /// No link loss.
    None,
    /// Independent losses with probability [`SimParams::link_loss`].
    Bernoulli,
    /// Gilbert-Elliott bursts: long-run loss [`SimParams::link_loss`], mean burst length
    /// [`SimParams::burst_len`] datagrams.
    Burst,
}

impl LinkLoss {
    /// The query-string and `<select>` value.
    pub fn name(self) -> &'static str {
        match self {
            LinkLoss::None => "none",
            LinkLoss::Bernoulli => "bernoulli",
            LinkLoss::Burst => "burst",
        }
    }

    /// Parses [`LinkLoss::name`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(LinkLoss::None),
            "bernoulli" => Some(LinkLoss::Bernoulli),
            "burst" => Some(LinkLoss::Burst),
            _ => None,
        }
    }
}

/// The ARQ scheme by name ("saw", "gbn", "sr").
pub fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::StopAndWait => "saw",
        Mode::GoBackN { .. } => "gbn",
        Mode::SelectiveRepeat { .. } => "sr",
    }
}

/// A datagram the scenario loses on purpose: the `nth` (0: first) transmission of `kind` on
/// receiver `rx`'s path for segment `seq` (e.g. "server 1's first ACK of segment 2").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptedDrop {
    /// An ACK going up (true) or a DATA going down (false).
    pub ack: bool,
    /// The receiver's path.
    pub rx: u16,
    /// The segment.
    pub seq: u32,
}

impl ScriptedDrop {
    /// As in the query string: `ack:RX:SEQ` or `data:RX:SEQ`.
    pub fn to_text(self) -> String {
        format!("{}:{}:{}", if self.ack { "ack" } else { "data" }, self.rx, self.seq)
    }

    /// Parses [`ScriptedDrop::to_text`].
    pub fn parse(s: &str) -> Option<Self> {
        let mut it = s.split(':');
        let ack = match it.next()? {
            "ack" => true,
            "data" => false,
            _ => return None,
        };
        let rx = it.next()?.trim().parse().ok()?;
        let seq = it.next()?.trim().parse().ok()?;
        it.next().is_none().then_some(ScriptedDrop { ack, rx, seq })
    }
}

/// Everything the user can set.
#[derive(Clone, Debug, PartialEq)]
pub struct SimParams {
    /// Receivers, 1 to [`MAX_RECEIVERS`].
    pub receivers: u16,
    /// The receivers' loss-service probability, 0 to [`MAX_LOSS`].
    pub loss: f64,
    /// Link loss model.
    pub link_model: LinkLoss,
    /// Link loss probability per datagram (long-run mean for bursts).
    pub link_loss: f64,
    /// Mean burst length in datagrams (burst model).
    pub burst_len: f64,
    /// File bytes.
    pub file_size: u64,
    /// Payload bytes per segment.
    pub mss: usize,
    /// One-way delay of every link (milliseconds)...
    pub delay_ms: f64,
    /// ...unless given per receiver (milliseconds; missing entries take `delay_ms`).
    pub delays_ms: Vec<f64>,
    /// Jitter of every link (milliseconds, uniform extra delay)...
    pub jitter_ms: f64,
    /// ...unless given per receiver.
    pub jitters_ms: Vec<f64>,
    /// Link bandwidth in Mbit/s (0: unlimited).
    pub bandwidth_mbps: f64,
    /// Timeout policy.
    pub rto: Rto,
    /// Consecutive timeouts before the client gives up on a receiver.
    pub max_timeouts: u32,
    /// Wire dialect.
    pub dialect: Dialect,
    /// ARQ scheme (and window).
    pub mode: Mode,
    /// Seed.
    pub seed: u64,
    /// A receiver that dies, and when (seconds).
    pub dead: Option<(u16, f64)>,
    /// Datagrams lost on purpose.
    pub drops: Vec<ScriptedDrop>,
    /// Show the scenario under all three ARQ schemes side by side (the compare view) instead
    /// of under `mode` alone.
    pub compare: bool,
    /// The windowed schemes' window in the compare view.
    pub compare_window: u32,
}

impl Default for SimParams {
    fn default() -> Self {
        SimParams {
            receivers: 3,
            loss: 0.05,
            link_model: LinkLoss::None,
            link_loss: 0.0,
            burst_len: 4.0,
            file_size: 20_000,
            mss: 500,
            delay_ms: 5.0,
            delays_ms: Vec::new(),
            jitter_ms: 0.0,
            jitters_ms: Vec::new(),
            bandwidth_mbps: 0.0,
            rto: Rto::Fixed(100.0),
            max_timeouts: 10,
            dialect: Dialect::Binary,
            mode: Mode::StopAndWait,
            seed: 1,
            dead: None,
            drops: Vec::new(),
            compare: false,
            compare_window: DEFAULT_COMPARE_WINDOW,
        }
    }
}

fn ms(v: f64) -> Duration {
    Duration::from_micros((v.clamp(0.0, 1e9) * 1000.0) as u64)
}

fn list(v: &[f64]) -> String {
    v.iter().map(|x| trim_num(*x)).collect::<Vec<_>>().join(",")
}

/// A number as short text: "5", "0.05", "12.5".
pub fn trim_num(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

impl SimParams {
    /// A short description for the source line.
    pub fn label(&self) -> String {
        let mode = match self.mode {
            _ if self.compare => {
                format!("stop-and-wait vs go-back-n vs selective repeat w={}", self.compare_window)
            }
            Mode::StopAndWait => "stop-and-wait".to_string(),
            Mode::GoBackN { window } => format!("go-back-n w={window}"),
            Mode::SelectiveRepeat { window } => format!("selective repeat w={window}"),
        };
        format!(
            "{} receiver{}, p = {}, {} B, MSS {}, delay {} ms, {mode}, seed {}",
            self.receivers,
            if self.receivers == 1 { "" } else { "s" },
            trim_num(self.loss),
            self.file_size,
            self.mss,
            trim_num(self.delay_ms),
            self.seed
        )
    }

    /// The link of receiver `i`.
    fn link(&self, i: usize) -> LinkConfig {
        let delay = self.delays_ms.get(i).copied().unwrap_or(self.delay_ms);
        let jitter = self.jitters_ms.get(i).copied().unwrap_or(self.jitter_ms);
        let p = self.link_loss;
        let loss = match self.link_model {
            LinkLoss::None => LossModel::None,
            LinkLoss::Bernoulli => LossModel::Bernoulli { p },
            LinkLoss::Burst => {
                // Good state loses nothing, bad state everything: the long-run loss is the
                // share of time in the bad state, the mean burst its mean stay.
                let p_bad_good = 1.0 / self.burst_len.max(1.0);
                let p = p.min(0.95);
                LossModel::GilbertElliott {
                    p_good_bad: (p * p_bad_good / (1.0 - p)).clamp(0.0, 1.0),
                    p_bad_good,
                    loss_good: 0.0,
                    loss_bad: 1.0,
                }
            }
        };
        LinkConfig {
            delay: ms(delay),
            jitter: ms(jitter),
            bandwidth_bps: (self.bandwidth_mbps.max(0.0) * 1e6) as u64,
            loss,
            ..LinkConfig::default()
        }
    }

    /// Checks the ranges (the URL parser clamps; this catches programmatic misuse).
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_RECEIVERS).contains(&self.receivers) {
            return Err(format!("receivers must be 1 to {MAX_RECEIVERS}, got {}", self.receivers));
        }
        if self.file_size > MAX_FILE_SIZE {
            return Err(format!(
                "file size must be at most {MAX_FILE_SIZE} bytes here, got {}",
                self.file_size
            ));
        }
        if !(0.0..=MAX_LOSS).contains(&self.loss) {
            return Err(format!("loss p must be 0 to {MAX_LOSS}, got {}", self.loss));
        }
        if !(0.0..=MAX_LOSS).contains(&self.link_loss) {
            return Err(format!("link loss must be 0 to {MAX_LOSS}, got {}", self.link_loss));
        }
        if !(MSS_RANGE.0..=MSS_RANGE.1).contains(&self.mss) {
            return Err(format!("MSS must be {} to {}, got {}", MSS_RANGE.0, MSS_RANGE.1, self.mss));
        }
        let delays = [self.delay_ms, self.jitter_ms].into_iter().chain(self.delays_ms.iter().copied());
        if !delays
            .chain(self.jitters_ms.iter().copied())
            .all(|d| d.is_finite() && (0.0..=MAX_DELAY_MS).contains(&d))
        {
            return Err(format!("delays and jitters must be 0 to {MAX_DELAY_MS} ms"));
        }
        if !(self.bandwidth_mbps.is_finite() && (0.0..=100_000.0).contains(&self.bandwidth_mbps)) {
            return Err("bandwidth must be 0 (unlimited) to 100000 Mbit/s".into());
        }
        if let Rto::Fixed(t) = self.rto {
            if !(t.is_finite() && (1.0..=60_000.0).contains(&t)) {
                return Err(format!("timeout must be 1 to 60000 ms, got {t}"));
            }
        }
        if !(1..=1000).contains(&self.max_timeouts) {
            return Err("timeouts before giving up must be 1 to 1000".into());
        }
        if !(1.0..=100.0).contains(&self.burst_len) {
            return Err("mean burst length must be 1 to 100 datagrams".into());
        }
        if !(1..=MAX_WINDOW).contains(&self.mode.window()) {
            return Err(format!("window must be 1 to {MAX_WINDOW}"));
        }
        if !(1..=MAX_WINDOW).contains(&self.compare_window) {
            return Err(format!("compare window must be 1 to {MAX_WINDOW}"));
        }
        Ok(())
    }

    /// The simulator's configuration, or why the parameters are not acceptable.
    pub fn config(&self) -> Result<SimConfig, String> {
        self.validate()?;
        let per_rx = !self.delays_ms.is_empty() || !self.jitters_ms.is_empty();
        Ok(SimConfig {
            file_size: self.file_size,
            mss: self.mss,
            receivers: self.receivers,
            dialect: self.dialect,
            policy: match self.rto {
                Rto::Fixed(t) => RtoPolicy::Fixed { timeout: ms(t) },
                Rto::Adaptive => RtoPolicy::adaptive(),
            },
            max_timeouts: self.max_timeouts,
            loss: self.loss,
            seed: self.seed,
            link: self.link(usize::MAX),
            links: if per_rx {
                (0..usize::from(self.receivers)).map(|i| self.link(i)).collect()
            } else {
                Vec::new()
            },
            dead: self
                .dead
                .filter(|&(r, _)| r < self.receivers)
                .map(|(receiver, at)| DeadReceiver {
                    receiver,
                    at: Instant::from_micros((at.clamp(0.0, 1e6) * 1e6) as u64),
                })
                .into_iter()
                .collect(),
            mode: self.mode,
            trace: true,
            ..SimConfig::default()
        })
    }

    /// The query string (without `?`) that restores these parameters; only values that differ
    /// from the defaults are written, after `sim=1`.
    pub fn to_query(&self) -> String {
        let d = SimParams::default();
        let mut q = vec![("sim".to_string(), "1".to_string())];
        let mut put = |k: &str, v: String| q.push((k.into(), v));
        if self.receivers != d.receivers {
            put("n", self.receivers.to_string());
        }
        if self.loss != d.loss {
            put("p", trim_num(self.loss));
        }
        if self.mss != d.mss {
            put("mss", self.mss.to_string());
        }
        if self.file_size != d.file_size {
            put("size", self.file_size.to_string());
        }
        if self.delay_ms != d.delay_ms {
            put("delay", trim_num(self.delay_ms));
        }
        if !self.delays_ms.is_empty() {
            put("delays", list(&self.delays_ms));
        }
        if self.jitter_ms != d.jitter_ms {
            put("jitter", trim_num(self.jitter_ms));
        }
        if !self.jitters_ms.is_empty() {
            put("jitters", list(&self.jitters_ms));
        }
        if self.bandwidth_mbps != d.bandwidth_mbps {
            put("bw", trim_num(self.bandwidth_mbps));
        }
        if self.rto != d.rto {
            put(
                "rto",
                match self.rto {
                    Rto::Fixed(t) => trim_num(t),
                    Rto::Adaptive => "adaptive".into(),
                },
            );
        }
        if self.max_timeouts != d.max_timeouts {
            put("maxto", self.max_timeouts.to_string());
        }
        if self.dialect != d.dialect {
            put("dialect", "text".into());
        }
        if self.link_model != d.link_model {
            put("linkloss", self.link_model.name().into());
        }
        if self.link_loss != d.link_loss {
            put("lp", trim_num(self.link_loss));
        }
        if self.burst_len != d.burst_len {
            put("burst", trim_num(self.burst_len));
        }
        if self.mode != d.mode {
            put("mode", mode_name(self.mode).into());
            put("window", self.mode.window().to_string());
        }
        if self.seed != d.seed {
            put("seed", self.seed.to_string());
        }
        if let Some((r, at)) = self.dead {
            put("dead", format!("{r}@{}", trim_num(at)));
        }
        if !self.drops.is_empty() {
            put("drops", self.drops.iter().map(|d| d.to_text()).collect::<Vec<_>>().join(","));
        }
        if self.compare {
            put("compare", "1".into());
        }
        if self.compare_window != d.compare_window {
            put("cw", self.compare_window.to_string());
        }
        q.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&")
    }

    /// These parameters with one query-string field changed (as a form control sets it):
    /// the result, clamped where needed, and any messages.
    pub fn with_field(&self, key: &str, value: &str) -> (SimParams, Vec<String>) {
        SimParams::from_query(&format!("{}&{key}={}", self.to_query(), encode(value.trim())))
    }

    /// Parameters from a query string (with or without `?`), starting from the defaults (or
    /// the `preset=NAME` given). Unknown keys are ignored; bad values are clamped or left at
    /// their defaults, each with a message.
    pub fn from_query(query: &str) -> (SimParams, Vec<String>) {
        let pairs = parse_query(query);
        let get = |k: &str| pairs.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let mut errors = Vec::new();
        let mut p = match get("preset") {
            Some(name) => match preset(name) {
                Some(pr) => pr.params,
                None => {
                    errors.push(format!("unknown preset “{name}”"));
                    SimParams::default()
                }
            },
            None => SimParams::default(),
        };
        let mut num = |k: &str, lo: f64, hi: f64| -> Option<f64> {
            let v = get(k)?;
            match v.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => {
                    let c = x.clamp(lo, hi);
                    if c != x {
                        errors.push(format!("{k} = {v} is out of range: using {}", trim_num(c)));
                    }
                    Some(c)
                }
                _ => {
                    errors.push(format!("{k} = “{v}” is not a number: ignored"));
                    None
                }
            }
        };
        if let Some(v) = num("n", 1.0, f64::from(MAX_RECEIVERS)) {
            p.receivers = v.round() as u16;
        }
        if let Some(v) = num("p", 0.0, MAX_LOSS) {
            p.loss = v;
        }
        if let Some(v) = num("mss", MSS_RANGE.0 as f64, MSS_RANGE.1 as f64) {
            p.mss = v.round() as usize;
        }
        if let Some(v) = num("size", 0.0, MAX_FILE_SIZE as f64) {
            p.file_size = v.round() as u64;
        }
        if let Some(v) = num("delay", 0.0, MAX_DELAY_MS) {
            p.delay_ms = v;
        }
        if let Some(v) = num("jitter", 0.0, MAX_DELAY_MS) {
            p.jitter_ms = v;
        }
        if let Some(v) = num("bw", 0.0, 100_000.0) {
            p.bandwidth_mbps = v;
        }
        if let Some(v) = num("maxto", 1.0, 1000.0) {
            p.max_timeouts = v.round() as u32;
        }
        if let Some(v) = num("lp", 0.0, MAX_LOSS) {
            p.link_loss = v;
        }
        if let Some(v) = num("burst", 1.0, 100.0) {
            p.burst_len = v;
        }
        let window = num("window", 1.0, f64::from(MAX_WINDOW)).map(|w| w.round() as u32);
        if let Some(v) = num("cw", 1.0, f64::from(MAX_WINDOW)) {
            p.compare_window = v.round() as u32;
        }
        if let Some(v) = get("seed") {
            match v.trim().parse::<u64>() {
                Ok(s) => p.seed = s,
                Err(_) => errors.push(format!("seed = “{v}” is not a whole number: ignored")),
            }
        }
        for (key, target) in [("delays", &mut p.delays_ms), ("jitters", &mut p.jitters_ms)] {
            if let Some(v) = get(key) {
                match parse_list(v, MAX_DELAY_MS) {
                    Ok(l) => *target = l,
                    Err(e) => errors.push(format!("{key}: {e}")),
                }
            }
        }
        if let Some(v) = get("rto") {
            match v.trim() {
                "adaptive" => p.rto = Rto::Adaptive,
                t => match t.parse::<f64>() {
                    Ok(x) if x.is_finite() => p.rto = Rto::Fixed(x.clamp(1.0, 60_000.0)),
                    _ => errors.push(format!("rto = “{v}” is neither milliseconds nor “adaptive”")),
                },
            }
        }
        if let Some(v) = get("dialect") {
            match v {
                "binary" => p.dialect = Dialect::Binary,
                "text" => p.dialect = Dialect::Text,
                _ => errors.push(format!("dialect = “{v}” is not binary or text")),
            }
        }
        if let Some(v) = get("linkloss") {
            match LinkLoss::parse(v) {
                Some(m) => p.link_model = m,
                None => errors.push(format!("linkloss = “{v}” is not none, bernoulli or burst")),
            }
        }
        let w = window.unwrap_or(p.mode.window().max(if p.mode == Mode::StopAndWait { 8 } else { 1 }));
        match get("mode") {
            None => {
                if let Some(w) = window {
                    p.mode = with_window(p.mode, w);
                }
            }
            Some("saw") => p.mode = Mode::StopAndWait,
            Some("gbn") => p.mode = Mode::GoBackN { window: w },
            Some("sr") => p.mode = Mode::SelectiveRepeat { window: w },
            Some(v) => errors.push(format!("mode = “{v}” is not saw, gbn or sr")),
        }
        if let Some(v) = get("dead").filter(|v| v.trim().is_empty()) {
            let _ = v;
            p.dead = None;
        } else if let Some(v) = get("dead") {
            match v
                .split_once('@')
                .and_then(|(r, t)| Some((r.trim().parse::<u16>().ok()?, t.trim().parse::<f64>().ok()?)))
            {
                Some((r, t)) if t.is_finite() && t >= 0.0 => p.dead = Some((r, t)),
                _ => errors.push(format!("dead = “{v}” is not RECEIVER@SECONDS")),
            }
        }
        if let Some(v) = get("compare") {
            match v.trim() {
                "1" | "on" | "true" => p.compare = true,
                "0" | "off" | "false" | "" => p.compare = false,
                _ => errors.push(format!("compare = “{v}” is not 1 or 0")),
            }
        }
        if let Some(v) = get("drops") {
            p.drops = v
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .filter_map(|s| {
                    let d = ScriptedDrop::parse(s.trim());
                    if d.is_none() {
                        errors.push(format!("drops: “{s}” is not ack:RX:SEQ or data:RX:SEQ"));
                    }
                    d
                })
                .collect();
        }
        if let Some((r, _)) = p.dead {
            if r >= p.receivers {
                errors.push(format!("dead receiver {r} does not exist: ignored"));
                p.dead = None;
            }
        }
        p.delays_ms.truncate(usize::from(p.receivers));
        p.jitters_ms.truncate(usize::from(p.receivers));
        (p, errors)
    }
}

/// `mode` with its window set to `w` (stop-and-wait has none).
pub fn with_window(mode: Mode, w: u32) -> Mode {
    match mode {
        Mode::StopAndWait => Mode::StopAndWait,
        Mode::GoBackN { .. } => Mode::GoBackN { window: w },
        Mode::SelectiveRepeat { .. } => Mode::SelectiveRepeat { window: w },
    }
}

/// A comma-separated list of milliseconds, each 0 to `max`.
pub fn parse_list(s: &str, max: f64) -> Result<Vec<f64>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| match t.parse::<f64>() {
            Ok(x) if x.is_finite() && (0.0..=max).contains(&x) => Ok(x),
            _ => Err(format!("“{t}” is not a number from 0 to {max}")),
        })
        .collect()
}

/// Whether a query string asks for a simulation (`sim=1`, `compare=1` or `preset=...`).
pub fn query_wants_simulation(query: &str) -> bool {
    parse_query(query).iter().any(|(k, v)| k == "preset" || ((k == "sim" || k == "compare") && v != "0"))
}

/// Splits and decodes `a=1&b=x%2Cy` (a leading `?` is skipped).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or(""), 16) {
                Ok(v) => {
                    out.push(v);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' | b':' | b'@' => {
                (c as char).to_string()
            }
            c => format!("%{c:02X}"),
        })
        .collect()
}

/// A preset scenario: one idea each.
#[derive(Clone, Debug, PartialEq)]
pub struct Preset {
    /// Short name (query string `preset=NAME`, element ids).
    pub name: &'static str,
    /// Title on the button.
    pub title: &'static str,
    /// What it shows.
    pub idea: &'static str,
    /// The parameters.
    pub params: SimParams,
}

/// The preset scenarios.
pub fn presets() -> Vec<Preset> {
    let base = SimParams { file_size: 5_000, loss: 0.0, ..SimParams::default() };
    vec![
        Preset {
            name: "no-loss",
            title: "No loss",
            idea: "Every DATA is acknowledged by every server before the next one goes: one round trip per segment.",
            params: base.clone(),
        },
        Preset {
            name: "lost-ack",
            title: "One lost ACK",
            idea: "Server 1's ACK of segment 2 is lost: the client times out and resends segment 2 to server 1 alone, which acknowledges the duplicate again.",
            params: SimParams { drops: vec![ScriptedDrop { ack: true, rx: 1, seq: 2 }], ..base.clone() },
        },
        Preset {
            name: "dead-receiver",
            title: "A dead receiver",
            idea: "Server 2 crashes at 50 ms: after 4 silent timeouts the client gives up on it and finishes with the others.",
            params: SimParams { dead: Some((2, 0.05)), max_timeouts: 4, ..base.clone() },
        },
        Preset {
            name: "bursty",
            title: "Bursty loss",
            idea: "The network loses datagrams in bursts (Gilbert-Elliott, 10% on average, bursts of 4): timeouts cluster.",
            params: SimParams {
                link_model: LinkLoss::Burst,
                link_loss: 0.1,
                burst_len: 4.0,
                file_size: 10_000,
                seed: 4,
                ..base.clone()
            },
        },
        Preset {
            name: "many",
            title: "Many receivers",
            idea: "Sixteen servers with p = 0.05: each segment waits for the slowest, so almost every segment needs a retransmission to someone.",
            params: SimParams { receivers: 16, loss: 0.05, file_size: 5_000, ..base.clone() },
        },
        Preset {
            name: "gbn",
            title: "Go-back-N",
            idea: "A window of 8 with p = 0.1: one loss makes the client resend everything outstanding to that server.",
            params: SimParams {
                mode: Mode::GoBackN { window: 8 },
                loss: 0.1,
                file_size: 20_000,
                ..base.clone()
            },
        },
        Preset {
            name: "sr",
            title: "Selective repeat",
            idea: "The same window and losses as go-back-N, but only the missing segment is resent.",
            params: SimParams {
                mode: Mode::SelectiveRepeat { window: 8 },
                loss: 0.1,
                file_size: 20_000,
                ..base.clone()
            },
        },
        Preset {
            name: "compare",
            title: "Compare ARQ schemes",
            idea: "One scenario (3 servers, p = 0.1, the same seed) under stop-and-wait, go-back-N and selective repeat with a window of 8, on one clock: the windowed schemes finish while stop-and-wait is still early; go-back-N pays for each loss with a window of resends.",
            params: SimParams {
                compare: true,
                compare_window: DEFAULT_COMPARE_WINDOW,
                loss: 0.1,
                file_size: 20_000,
                ..base
            },
        },
    ]
}

/// The preset called `name`.
pub fn preset(name: &str) -> Option<Preset> {
    presets().into_iter().find(|p| p.name == name)
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
