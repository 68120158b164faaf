//! The app's state and its reducer: the trace being shown (from any source), the cursor, and
//! playback. Pure: no I/O, no simulation, no clock (time comes in with [`Action::Tick`]), so it
//! is tested on the host. The Yew app keeps it in a `use_mut_ref` and applies actions to it
//! in place (see docs/live-view.md, "How the app is built").
//!
//! Every source (live WebSocket, replay file or URL, in-browser simulation) feeds the same
//! actions: [`Action::Open`] to start, [`Action::Ingest`] with JSON Lines text (a header line
//! starts a new transfer), and the player does the rest.

use crate::sim_source::Batch;
use crate::timeline::Timeline;
use p2mp_core::trace::{TraceEvent, TraceLine, SCHEMA_VERSION};
use p2mp_core::view::{Flight, TraceModel};
use std::cell::{Ref, RefCell};
use std::rc::Rc;

/// Playback speeds offered, as multiples of real time; `None` is as fast as possible.
pub const SPEEDS: [Option<f64>; 14] = [
    Some(0.1),
    Some(0.2),
    Some(0.5),
    Some(1.0),
    Some(2.0),
    Some(5.0),
    Some(10.0),
    Some(20.0),
    Some(50.0),
    Some(100.0),
    Some(200.0),
    Some(500.0),
    Some(1000.0),
    None,
];

/// Index of the as-fast-as-possible speed.
pub const SPEED_MAX: usize = 13;
/// Index of real time (1x).
pub const SPEED_REAL_TIME: usize = 3;
/// Playback at full speed covers the whole trace in about this many frames.
const MAX_SPEED_FRAMES: usize = 300;
/// While following a live transfer, the view runs ahead of the last event by at most this
/// (so a timer's countdown keeps moving while the nodes are silent).
const LIVE_HOLD_MICROS: u64 = 2_000_000;

/// The trace and its index, shared between states and mutated in place (a live transfer can
/// reach hundreds of thousands of events: never cloned). [`Player::generation`] tells renders
/// apart.
#[derive(Debug, Default)]
pub struct Trace {
    /// Flights, summaries, events.
    pub model: TraceModel,
    /// Timers, expiries, completions.
    pub timeline: Timeline,
}

impl Trace {
    /// Appends one event to the model and the index.
    pub fn push(&mut self, e: TraceEvent) {
        self.timeline.apply(&e);
        self.model.push(e);
    }

    /// Time of the first event (microseconds), 0 if none.
    pub fn t_first(&self) -> u64 {
        self.model.events.first().map_or(0, |e| e.t.total_micros())
    }

    /// Time of the last event (microseconds), 0 if none.
    pub fn t_last(&self) -> u64 {
        self.model.events.last().map_or(0, |e| e.t.total_micros())
    }

    /// Number of events with a time at or before `t` (events are in time order).
    pub fn count_until(&self, t: u64) -> usize {
        self.model.events.partition_point(|e| e.t.total_micros() <= t)
    }

    /// Appends a batch of events from an incremental source and its in-flight arrival times.
    pub fn extend(&mut self, batch: Batch) {
        for e in batch.events {
            self.push(e);
        }
        self.timeline.arrivals = batch.arrivals;
    }

    /// Whether the transfer has ended (a `TransferEnd` was seen).
    pub fn ended(&self) -> bool {
        self.model.summary().end.is_some()
    }
}

/// Where the shown trace comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Nothing loaded yet.
    None,
    /// A hub's WebSocket.
    Live {
        /// Its URL.
        url: String,
    },
    /// A recorded trace.
    Replay {
        /// File name or URL.
        name: String,
    },
    /// The in-browser simulator.
    Simulated {
        /// Short description of the parameters.
        label: String,
    },
}

/// State of the live connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Not connected (no live source).
    Idle,
    /// Opening.
    Connecting,
    /// Receiving.
    Open,
    /// Closed, with the reason.
    Closed(String),
}

