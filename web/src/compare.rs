//! The compare view: one scenario run under stop-and-wait, go-back-N and selective repeat,
//! shown side by side on one clock, with a table of each scheme's totals.
//!
//! Everything here is pure and tested on the host. [`Compare`] is the view's state and its
//! reducer ([`Compare::apply`]): one [`Player`] per scheme (so each panel is drawn by the same
//! painter as the main diagram) and a single clock that play, pause, speed, step and the
//! scrubber move; every panel's playhead is the clock, held at its own end once its transfer is
//! over, so the viewer sees the faster schemes finish while stop-and-wait is still going. The
//! simulations themselves stay outside the reducer (the page steps one [`SimDriver`] per
//! scheme up to the clock and hands the reducer their events as [`Batch`]es), as in the main
//! view.
//!
//! What is held equal across the three runs is every parameter and the seed: the simulator
//! derives each receiver's loss service and each link's generator from the seed and the
//! receiver's index alone, so server `i` meets the same sequence of coin tosses in every run.
//! Which datagrams those tosses fall on depends on the scheme (a window sends more, and in
//! another order), so the same seed does not mean the same segments are lost. See
//! [`HELD_EQUAL`].

use crate::geometry::fmt_micros;
use crate::player::{speed_label, Action, Player, Source, SPEEDS, SPEED_MAX, SPEED_REAL_TIME};
use crate::sim_source::{Batch, SimDriver};
use crate::simulate::SimParams;
use p2mp_core::trace::{EventKind, Node, TraceEvent, TransferTotals};
use p2mp_core::window::Mode;
use p2mp_core::PacketKind;

/// What the three runs share, in words for the page.
pub const HELD_EQUAL: &str = "Held equal: every parameter above and the seed. Each server's loss \
     service and each link draw from the same random sequence in all three runs (the k-th datagram \
     to reach server i meets the same coin toss), and scripted drops and a dead receiver apply to \
     all three. Only the ARQ scheme differs, so the tosses can fall on different segments.";

/// The three schemes compared, the windowed ones with `window`.
pub fn schemes(window: u32) -> [Mode; 3] {
    [Mode::StopAndWait, Mode::GoBackN { window }, Mode::SelectiveRepeat { window }]
}

/// A scheme's name: "Stop-and-wait", "Go-back-N", "Selective repeat".
pub fn scheme_name(mode: Mode) -> &'static str {
    match mode {
        Mode::StopAndWait => "Stop-and-wait",
        Mode::GoBackN { .. } => "Go-back-N",
        Mode::SelectiveRepeat { .. } => "Selective repeat",
    }
}

/// A panel's title: the scheme and its window.
pub fn scheme_title(mode: Mode) -> String {
    match mode {
        Mode::StopAndWait => scheme_name(mode).to_string(),
        m => format!("{}, window {}", scheme_name(m), m.window()),
    }
}

/// The parameters of one run: `base` under `mode`.
pub fn scheme_params(base: &SimParams, mode: Mode) -> SimParams {
    SimParams { mode, compare: false, ..base.clone() }
}

/// One line of the comparison table: a run's totals as the simulator's sender reported them
/// when the transfer ended (the [`TransferTotals`] of its `TransferEnd` event), and the DATA
/// and ACK datagrams sent up to then, counted in its trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The scheme.
    pub mode: Mode,
    /// From the first send to the last receiver's end-of-file acknowledgement (microseconds).
    pub delay_micros: u64,
    /// File bytes.
    pub bytes: u64,
    /// DATA datagrams the client sent (first sends and retransmissions).
    pub data_transmissions: u64,
    /// Retransmissions (DATA and FIN), as the sender counts them.
    pub retransmissions: u64,
    /// Timer expiries.
    pub timeouts: u64,
    /// ACKs the servers sent up to the end of the transfer.
    pub acks: u64,
    /// Receivers that acknowledged the end of file.
    pub finished: u16,
    /// Receivers declared failed.
    pub failed: u16,
}

/// DATA datagrams the client sent and ACKs the servers sent, in `events`.
pub fn count_sends(events: &[TraceEvent]) -> (u64, u64) {
    let (mut data, mut acks) = (0, 0);
    for e in events {
        if let EventKind::Send { packet, .. } = e.kind {
            match (packet, e.node) {
                (PacketKind::Data, Node::Client) => data += 1,
                (PacketKind::Ack, Node::Server(_)) => acks += 1,
                _ => {}
            }
        }
    }
    (data, acks)
}

