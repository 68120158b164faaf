//! The ladder diagram's geometry: time runs left to right, the client's lane is on top and one
//! lane per server below it; a flight is a slanted stroke from its sender's lane at its send
//! time to its destination's lane at its fate time, drawn up to the playhead.
//!
//! Pure arithmetic, tested on the host; `draw.rs` paints it on a canvas.

use p2mp_core::view::{Fate, Flight};

/// Where the playhead sits in the window, as a fraction of its width from the left.
pub const PLAYHEAD_AT: f64 = 0.8;

/// The mapping between trace time and canvas pixels for one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Canvas width (CSS pixels).
    pub width: f64,
    /// Canvas height.
    pub height: f64,
    /// Left margin (lane labels).
    pub left: f64,
    /// Right margin.
    pub right: f64,
    /// Top margin (time axis).
    pub top: f64,
    /// Bottom margin.
    pub bottom: f64,
    /// Number of lanes: the client and the servers.
    pub lanes: usize,
    /// Window start (microseconds).
    pub from: u64,
    /// Window end.
    pub to: u64,
}

impl Layout {
    /// A layout of `receivers` servers with the playhead at [`PLAYHEAD_AT`] of a `window`
    /// microseconds wide.
    pub fn new(width: f64, height: f64, receivers: usize, playhead: u64, window: u64) -> Self {
        let window = window.max(1);
        let before = (window as f64 * PLAYHEAD_AT) as u64;
        let from = playhead.saturating_sub(before);
        let left = if width < 500.0 { 64.0 } else { 120.0 };
        Layout {
            width,
            height,
            left,
            right: 16.0,
            top: 36.0,
            bottom: 30.0,
            lanes: receivers + 1,
            from,
            to: from + window,
        }
    }

    /// X of time `t` (may lie outside the plot).
    pub fn x(&self, t: u64) -> f64 {
        let span = (self.to - self.from).max(1) as f64;
        self.left + (t as f64 - self.from as f64) / span * (self.width - self.left - self.right)
    }

    /// The time at x (clamped to the window).
    pub fn t_at(&self, x: f64) -> u64 {
        let w = (self.width - self.left - self.right).max(1.0);
        let f = ((x - self.left) / w).clamp(0.0, 1.0);
        self.from + (f * (self.to - self.from) as f64) as u64
    }

    /// Y of lane `i` (0: client; `r + 1`: server `r`).
    pub fn lane_y(&self, i: usize) -> f64 {
        let n = self.lanes.max(2) - 1;
        let h = (self.height - self.top - self.bottom).max(1.0);
        self.top + h * i as f64 / n as f64
    }
}

/// How a stroke ends (once the playhead has reached its fate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Still moving (the playhead is before its fate).
    Moving,
    /// Delivered.
    Arrived,
    /// Dropped by the receiver's loss service, at the receiver.
    LossDrop,
    /// Lost by the network, on the way.
    LinkDrop,
    /// Thrown away by the destination (checksum, framing...).
    Rejected,
    /// Never resolved: lost without a trace, or the trace stops first.
    Unknown,
}

/// One flight as drawn at a playhead.
#[derive(Clone, Debug, PartialEq)]
pub struct Stroke {
    /// Start (sender's lane at the send time).
    pub x0: f64,
    /// Start y.
    pub y0: f64,
    /// Tip: where the datagram is at the playhead, or where it ended.
    pub x1: f64,
    /// Tip y.
    pub y1: f64,
    /// Its state at the playhead.
    pub ending: Ending,
}

/// The time a flight's stroke reaches its destination lane: its fate time, or for a flight
/// without one at its destination (a network loss, recorded at the send; an unresolved one) a
/// typical delay after the send.
pub fn end_time(f: &Flight, typical_delay: u64) -> u64 {
    let sent = f.sent.total_micros();
    match f.fate {
        Fate::LinkDrop { .. } | Fate::InFlight => sent + typical_delay,
        other => other.at().map_or(sent, |at| at.total_micros().max(sent)),
    }
}

/// How far along its path a flight gets: half way for a network loss, all the way otherwise.
pub fn reach(f: &Flight) -> f64 {
    if matches!(f.fate, Fate::LinkDrop { .. }) {
        0.5
    } else {
        1.0
    }
}

/// The lanes a flight goes from and to.
pub fn lanes_of(f: &Flight) -> (usize, usize) {
    let server = usize::from(f.rx) + 1;
    if f.downstream() {
        (0, server)
    } else {
        (server, 0)
    }
}

/// The flight's stroke at `playhead`, or None if it has not been sent yet.
pub fn stroke(layout: &Layout, f: &Flight, playhead: u64, typical_delay: u64) -> Option<Stroke> {
    let sent = f.sent.total_micros();
    if playhead < sent {
        return None;
    }
    let end = end_time(f, typical_delay);
    let (a, b) = lanes_of(f);
    let reach = reach(f);
    let frac = if end <= sent { reach } else { ((playhead - sent) as f64 / (end - sent) as f64).min(reach) };
    let ending = if frac < reach {
        Ending::Moving
    } else {
        match f.fate {
            Fate::Arrived { .. } => Ending::Arrived,
            Fate::LossDrop { .. } => Ending::LossDrop,
            Fate::LinkDrop { .. } => Ending::LinkDrop,
            Fate::Rejected { .. } => Ending::Rejected,
            Fate::InFlight => Ending::Unknown,
        }
    };
    let (y0, yb) = (layout.lane_y(a), layout.lane_y(b));
    let x0 = layout.x(sent);
    let x1 = x0 + (layout.x(end) - x0) * frac;
    Some(Stroke { x0, y0, x1, y1: y0 + (yb - y0) * frac, ending })
}