/// Everything the page shows, apart from what components keep to themselves.
#[derive(Clone, Debug)]
pub struct Player {
    /// The trace, shared.
    pub trace: Rc<RefCell<Trace>>,
    /// Bumped whenever the trace changes.
    pub generation: u64,
    /// Where it comes from.
    pub source: Source,
    /// Live connection state.
    pub connection: Connection,
    /// Events applied: the side panel shows the state after the first `cursor` events.
    pub cursor: usize,
    /// The time shown (microseconds, trace clock).
    pub playhead: u64,
    /// Playing?
    pub playing: bool,
    /// Index into [`SPEEDS`].
    pub speed: usize,
    /// Following a live transfer (cursor pinned to the newest event).
    pub follow_live: bool,
    /// Width of the diagram's time window (microseconds).
    pub window: u64,
    /// The window is still the automatic one (fitted to the path delay).
    pub auto_window: bool,
    /// Selected flight (index into the model's flights).
    pub selected: Option<usize>,
    /// Lines that failed to parse, since the source was opened.
    pub bad_lines: usize,
    /// The last parse error, for display.
    pub last_bad: Option<String>,
    /// A message for the user (load failure, server error).
    pub error: Option<String>,
    /// Transfers started on this source (header lines seen).
    pub transfers: usize,
    /// For a source that computes as the playhead moves (the in-browser simulation): the
    /// time up to which it has computed; playback may run up to here. None: the trace is
    /// complete as far as the source knows (replay, live, a finished simulation).
    pub horizon: Option<u64>,
}

impl Default for Player {
    fn default() -> Self {
        Player {
            trace: Rc::default(),
            generation: 0,
            source: Source::None,
            connection: Connection::Idle,
            cursor: 0,
            playhead: 0,
            playing: false,
            speed: SPEED_REAL_TIME,
            follow_live: false,
            window: 200_000,
            auto_window: true,
            selected: None,
            bad_lines: 0,
            last_bad: None,
            error: None,
            transfers: 0,
            horizon: None,
        }
    }
}

impl PartialEq for Player {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.trace, &o.trace)
            && self.generation == o.generation
            && self.source == o.source
            && self.connection == o.connection
            && self.cursor == o.cursor
            && self.playhead == o.playhead
            && self.playing == o.playing
            && self.speed == o.speed
            && self.follow_live == o.follow_live
            && self.window == o.window
            && self.selected == o.selected
            && self.bad_lines == o.bad_lines
            && self.error == o.error
            && self.transfers == o.transfers
            && self.horizon == o.horizon
    }
}

impl Player {
    /// Whether `self` and `o` differ at most in how far playback has got (playhead, cursor,
    /// trace generation, an incremental source's horizon): what changes every animation
    /// frame. The page re-renders its panels at once for any other change and only a few
    /// times a second for these.
    pub fn same_but_time(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.trace, &o.trace)
            && self.source == o.source
            && self.connection == o.connection
            && self.playing == o.playing
            && self.speed == o.speed
            && self.follow_live == o.follow_live
            && self.window == o.window
            && self.selected == o.selected
            && self.bad_lines == o.bad_lines
            && self.error == o.error
            && self.transfers == o.transfers
            && self.horizon.is_some() == o.horizon.is_some()
    }
}

/// The page's player, shared by the animation loop (which moves it every frame) and the
/// components (which render a copy of it a few times a second). Equal when it is the same
/// store.
#[derive(Clone, Debug, Default)]
pub struct Store(pub Rc<RefCell<Player>>);

impl PartialEq for Store {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.0, &o.0)
    }
}