/// Where the transfer's end is in `events` (searching from index `from`): its index and the
/// sender's totals.
pub fn find_end(events: &[TraceEvent], from: usize) -> Option<(usize, &TransferTotals)> {
    events.iter().enumerate().skip(from).find_map(|(i, e)| match &e.kind {
        EventKind::TransferEnd { totals } => Some((i, &**totals)),
        _ => None,
    })
}

impl Row {
    /// The row of a run whose trace is `events`, once it holds the transfer's end.
    pub fn from_trace(mode: Mode, events: &[TraceEvent]) -> Option<Self> {
        find_end(events, 0).map(|(end, totals)| Row::new(mode, totals, &events[..end]))
    }

    /// The row of a run that ended with `totals`, `events` being its trace up to the end.
    pub fn new(mode: Mode, totals: &TransferTotals, events: &[TraceEvent]) -> Self {
        let (data_transmissions, acks) = count_sends(events);
        Row {
            mode,
            delay_micros: totals.delay_micros,
            bytes: totals.bytes,
            data_transmissions,
            retransmissions: totals.retransmissions,
            timeouts: totals.timeouts,
            acks,
            finished: totals.finished,
            failed: totals.failed,
        }
    }

    /// File bits per second of delay (0 if the delay is 0).
    pub fn goodput_bps(&self) -> u64 {
        if self.delay_micros == 0 {
            return 0;
        }
        (u128::from(self.bytes) * 8 * 1_000_000 / u128::from(self.delay_micros)) as u64
    }
}

/// Bits per second as text: "850 bit/s", "12.5 kbit/s", "3.41 Mbit/s".
pub fn fmt_rate(bps: u64) -> String {
    let v = bps as f64;
    if v >= 1e9 {
        format!("{:.3} Gbit/s", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.3} Mbit/s", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} kbit/s", v / 1e3)
    } else {
        format!("{bps} bit/s")
    }
}

/// Runs the three schemes of `base` to the end at once (the page computes them as the clock
/// moves; this is for tests and a quick table). Scripted drops apply as in the page.
pub fn run_all(base: &SimParams) -> Result<Vec<Row>, String> {
    schemes(base.compare_window)
        .into_iter()
        .map(|mode| {
            let p = scheme_params(base, mode);
            let mut d = SimDriver::new(p.config()?, p.drops.clone())?;
            let events = d.run_to_end().events;
            Row::from_trace(mode, &events).ok_or_else(|| format!("{} never ended", scheme_title(mode)))
        })
        .collect()
}

/// One scheme's panel: its run as a player, and its table row once the transfer is over.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// The scheme.
    pub mode: Mode,
    /// Its events, cursor and playhead (the playhead is the shared clock, held at the end).
    pub player: Player,
    /// When the transfer ended (microseconds), once the simulation has got that far.
    pub end_at: Option<u64>,
    /// The totals, from then on.
    pub row: Option<Row>,
}

/// A panel's live counter: how far its transfer has got at the clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Segments acknowledged by every live receiver.
    pub segments_done: u64,
    /// Segments in the file (0 before the transfer started).
    pub segments: u64,
    /// DATA and FIN transmissions so far.
    pub transmissions: u64,
    /// Retransmissions so far.
    pub retransmissions: u64,
    /// Timeouts so far.
    pub timeouts: u64,
    /// The transfer's delay, once it ended by the clock.
    pub done_in: Option<u64>,
}

impl Progress {
    /// As one line: "segment 12 / 40 · 15 sent · 3 resent · 2 timeouts" or "done in 1.2 s · ...".
    pub fn text(&self) -> String {
        let head = match self.done_in {
            Some(d) => format!("done in {}", fmt_micros(d)),
            None => format!("{} / {} segments", self.segments_done, self.segments),
        };
        format!(
            "{head} · {} sent · {} resent · {} timeout{}",
            self.transmissions,
            self.retransmissions,
            self.timeouts,
            if self.timeouts == 1 { "" } else { "s" }
        )
    }
}

impl Panel {
    /// The live counter at the panel's cursor.
    pub fn progress(&self) -> Progress {
        let s = self.player.trace().model.summary_at(self.player.cursor);
        Progress {
            segments_done: s.segments_done,
            segments: s.info.as_ref().map_or(0, |i| i.segments),
            transmissions: s.transmissions,
            retransmissions: s.retransmissions,
            timeouts: s.timeouts,
            done_in: s.end.as_ref().map(|e| e.delay_micros),
        }
    }

