//! What the ladder diagram shows, drawn through a small [`Pen`] so that the same code paints
//! the canvas (`draw.rs`, wasm only) and writes a standalone SVG ([`svg`], tested on the host).
//!
//! The layers, bottom to top: grid and time axis, lanes and their labels; inside the plot the
//! flights, then segment completions, retransmission timers, expiries and receivers' outcome
//! flags; the playhead on top.

use crate::geometry::{fmt_micros, fmt_tick, strokes_in_view, ticks, Ending, Layout, Stroke};
use crate::player::{Player, Trace};
use crate::timeline::{Timeline, TimerEnd};
use p2mp_core::{Outcome, PacketKind};

/// Colours (Okabe-Ito, colour-blind safe; shapes and dashes tell the same story).
pub mod colour {
    /// DATA, first transmission.
    pub const DATA: &str = "#0072B2";
    /// DATA, retransmission (also dashed).
    pub const RETX: &str = "#D55E00";
    /// ACK.
    pub const ACK: &str = "#009E73";
    /// FIN and its echo.
    pub const FIN: &str = "#CC79A7";
    /// Drop marks.
    pub const DROP: &str = "#C0392B";
    /// Timer band.
    pub const TIMER: &str = "#E69F00";
    /// Text and lanes.
    pub const INK: &str = "#1a1a1a";
    /// Grid.
    pub const GRID: &str = "#d9d9d9";
    /// Finished receiver.
    pub const DONE: &str = "#009E73";
}

/// Dash pattern of retransmissions.
pub const RETX_DASH: [f64; 2] = [6.0, 3.0];
/// Dash pattern of the playhead.
pub const PLAYHEAD_DASH: [f64; 2] = [4.0, 3.0];