/// Something that changes the state.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A source starts: forget the old trace. Live sources follow the newest event.
    Open(Source),
    /// JSON Lines from the current source (one or more lines; a header line starts a new
    /// transfer; bad lines are counted and skipped).
    Ingest(String),
    /// The live connection's state changed.
    Connection(Connection),
    /// Show (or with `None` clear) a message.
    Error(Option<String>),
    /// Start playing (from the start if at the end).
    Play,
    /// Stop playing.
    Pause,
    /// Play or pause.
    TogglePlay,
    /// Apply one more event.
    StepForward,
    /// Undo the last event.
    StepBack,
    /// Next speed up.
    Faster,
    /// Next speed down.
    Slower,
    /// A speed by index into [`SPEEDS`].
    SetSpeed(usize),
    /// Move the playhead to this time (microseconds, trace clock).
    SeekTime(u64),
    /// Move to just after this many events.
    SeekEvent(usize),
    /// Follow the live transfer (pins the cursor to the newest event) or not.
    FollowLive(bool),
    /// Time passed (milliseconds of wall clock since the last tick).
    Tick(f64),
    /// Select a flight (index) or nothing.
    Select(Option<usize>),
    /// Multiply the window's width by this factor.
    Zoom(f64),
    /// New events from an incremental source (the in-browser simulation), with how far it
    /// has computed.
    Extend(Batch),
    /// The incremental source recomputed its past (a drop while looking back): these are all
    /// its events; the playhead stays.
    Replace(Batch),
}

/// One line of JSON Lines input, parsed.
#[derive(Debug)]
pub enum Parsed {
    /// A header: a new transfer starts.
    Header(u32),
    /// An event.
    Event(Box<TraceEvent>),
    /// Blank.
    Blank,
    /// Not a trace line: the parser's message.
    Bad(String),
}

/// Parses one line of a trace.
pub fn parse_line(line: &str) -> Parsed {
    let line = line.trim();
    if line.is_empty() {
        return Parsed::Blank;
    }
    match serde_json::from_str::<TraceLine>(line) {
        Ok(TraceLine::Header(h)) => Parsed::Header(h.schema),
        Ok(TraceLine::Event(e)) => Parsed::Event(Box::new(e)),
        Err(e) => Parsed::Bad(e.to_string()),
    }
}