    /// Whether its transfer has ended (in what has been computed; the clock may be earlier).
    pub fn ended(&self) -> bool {
        self.end_at.is_some()
    }
}

/// The compare view's state.
#[derive(Clone, Debug, PartialEq)]
pub struct Compare {
    /// The scenario, in words.
    pub label: String,
    /// One per scheme, in [`schemes`] order.
    pub panels: Vec<Panel>,
    /// The shared clock (microseconds of simulated time).
    pub clock: u64,
    /// Playing?
    pub playing: bool,
    /// Index into [`SPEEDS`].
    pub speed: usize,
    /// Width of every panel's time window (microseconds), the same for all so that their
    /// time scales match.
    pub window: u64,
    /// The window still follows the path delay (no zoom yet).
    pub auto_window: bool,
    /// A message for the user.
    pub error: Option<String>,
}

impl Default for Compare {
    fn default() -> Self {
        Compare {
            label: String::new(),
            panels: Vec::new(),
            clock: 0,
            playing: false,
            speed: SPEED_REAL_TIME,
            window: Player::default().window,
            auto_window: true,
            error: None,
        }
    }
}

/// Something that changes the compare view.
#[derive(Clone, Debug, PartialEq)]
pub enum CompareAction {
    /// A new comparison of these schemes starts (the clock at zero, nothing computed yet).
    Open {
        /// The scenario in words.
        label: String,
        /// The schemes, one panel each.
        modes: Vec<Mode>,
    },
    /// New events of panel `.0`'s simulation.
    Extend(usize, Batch),
    /// Show (or clear) a message.
    Error(Option<String>),
    /// Start playing (from the start if everything has been shown).
    Play,
    /// Stop playing.
    Pause,
    /// Play or pause.
    TogglePlay,
    /// The clock to the next event of any panel (up to its transfer's end).
    StepForward,
    /// The clock to the previous event of any panel (up to its transfer's end).
    StepBack,
    /// Next speed up.
    Faster,
    /// Next speed down.
    Slower,
    /// A speed by index into [`SPEEDS`].
    SetSpeed(usize),
    /// The clock to this time (microseconds).
    SeekTime(u64),
    /// Wall-clock time passed (milliseconds since the last tick).
    Tick(f64),
    /// Multiply the window's width by this factor.
    Zoom(f64),
}

impl Compare {
    /// Applies an action.
    pub fn apply(&mut self, action: CompareAction) {
        match action {
            CompareAction::Open { label, modes } => {
                *self = Compare { label, speed: self.speed, ..Compare::default() };
                self.panels = modes
                    .into_iter()
                    .map(|mode| {
                        let mut player = Player::default();
                        player.apply(Action::Open(Source::Simulated { label: scheme_title(mode) }));
                        Panel { mode, player, end_at: None, row: None }
                    })
                    .collect();
            }
            CompareAction::Extend(i, batch) => {
                let Some(panel) = self.panels.get_mut(i) else { return };
                let from = panel.player.len();
                panel.player.apply(Action::Extend(batch));
                if panel.row.is_none() {
                    // Look for the end only among the new events (a trace can be long).
                    let trace = panel.player.trace.clone();
                    let trace = trace.borrow();
                    let events = &trace.model.events;
                    if let Some((end, totals)) = find_end(events, from) {
                        panel.end_at = Some(events[end].t.total_micros());
                        panel.row = Some(Row::new(panel.mode, totals, &events[..end]));
                    }
                }
                if self.auto_window {
                    // Each player fits a window to its own path delay: take the widest.
                    self.window = self.panels.iter().map(|p| p.player.window).max().unwrap_or(self.window);
                }
            }
            CompareAction::Error(e) => self.error = e,
            CompareAction::Play => self.play(),
            CompareAction::Pause => self.playing = false,
            CompareAction::TogglePlay => {
                if self.playing {
                    self.playing = false;
                } else {
                    self.play();
                }
            }
            CompareAction::StepForward => {
                self.playing = false;
                let next = self
                    .panels
                    .iter()
                    .filter_map(|p| {
                        let t = p.player.trace();
                        let ev = &t.model.events;
                        ev.get(ev.partition_point(|e| e.t.total_micros() <= self.clock))
                            .map(|e| e.t.total_micros())
                            .filter(|&t| t <= p.end_at.unwrap_or(u64::MAX))
                    })
                    .min();
                if let Some(t) = next {
                    self.clock = t;
                }
            }
            CompareAction::StepBack => {
                self.playing = false;
                let prev = self
                    .panels
                    .iter()
                    .filter_map(|p| {
                        let t = p.player.trace();
                        let ev = &t.model.events;
                        let before = self.clock.min(p.end_at.map_or(u64::MAX, |e| e.saturating_add(1)));
                        let i = ev.partition_point(|e| e.t.total_micros() < before);
                        i.checked_sub(1).and_then(|i| ev.get(i)).map(|e| e.t.total_micros())
                    })
                    .max();
                self.clock = prev.unwrap_or(0);
            }
            CompareAction::Faster => self.speed = (self.speed + 1).min(SPEED_MAX),
            CompareAction::Slower => self.speed = self.speed.saturating_sub(1),
            CompareAction::SetSpeed(i) => self.speed = i.min(SPEED_MAX),
            CompareAction::SeekTime(t) => self.clock = t.min(self.t_end()),
            CompareAction::Tick(ms) => self.tick(ms),
            CompareAction::Zoom(f) => {
                if f.is_finite() && f > 0.0 {
                    self.window = ((self.window as f64 * f) as u64).clamp(100, 600_000_000);
                    self.auto_window = false;
                }
            }
        }
        self.sync();
    }