/// A drawing surface in CSS pixels. Colours are CSS colour strings.
pub trait Pen {
    /// A straight line.
    fn line(
        &mut self,
        from: (f64, f64),
        to: (f64, f64),
        colour: &'static str,
        width: f64,
        dash: Option<[f64; 2]>,
    );
    /// A filled rectangle.
    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &'static str);
    /// A rectangle's outline.
    fn rect_outline(&mut self, x: f64, y: f64, w: f64, h: f64, colour: &'static str, width: f64);
    /// Text with its baseline's left end at `(x, y)`.
    fn text(&mut self, s: &str, x: f64, y: f64, px: f64, bold: bool, colour: &'static str);
    /// A filled disc.
    fn dot(&mut self, x: f64, y: f64, r: f64, fill: &'static str);
    /// A circle's outline.
    fn ring(&mut self, x: f64, y: f64, r: f64, colour: &'static str, width: f64);
    /// A filled diamond of half-width `rx` and half-height `ry`.
    fn diamond(&mut self, x: f64, y: f64, rx: f64, ry: f64, fill: &'static str);
}

/// The colour of a flight.
pub fn colour_of(packet: PacketKind, retx: bool) -> &'static str {
    match (packet, retx) {
        (PacketKind::Data, false) => colour::DATA,
        (PacketKind::Data, true) => colour::RETX,
        (PacketKind::Ack, _) => colour::ACK,
        (PacketKind::Fin, _) => colour::FIN,
    }
}

/// Font sizes: (small, whether the canvas is big).
pub fn small_font(layout: &Layout) -> f64 {
    if layout.height > 500.0 || layout.width > 1400.0 {
        14.0
    } else {
        12.0
    }
}

/// Each receiver's outcome at `playhead`, as the client saw it (for the lane labels).
pub fn lane_outcomes(timeline: &Timeline, receivers: usize, playhead: u64) -> Vec<Outcome> {
    let mut out = vec![Outcome::Active; receivers];
    for &(t, rx, o) in &timeline.outcomes {
        if t <= playhead {
            if let Some(slot) = out.get_mut(usize::from(rx)) {
                *slot = o;
            }
        }
    }
    out
}

/// Grid, time axis and lanes with their labels (outside the plot's clip).
pub fn axes(pen: &mut impl Pen, layout: &Layout, t0: u64, outcomes: &[Outcome]) {
    let small = small_font(layout);
    let (step, marks) = ticks(layout.from, layout.to, ((layout.width - layout.left) / 110.0) as usize);
    for t in marks {
        let x = layout.x(t);
        pen.line((x, layout.top - 6.0), (x, layout.height - layout.bottom), colour::GRID, 1.0, None);
        if t >= t0 {
            pen.text(&fmt_tick(t - t0, step), x + 3.0, 14.0, small, false, "#555");
        }
    }
    for i in 0..layout.lanes {
        let y = layout.lane_y(i);
        let w = if i == 0 { 2.0 } else { 1.5 };
        pen.line((layout.left, y), (layout.width - layout.right, y), "#8c8c8c", w, None);
        let name = if i == 0 { "Client".to_string() } else { format!("Server {}", i - 1) };
        pen.text(&name, 8.0, y + 5.0, small + 1.0, true, colour::INK);
        if let Some(o) = i.checked_sub(1).and_then(|r| outcomes.get(r)) {
            let (mark, c) = match o {
                Outcome::Finished => ("✓ done", colour::DONE),
                Outcome::Failed => ("✗ failed", colour::DROP),
                Outcome::Active => continue,
            };
            pen.text(mark, 8.0, y + 20.0, small, true, c);
        }
    }
}

/// One flight: its line, and the mark at its tip (`marks`: also the small marks of arrivals
/// and drops; a very dense view leaves them out).
pub fn flight(pen: &mut impl Pen, s: &Stroke, c: &'static str, dashed: bool, selected: bool, marks: bool) {
    if selected {
        pen.line((s.x0, s.y0), (s.x1, s.y1), "rgba(0,0,0,0.25)", 9.0, None);
    }
    let dash = dashed.then_some(RETX_DASH);
    pen.line((s.x0, s.y0), (s.x1, s.y1), c, if selected { 3.0 } else { 2.0 }, dash);
    match s.ending {
        Ending::Moving => pen.dot(s.x1, s.y1, HEAD, c),
        _ if !marks => {}
        Ending::Arrived => pen.dot(s.x1, s.y1, 2.5, c),
        Ending::LossDrop => cross(pen, s.x1, s.y1, 7.0, 3.0),
        Ending::LinkDrop => {
            cross(pen, s.x1, s.y1, 6.0, 2.5);
            pen.ring(s.x1, s.y1, 9.0, colour::DROP, 2.5);
        }
        Ending::Rejected => pen.text("!", s.x1 - 2.0, s.y1 - 6.0, 13.0, true, colour::DROP),
        Ending::Unknown => pen.text("?", s.x1 + 3.0, s.y1, 13.0, true, "#555"),
    }
}

fn cross(pen: &mut impl Pen, x: f64, y: f64, r: f64, w: f64) {
    pen.line((x - r, y - r), (x + r, y + r), colour::DROP, w, None);
    pen.line((x + r, y - r), (x - r, y + r), colour::DROP, w, None);
}

/// Inside the plot, above the flights: segments completed, retransmission timers with the
/// countdown, expiries and what followed, receivers finished or failed.
pub fn marks(pen: &mut impl Pen, layout: &Layout, trace: &Trace, playhead: u64) {
    let small = small_font(layout);
    let timeline = &trace.timeline;
    // Segments completed: ticks above the client lane.
    let yc = layout.lane_y(0);
    let mut last_label = f64::NEG_INFINITY;
    for &(t, seq) in timeline.completes_between(layout.from, layout.to.min(playhead)) {
        let x = layout.x(t);
        pen.line((x, yc - 14.0), (x, yc - 4.0), colour::DONE, 2.0, None);
        if x - last_label > 34.0 {
            pen.text(&format!("#{seq}✓"), x + 2.0, yc - 16.0, small - 1.0, false, colour::DONE);
            last_label = x;
        }
    }

    // Retransmission timers: a band under the client lane, a countdown at the playhead.
    let band = yc + 6.0;
    let mut countdown: Option<u64> = None;
    for s in timeline.timers_between(layout.from, layout.to) {
        if s.armed > playhead {
            continue;
        }
        let end = s.end.map_or(s.deadline, |(t, _)| t);
        let running = end > playhead;
        let x0 = layout.x(s.armed).max(layout.left);
        let fill = if running { "rgba(230,159,0,0.45)" } else { "rgba(230,159,0,0.18)" };
        pen.rect(x0, band, (layout.x(end.min(playhead)) - x0).max(1.0), 6.0, fill);
        if running {
            pen.rect_outline(x0, band, layout.x(s.deadline) - x0, 6.0, colour::TIMER, 1.0);
            let left = s.deadline.saturating_sub(playhead);
            if countdown.is_none_or(|l| left < l) {
                countdown = Some(left);
            }
        } else if matches!(s.end, Some((_, TimerEnd::Fired))) {
            pen.rect(layout.x(end) - 1.5, band - 3.0, 3.0, 12.0, colour::TIMER);
        }
    }
    if let Some(left) = countdown {
        let label = format!("timer: {} left", fmt_micros(left));
        pen.text(&label, layout.x(playhead) + 6.0, band + 20.0, small, true, "#7a4d00");
    }
    // Expiries: what fired, and who gets the retransmission. Windowed schemes fire several
    // timers within a few pixels: a label that would overprint the previous one is left out
    // (its diamond stays).
    let mut label_end = f64::NEG_INFINITY;
    for x in timeline.expiries_between(layout.from, layout.to.min(playhead)) {
        let px = layout.x(x.t);
        pen.diamond(px, yc, 7.0, 9.0, colour::TIMER);
        if px + 9.0 < label_end {
            continue;
        }
        let to: Vec<String> = x.resend_to.iter().map(u16::to_string).collect();
        let mut label = format!("timeout #{}", x.seq.unwrap_or(x.field));
        if !to.is_empty() {
            label.push_str(&format!(" → resend to {}", to.join(", ")));
        }
        if !x.failed.is_empty() {
            label.push_str(" (gave up on ");
            label.push_str(&x.failed.iter().map(u16::to_string).collect::<Vec<_>>().join(", "));
            label.push(')');
        }
        pen.text(&label, px + 9.0, band + 36.0, small, true, "#7a4d00");
        // About 0.6 em per character of bold system-ui text.
        label_end = px + 9.0 + label.chars().count() as f64 * small * 0.6;
    }

    // Receivers finished or failed: flags on their lanes.
    for &(t, rx, o) in &timeline.outcomes {
        if t < layout.from || t > layout.to.min(playhead) {
            continue;
        }
        let y = layout.lane_y(usize::from(rx) + 1);
        let (mark, c) =
            if o == Outcome::Failed { ("✗ failed", colour::DROP) } else { ("✓ finished", colour::DONE) };
        pen.text(mark, layout.x(t) + 4.0, y - 8.0, small, true, c);
    }
}

/// The playhead: a dashed line and the time.
pub fn playhead(pen: &mut impl Pen, layout: &Layout, playhead: u64, t0: u64) {
    let xp = layout.x(playhead);
    pen.line((xp, layout.top - 12.0), (xp, layout.height - 4.0), colour::INK, 1.5, Some(PLAYHEAD_DASH));
    let label = format!("t = {}", fmt_micros(playhead.saturating_sub(t0)));
    pen.text(&label, xp + 4.0, 30.0, small_font(layout), true, colour::INK);
}

/// Whether a stroke no longer changes as the playhead moves on: it has reached its fate and
/// the fate is known (an unresolved flight may still be resolved by a later event).
pub fn settled(s: &Stroke) -> bool {
    !matches!(s.ending, Ending::Moving | Ending::Unknown)
}

/// Radius of the dot at the head of a datagram on the wire.
pub const HEAD: f64 = 5.0;

/// Half the width of a flight's widest mark (the ring of a network loss), in CSS pixels.
pub const MARK_REACH: f64 = 12.0;

/// The diagram of `player`'s window as a standalone SVG document of `width` × `height` CSS
/// pixels: what the canvas shows, as vectors.
pub fn svg(player: &Player, width: f64, height: f64) -> String {
    let trace = player.trace();
    let receivers = trace.model.summary().receivers.len().max(1);
    let layout = Layout::new(width, height, receivers, player.playhead, player.window);
    let t0 = trace.t_first();
    let mut pen = SvgPen::new(width, height);
    let outcomes = lane_outcomes(&trace.timeline, trace.model.summary().receivers.len(), player.playhead);
    axes(&mut pen, &layout, t0, &outcomes);
    pen.out.push_str(r#"<g clip-path="url(#plot)">"#);
    pen.out.push('\n');
    let strokes = strokes_in_view(&trace.model, &trace.timeline, &layout, player.playhead);
    let marks_ok = strokes.len() < 5_000;
    let mut selected = None;
    for (i, s) in &strokes {
        let Some(f) = trace.model.flights.get(*i) else { continue };
        if Some(*i) == player.selected {
            selected = Some((s, f));
            continue;
        }
        flight(&mut pen, s, colour_of(f.packet, f.retx), f.retx, false, marks_ok);
    }
    if let Some((s, f)) = selected {
        flight(&mut pen, s, colour_of(f.packet, f.retx), f.retx, true, true);
    }
    marks(&mut pen, &layout, &trace, player.playhead);
    pen.out.push_str("</g>\n");
    playhead(&mut pen, &layout, player.playhead, t0);
    let clip = format!(
        r#"<defs><clipPath id="plot"><rect x="{}" y="0" width="{}" height="{}"/></clipPath></defs>"#,
        n(layout.left),
        n(layout.width - layout.left - layout.right),
        n(layout.height)
    );
    pen.finish(&clip)
}

/// A number for SVG: two decimals at most, no trailing zeros.
fn n(v: f64) -> String {
    let s = format!("{:.2}", if v.is_finite() { v } else { 0.0 });
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Text escaped for XML.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A [`Pen`] that writes SVG elements.
pub struct SvgPen {
    width: f64,
    height: f64,
    /// The body so far.
    pub out: String,
}

impl SvgPen {
    /// An empty drawing.
    pub fn new(width: f64, height: f64) -> Self {
        let mut out = String::new();
        out.push_str(&format!(
            r##"<rect x="0" y="0" width="{}" height="{}" fill="#ffffff"/>"##,
            n(width),
            n(height)
        ));
        out.push('\n');
        SvgPen { width, height, out }
    }

    /// The document, with `defs` before the body.
    pub fn finish(self, defs: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" font-family=\"system-ui, sans-serif\">\n\
             <title>P2MP-FTP space-time diagram</title>\n{defs}\n{}</svg>\n",
            self.out,
            w = n(self.width),
            h = n(self.height)
        )
    }
}

impl Pen for SvgPen {
    fn line(
        &mut self,
        a: (f64, f64),
        b: (f64, f64),
        colour: &'static str,
        width: f64,
        dash: Option<[f64; 2]>,
    ) {
        let dash =
            dash.map_or_else(String::new, |[on, off]| format!(r#" stroke-dasharray="{} {}""#, n(on), n(off)));
        self.out.push_str(&format!(
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{colour}" stroke-width="{}"{dash}/>"#,
            n(a.0),
            n(a.1),
            n(b.0),
            n(b.1),
            n(width)
        ));
        self.out.push('\n');
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &'static str) {
        self.out.push_str(&format!(
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}"/>"#,
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0))
        ));
        self.out.push('\n');
    }

    fn rect_outline(&mut self, x: f64, y: f64, w: f64, h: f64, colour: &'static str, width: f64) {
        self.out.push_str(&format!(
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{colour}" stroke-width="{}"/>"#,
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0)),
            n(width)
        ));
        self.out.push('\n');
    }

    fn text(&mut self, s: &str, x: f64, y: f64, px: f64, bold: bool, colour: &'static str) {
        let weight = if bold { r#" font-weight="600""# } else { "" };
        self.out.push_str(&format!(
            r#"<text x="{}" y="{}" font-size="{}"{weight} fill="{colour}">{}</text>"#,
            n(x),
            n(y),
            n(px),
            xml_escape(s)
        ));
        self.out.push('\n');
    }

    fn dot(&mut self, x: f64, y: f64, r: f64, fill: &'static str) {
        self.out.push_str(&format!(r#"<circle cx="{}" cy="{}" r="{}" fill="{fill}"/>"#, n(x), n(y), n(r)));
        self.out.push('\n');
    }

    fn ring(&mut self, x: f64, y: f64, r: f64, colour: &'static str, width: f64) {
        self.out.push_str(&format!(
            r#"<circle cx="{}" cy="{}" r="{}" fill="none" stroke="{colour}" stroke-width="{}"/>"#,
            n(x),
            n(y),
            n(r),
            n(width)
        ));
        self.out.push('\n');
    }

    fn diamond(&mut self, x: f64, y: f64, rx: f64, ry: f64, fill: &'static str) {
        self.out.push_str(&format!(
            r#"<polygon points="{},{} {},{} {},{} {},{}" fill="{fill}"/>"#,
            n(x),
            n(y - ry),
            n(x + rx),
            n(y),
            n(x),
            n(y + ry),
            n(x - rx),
            n(y)
        ));
        self.out.push('\n');
    }
}