impl Player {
    /// The trace, borrowed.
    pub fn trace(&self) -> Ref<'_, Trace> {
        self.trace.borrow()
    }

    /// Number of events in the trace.
    pub fn len(&self) -> usize {
        self.trace.borrow().model.events.len()
    }

    /// Whether the trace has no events.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The current speed (None: as fast as possible).
    pub fn speed_factor(&self) -> Option<f64> {
        SPEEDS.get(self.speed).copied().flatten()
    }

    /// The current speed as text ("1x", "max").
    pub fn speed_label(&self) -> String {
        speed_label(self.speed)
    }

    /// Applies an action.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Open(source) => {
                let live = matches!(source, Source::Live { .. });
                *self = Player {
                    source,
                    speed: self.speed,
                    follow_live: live,
                    connection: if live { Connection::Connecting } else { Connection::Idle },
                    generation: self.generation + 1,
                    ..Player::default()
                };
            }
            Action::Ingest(text) => self.ingest(&text),
            Action::Connection(c) => self.connection = c,
            Action::Error(e) => self.error = e,
            Action::Play => self.play(),
            Action::Pause => self.playing = false,
            Action::TogglePlay => {
                if self.playing {
                    self.playing = false;
                } else {
                    self.play();
                }
            }
            Action::StepForward => {
                let len = self.len();
                self.stop();
                self.seek_event((self.cursor + 1).min(len));
                self.select_last_event();
            }
            Action::StepBack => {
                self.stop();
                self.seek_event(self.cursor.saturating_sub(1));
                self.select_last_event();
            }
            Action::Faster => self.speed = (self.speed + 1).min(SPEED_MAX),
            Action::Slower => self.speed = self.speed.saturating_sub(1),
            Action::SetSpeed(i) => self.speed = i.min(SPEED_MAX),
            Action::SeekTime(t) => {
                self.follow_live = false;
                let end = self.t_end();
                let trace = self.trace.borrow();
                let t = t.clamp(trace.t_first(), end.max(trace.t_first()));
                self.cursor = trace.count_until(t);
                drop(trace);
                self.playhead = t;
            }
            Action::SeekEvent(n) => {
                self.stop();
                self.seek_event(n);
            }
            Action::FollowLive(on) => {
                self.follow_live = on;
                if on {
                    self.playing = false;
                    self.jump_to_end();
                }
            }
            Action::Tick(ms) => self.tick(ms),
            Action::Select(f) => self.selected = f,
            Action::Zoom(factor) => {
                if factor.is_finite() && factor > 0.0 {
                    self.window = ((self.window as f64 * factor) as u64).clamp(100, 600_000_000);
                    self.auto_window = false;
                }
            }
            Action::Extend(batch) => {
                self.horizon = batch.horizon;
                self.trace.borrow_mut().extend(batch);
                self.after_batch();
            }
            Action::Replace(batch) => {
                self.horizon = batch.horizon;
                let mut fresh = Trace::default();
                fresh.extend(batch);
                self.trace = Rc::new(RefCell::new(fresh));
                self.selected = None;
                self.after_batch();
            }
        }
    }

    /// Where playback may go: the last event, or an incremental source's horizon.
    pub fn t_end(&self) -> u64 {
        let t_last = self.trace.borrow().t_last();
        self.horizon.map_or(t_last, |h| h.max(t_last))
    }

    /// After an incremental batch: re-index, fit the window, apply the events at or before
    /// the playhead.
    fn after_batch(&mut self) {
        self.generation += 1;
        let mut trace = self.trace.borrow_mut();
        let t_last = trace.t_last();
        let Trace { model, timeline } = &mut *trace;
        timeline.scan_flights(&model.flights, t_last);
        let fit = self.auto_window.then(|| fit_window(trace.timeline.typical_delay()));
        if self.cursor == 0 && self.playhead == 0 {
            self.playhead = trace.t_first();
        }
        self.cursor = trace.count_until(self.playhead);
        drop(trace);
        if let Some(w) = fit {
            self.window = w;
        }
    }

    fn stop(&mut self) {
        self.playing = false;
        self.follow_live = false;
    }

    fn play(&mut self) {
        if self.is_empty() {
            return;
        }
        self.follow_live = false;
        if self.cursor >= self.len() && self.horizon.is_none() {
            self.seek_event(0);
        }
        self.playing = true;
    }

    /// Cursor to `n` events; the playhead to the last applied event's time.
    fn seek_event(&mut self, n: usize) {
        let trace = self.trace.borrow();
        let n = n.min(trace.model.events.len());
        let t = match n.checked_sub(1) {
            Some(i) => trace.model.events[i].t.total_micros(),
            None => trace.t_first(),
        };
        drop(trace);
        self.cursor = n;
        self.playhead = t;
    }

    /// Selects the flight the last applied event is about, if it is about one, so that
    /// stepping shows each packet's details.
    fn select_last_event(&mut self) {
        let trace = self.trace.borrow();
        let model = &trace.model;
        let selected = self
            .cursor
            .checked_sub(1)
            .and_then(|i| model.flight_of_event(i))
            .and_then(|f| flight_index(&model.flights, f));
        drop(trace);
        if selected.is_some() {
            self.selected = selected;
        }
    }

    fn jump_to_end(&mut self) {
        let trace = self.trace.borrow();
        self.cursor = trace.model.events.len();
        self.playhead = self.playhead.max(trace.t_last());
    }

    fn tick(&mut self, ms: f64) {
        let ms = if ms.is_finite() { ms.clamp(0.0, 250.0) } else { 0.0 };
        if self.follow_live {
            let trace = self.trace.borrow();
            let hold = if trace.ended() { 0 } else { LIVE_HOLD_MICROS };
            let t_last = trace.t_last();
            self.cursor = trace.model.events.len();
            drop(trace);
            let ahead = self.playhead.saturating_add((ms * 1000.0) as u64);
            self.playhead = ahead.clamp(t_last, t_last.saturating_add(hold));
            return;
        }
        if !self.playing {
            return;
        }
        let len = self.len();
        match self.speed_factor() {
            None if self.horizon.is_some() => {
                self.playhead = self.t_end();
                self.cursor = len;
            }
            None => {
                let chunk = (len / MAX_SPEED_FRAMES).max(50);
                self.seek_event((self.cursor + chunk).min(len));
            }
            Some(speed) => {
                let t_end = self.t_end();
                let trace = self.trace.borrow();
                let t = self.playhead.saturating_add((ms * 1000.0 * speed) as u64).min(t_end);
                self.cursor = trace.count_until(t);
                drop(trace);
                self.playhead = t;
            }
        }
        if self.cursor >= len && self.horizon.is_none() && self.playhead >= self.t_end() {
            self.playing = false;
        }
    }

    /// How far playback moves in `ms` of wall clock at the current speed (microseconds of
    /// trace time; None at full speed). Incremental sources compute this far ahead.
    pub fn advance_micros(&self, ms: f64) -> Option<u64> {
        let ms = if ms.is_finite() { ms.clamp(0.0, 250.0) } else { 0.0 };
        self.speed_factor().map(|s| (ms * 1000.0 * s) as u64)
    }

    fn ingest(&mut self, text: &str) {
        let mut changed = false;
        for line in text.split('\n') {
            match parse_line(line) {
                Parsed::Blank => {}
                Parsed::Header(schema) if schema != SCHEMA_VERSION => {
                    self.bad_lines += 1;
                    self.last_bad =
                        Some(format!("trace schema {schema} is not supported (expected {SCHEMA_VERSION})"));
                }
                Parsed::Header(_) => {
                    // A new transfer: start afresh, keeping the source and the view settings.
                    self.trace = Rc::default();
                    self.transfers += 1;
                    self.cursor = 0;
                    self.playhead = 0;
                    self.selected = None;
                    self.auto_window = self.auto_window || self.follow_live;
                    changed = true;
                }
                Parsed::Event(e) => {
                    self.trace.borrow_mut().push(*e);
                    changed = true;
                }
                Parsed::Bad(msg) => {
                    self.bad_lines += 1;
                    self.last_bad = Some(msg);
                }
            }
        }
        if !changed {
            return;
        }
        self.generation += 1;
        let mut trace = self.trace.borrow_mut();
        let t_last = trace.t_last();
        let Trace { model, timeline } = &mut *trace;
        timeline.scan_flights(&model.flights, t_last);
        let t_first = trace.t_first();
        let fit = self.auto_window.then(|| fit_window(trace.timeline.typical_delay()));
        drop(trace);
        if let Some(w) = fit {
            self.window = w;
        }
        if self.follow_live {
            self.jump_to_end();
        } else if self.cursor == 0 {
            self.playhead = t_first;
        }
    }
}