    /// Every panel's window is the shared one, its playhead the clock, held at the end of its
    /// transfer (so a finished panel keeps showing how it finished).
    fn sync(&mut self) {
        for p in &mut self.panels {
            p.player.window = self.window;
            let t = self.clock.min(p.end_at.unwrap_or(u64::MAX));
            if p.player.playhead != t || p.player.cursor != p.player.trace().count_until(t) {
                p.player.apply(Action::SeekTime(t));
            }
        }
    }

    /// How far the clock may go: the last transfer's end once every transfer has ended, else
    /// the furthest any panel has computed.
    pub fn t_end(&self) -> u64 {
        match self.panels.iter().map(|p| p.end_at).collect::<Option<Vec<u64>>>() {
            Some(ends) if !ends.is_empty() => ends.into_iter().max().unwrap_or(0),
            _ => self.panels.iter().map(|p| p.player.t_end()).max().unwrap_or(0),
        }
    }

    /// Whether every transfer has ended and the clock has shown all of them.
    pub fn at_end(&self) -> bool {
        self.panels.iter().all(Panel::ended) && self.clock >= self.t_end()
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.panels.iter().all(|p| p.player.is_empty())
    }

    fn play(&mut self) {
        if self.is_empty() {
            return;
        }
        if self.at_end() {
            self.clock = 0;
        }
        self.playing = true;
    }

    fn tick(&mut self, ms: f64) {
        if !self.playing {
            return;
        }
        match self.advance_micros(ms) {
            None => self.clock = self.t_end(),
            Some(dt) => self.clock = self.clock.saturating_add(dt).min(self.t_end()),
        }
        if self.at_end() {
            self.playing = false;
        }
    }

    /// How far the clock moves in `ms` of wall clock at the current speed (None: as fast as
    /// possible). The page computes the simulations this far ahead.
    pub fn advance_micros(&self, ms: f64) -> Option<u64> {
        let ms = if ms.is_finite() { ms.clamp(0.0, 250.0) } else { 0.0 };
        SPEEDS.get(self.speed).copied().flatten().map(|s| (ms * 1000.0 * s) as u64)
    }

    /// The current speed as text.
    pub fn speed_label(&self) -> String {
        speed_label(self.speed)
    }

    /// Whether `self` and `o` differ at most in how far playback and the simulations have
    /// got (the clock, the panels' events): what changes every frame. The page re-renders
    /// its panels at once for any other change and a few times a second for these.
    pub fn same_but_time(&self, o: &Self) -> bool {
        self.label == o.label
            && self.playing == o.playing
            && self.speed == o.speed
            && self.window == o.window
            && self.error == o.error
            && self.panels.len() == o.panels.len()
            && self.panels.iter().zip(&o.panels).all(|(a, b)| {
                a.mode == b.mode
                    && a.row == b.row
                    && a.player.horizon.is_some() == b.player.horizon.is_some()
                    && std::rc::Rc::ptr_eq(&a.player.trace, &b.player.trace)
            })
    }
}