/// Distance from point `(px, py)` to the segment of a stroke.
pub fn distance(s: &Stroke, px: f64, py: f64) -> f64 {
    let (dx, dy) = (s.x1 - s.x0, s.y1 - s.y0);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 { 0.0 } else { (((px - s.x0) * dx + (py - s.y0) * dy) / len2).clamp(0.0, 1.0) };
    let (cx, cy) = (s.x0 + t * dx, s.y0 + t * dy);
    ((px - cx).powi(2) + (py - cy).powi(2)).sqrt()
}

/// The nearest of `strokes` (index, stroke) within `radius` pixels of the point.
pub fn hit<'a, I>(strokes: I, px: f64, py: f64, radius: f64) -> Option<usize>
where
    I: IntoIterator<Item = (usize, &'a Stroke)>,
{
    strokes
        .into_iter()
        .map(|(i, s)| (i, distance(s, px, py)))
        .filter(|&(_, d)| d <= radius)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// Tick marks for a time axis over `[from, to]`: a round step giving about `target` ticks.
pub fn ticks(from: u64, to: u64, target: usize) -> (u64, Vec<u64>) {
    let span = to.saturating_sub(from).max(1);
    let raw = span / target.max(1) as u64;
    let mut step = 1u64;
    'outer: for mag in 0..12 {
        for m in [1u64, 2, 5] {
            step = m * 10u64.pow(mag);
            if step >= raw {
                break 'outer;
            }
        }
    }
    let first = from.div_ceil(step) * step;
    let ticks = (0..).map(|k| first + k * step).take_while(|&t| t <= to).take(1000).collect();
    (step, ticks)
}

/// A duration in microseconds as short text: "850 µs", "12.5 ms", "1.25 s".
pub fn fmt_micros(us: u64) -> String {
    if us < 1_000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{} ms", trim(us as f64 / 1e3))
    } else {
        format!("{} s", trim(us as f64 / 1e6))
    }
}

/// A time-axis label for `t` microseconds on an axis of `step`-microsecond ticks: seconds with
/// just enough decimals to tell neighbouring ticks apart ("12.15 s"), or ms below a second.
pub fn fmt_tick(t: u64, step: u64) -> String {
    if t < 1_000_000 && step < 1_000_000 {
        let decimals =
            if step >= 1_000 { 0 } else { (3 - (step as f64).log10().floor() as i32).clamp(0, 3) as usize };
        return format!("{:.*} ms", decimals, t as f64 / 1e3);
    }
    let decimals = (6 - (step.max(1) as f64).log10().floor() as i32).clamp(0, 6) as usize;
    format!("{:.*} s", decimals, t as f64 / 1e6)
}

fn trim(v: f64) -> String {
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Most strokes drawn in one frame (a zoomed-out view of a huge trace is thinned to this).
pub const MAX_STROKES: usize = 30_000;

/// The strokes of every flight visible in `layout`'s window at `playhead`, as
/// `(flight index, stroke)`, oldest first; thinned evenly to at most [`MAX_STROKES`].
pub fn strokes_in_view(
    model: &p2mp_core::view::TraceModel,
    timeline: &crate::timeline::Timeline,
    layout: &Layout,
    playhead: u64,
) -> Vec<(usize, Stroke)> {
    strokes_iter(model, timeline, layout, playhead).collect()
}

/// [`strokes_in_view`] as an iterator (the painter walks it every frame without allocating).
pub fn strokes_iter<'a>(
    model: &'a p2mp_core::view::TraceModel,
    timeline: &'a crate::timeline::Timeline,
    layout: &'a Layout,
    playhead: u64,
) -> impl Iterator<Item = (usize, Stroke)> + 'a {
    strokes_except(model, timeline, layout, playhead, |_| false)
}

/// [`strokes_iter`] without the flights `skip` names (checked before any arithmetic: the
/// painter skips what it has already drawn into its tiles).
pub fn strokes_except<'a>(
    model: &'a p2mp_core::view::TraceModel,
    timeline: &'a crate::timeline::Timeline,
    layout: &'a Layout,
    playhead: u64,
    skip: impl Fn(usize) -> bool + 'a,
) -> impl Iterator<Item = (usize, Stroke)> + 'a {
    let delay = timeline.typical_delay();
    let range = crate::timeline::visible_flights(model, timeline, layout.from, layout.to);
    let step = range.len().div_ceil(MAX_STROKES).max(1);
    range.step_by(step).filter_map(move |i| {
        if skip(i) {
            return None;
        }
        let f = model.flights.get(i)?;
        if !crate::timeline::flight_overlaps(f, layout.from, layout.to) {
            return None;
        }
        let delay = match f.fate {
            Fate::InFlight => timeline
                .arrivals
                .get(&f.tx)
                .map_or(delay, |&at| at.saturating_sub(f.sent.total_micros()).max(1)),
            _ => delay,
        };
        Some((i, stroke(layout, f, playhead, delay)?))
    })
}