/// The index of flight `f` in `flights` (flights are in send order).
pub fn flight_index(flights: &[Flight], f: &Flight) -> Option<usize> {
    let i = flights.partition_point(|g| g.send_index < f.send_index);
    (flights.get(i)?.send_index == f.send_index).then_some(i)
}

/// The automatic window width for a one-way delay: a few dozen round trips.
pub fn fit_window(one_way: u64) -> u64 {
    one_way.saturating_mul(24).clamp(1_000, 20_000_000)
}

/// A speed as text: "0.1x", "1x", "1000x", "max".
pub fn speed_label(index: usize) -> String {
    match SPEEDS.get(index).copied().flatten() {
        Some(s) if s < 1.0 => format!("{s}x"),
        Some(s) => format!("{s:.0}x"),
        None => "max".into(),
    }
}

/// The hub's "start another transfer" endpoint for a viewer WebSocket URL:
/// `ws://HOST/ws/view` → `http://HOST/api/again` (`wss` → `https`).
pub fn again_url(ws_url: &str) -> String {
    let (scheme, rest) = match ws_url.split_once("://") {
        Some(("wss", rest)) | Some(("https", rest)) => ("https", rest),
        Some((_, rest)) => ("http", rest),
        None => return "/api/again".into(),
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return "/api/again".into();
    }
    format!("{scheme}://{host}/api/again")
}
