//! Paints the ladder diagram on a canvas (wasm32 only; the geometry is in [`crate::geometry`]).

use crate::geometry::{fmt_micros, fmt_tick, strokes_in_view, ticks, Ending, Layout, Stroke};
use crate::player::Player;
use crate::timeline::TimerEnd;
use p2mp_core::{Outcome, PacketKind};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d as Ctx, HtmlCanvasElement};

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

/// The CSS size of the canvas and the layout of the current frame.
pub fn layout_of(canvas: &HtmlCanvasElement, player: &Player) -> Layout {
    let w = f64::from(canvas.client_width().max(200));
    let h = f64::from(canvas.client_height().max(120));
    let receivers = player.trace().model.summary().receivers.len().max(1);
    Layout::new(w, h, receivers, player.playhead, player.window)
}

/// The flight under a click at CSS pixel `(x, y)`, if any.
pub fn pick(canvas: &HtmlCanvasElement, player: &Player, x: f64, y: f64) -> Option<usize> {
    let layout = layout_of(canvas, player);
    let trace = player.trace();
    let strokes = strokes_in_view(&trace.model, &trace.timeline, &layout, player.playhead);
    crate::geometry::hit(strokes.iter().map(|(i, s)| (*i, s)), x, y, 8.0)
}

fn colour_of(packet: PacketKind, retx: bool) -> &'static str {
    match (packet, retx) {
        (PacketKind::Data, false) => colour::DATA,
        (PacketKind::Data, true) => colour::RETX,
        (PacketKind::Ack, _) => colour::ACK,
        (PacketKind::Fin, _) => colour::FIN,
    }
}

fn cross(ctx: &Ctx, x: f64, y: f64, r: f64) {
    ctx.begin_path();
    ctx.move_to(x - r, y - r);
    ctx.line_to(x + r, y + r);
    ctx.move_to(x + r, y - r);
    ctx.line_to(x - r, y + r);
    ctx.stroke();
}

fn dot(ctx: &Ctx, x: f64, y: f64, r: f64) {
    ctx.begin_path();
    let _ = ctx.arc(x, y, r, 0.0, std::f64::consts::TAU);
    ctx.fill();
}

/// Draws the frame for `player`'s state.
pub fn draw(canvas: &HtmlCanvasElement, player: &Player, outcomes: &[Outcome]) {
    let Some(ctx) = canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into::<Ctx>().ok()) else {
        return;
    };
    let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let layout = layout_of(canvas, player);
    let (pw, ph) = ((layout.width * dpr) as u32, (layout.height * dpr) as u32);
    if canvas.width() != pw || canvas.height() != ph {
        canvas.set_width(pw);
        canvas.set_height(ph);
    }
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    ctx.set_fill_style_str("#ffffff");
    ctx.fill_rect(0.0, 0.0, layout.width, layout.height);

    let trace = player.trace();
    let t0 = trace.t_first();
    let big = layout.height > 500.0 || layout.width > 1400.0;
    let font =
        |px: f64, bold: bool| format!("{}{}px system-ui, sans-serif", if bold { "600 " } else { "" }, px);
    let small = if big { 14.0 } else { 12.0 };

    // Time axis and grid.
    let (step, marks) = ticks(layout.from, layout.to, ((layout.width - layout.left) / 110.0) as usize);
    ctx.set_font(&font(small, false));
    ctx.set_line_width(1.0);
    for t in marks {
        let x = layout.x(t);
        ctx.set_stroke_style_str(colour::GRID);
        ctx.begin_path();
        ctx.move_to(x, layout.top - 6.0);
        ctx.line_to(x, layout.height - layout.bottom);
        ctx.stroke();
        if t >= t0 {
            ctx.set_fill_style_str("#555");
            let _ = ctx.fill_text(&fmt_tick(t - t0, step), x + 3.0, 14.0);
        }
    }

    // Lanes and their labels.
    let names: Vec<String> = (0..layout.lanes)
        .map(|i| if i == 0 { "Client".into() } else { format!("Server {}", i - 1) })
        .collect();
    for (i, name) in names.iter().enumerate() {
        let y = layout.lane_y(i);
        ctx.set_stroke_style_str("#8c8c8c");
        ctx.set_line_width(if i == 0 { 2.0 } else { 1.5 });
        ctx.begin_path();
        ctx.move_to(layout.left, y);
        ctx.line_to(layout.width - layout.right, y);
        ctx.stroke();
        ctx.set_fill_style_str(colour::INK);
        ctx.set_font(&font(small + 1.0, true));
        let _ = ctx.fill_text(name, 8.0, y + 5.0);
        if let Some(o) = i.checked_sub(1).and_then(|r| outcomes.get(r)) {
            let (mark, c) = match o {
                Outcome::Finished => ("✓ done", colour::DONE),
                Outcome::Failed => ("✗ failed", colour::DROP),
                Outcome::Active => ("", colour::INK),
            };
            ctx.set_fill_style_str(c);
            ctx.set_font(&font(small, true));
            let _ = ctx.fill_text(mark, 8.0, y + 20.0);
        }
    }

    // Everything time-bound stays inside the plot.
    ctx.save();
    ctx.begin_path();
    ctx.rect(layout.left, 0.0, layout.width - layout.left - layout.right, layout.height);
    ctx.clip();

    // Segments completed: ticks above the client lane.
    let yc = layout.lane_y(0);
    let done = trace.timeline.completes_between(layout.from, layout.to.min(player.playhead));
    ctx.set_font(&font(small - 1.0, false));
    let mut last_label = f64::NEG_INFINITY;
    for &(t, seq) in done {
        let x = layout.x(t);
        ctx.set_stroke_style_str(colour::DONE);
        ctx.set_line_width(2.0);
        ctx.begin_path();
        ctx.move_to(x, yc - 14.0);
        ctx.line_to(x, yc - 4.0);
        ctx.stroke();
        if x - last_label > 34.0 {
            ctx.set_fill_style_str(colour::DONE);
            let _ = ctx.fill_text(&format!("#{seq}✓"), x + 2.0, yc - 16.0);
            last_label = x;
        }
    }

    // Retransmission timers: a band under the client lane, a countdown at the playhead.
    let band = yc + 6.0;
    let mut countdown: Option<(u64, u64)> = None;
    for s in trace.timeline.timers_between(layout.from, layout.to) {
        if s.armed > player.playhead {
            continue;
        }
        let end = s.end.map_or(s.deadline, |(t, _)| t);
        let running = end > player.playhead;
        let shown_end = end.min(player.playhead);
        ctx.set_fill_style_str(if running { "rgba(230,159,0,0.45)" } else { "rgba(230,159,0,0.18)" });
        let x0 = layout.x(s.armed).max(layout.left);
        ctx.fill_rect(x0, band, (layout.x(shown_end) - x0).max(1.0), 6.0);
        if running {
            ctx.set_stroke_style_str(colour::TIMER);
            ctx.set_line_width(1.0);
            let xd = layout.x(s.deadline);
            ctx.stroke_rect(x0, band, xd - x0, 6.0);
            let left = s.deadline.saturating_sub(player.playhead);
            if countdown.is_none_or(|(l, _)| left < l) {
                countdown = Some((left, s.deadline));
            }
        } else if matches!(s.end, Some((_, TimerEnd::Fired))) {
            ctx.set_fill_style_str(colour::TIMER);
            ctx.fill_rect(layout.x(end) - 1.5, band - 3.0, 3.0, 12.0);
        }
    }
    if let Some((left, _)) = countdown {
        ctx.set_fill_style_str("#7a4d00");
        ctx.set_font(&font(small, true));
        let _ = ctx.fill_text(
            &format!("timer: {} left", fmt_micros(left)),
            layout.x(player.playhead) + 6.0,
            band + 20.0,
        );
    }
    // Expiries: what fired, and who gets the retransmission.
    ctx.set_font(&font(small, true));
    for x in trace.timeline.expiries_between(layout.from, layout.to.min(player.playhead)) {
        let px = layout.x(x.t);
        ctx.set_fill_style_str(colour::TIMER);
        ctx.begin_path();
        ctx.move_to(px, yc - 9.0);
        ctx.line_to(px + 7.0, yc);
        ctx.line_to(px, yc + 9.0);
        ctx.line_to(px - 7.0, yc);
        ctx.close_path();
        ctx.fill();
        ctx.set_fill_style_str("#7a4d00");
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
        let _ = ctx.fill_text(&label, px + 9.0, band + 36.0);
    }

    // Flights.
    let strokes = strokes_in_view(&trace.model, &trace.timeline, &layout, player.playhead);
    let marks_ok = strokes.len() < 5_000;
    for (i, s) in &strokes {
        let Some(f) = trace.model.flights.get(*i) else { continue };
        let c = colour_of(f.packet, f.retx);
        draw_stroke(&ctx, s, c, f.retx, Some(*i) == player.selected, marks_ok);
    }
    drop(trace);

    // Receivers finished or failed: flags on their lanes.
    let trace = player.trace();
    for &(t, rx, o) in &trace.timeline.outcomes {
        if t < layout.from || t > layout.to.min(player.playhead) {
            continue;
        }
        let y = layout.lane_y(usize::from(rx) + 1);
        let x = layout.x(t);
        let (mark, c) =
            if o == Outcome::Failed { ("✗ failed", colour::DROP) } else { ("✓ finished", colour::DONE) };
        ctx.set_fill_style_str(c);
        ctx.set_font(&font(small, true));
        let _ = ctx.fill_text(mark, x + 4.0, y - 8.0);
    }

    ctx.restore();

    // The playhead.
    let xp = layout.x(player.playhead);
    ctx.set_stroke_style_str(colour::INK);
    ctx.set_line_width(1.5);
    let _ = ctx.set_line_dash(&js_sys::Array::of2(&4.0.into(), &3.0.into()));
    ctx.begin_path();
    ctx.move_to(xp, layout.top - 12.0);
    ctx.line_to(xp, layout.height - 4.0);
    ctx.stroke();
    let _ = ctx.set_line_dash(&js_sys::Array::new());
    ctx.set_fill_style_str(colour::INK);
    ctx.set_font(&font(small, true));
    let _ = ctx.fill_text(&format!("t = {}", fmt_micros(player.playhead.saturating_sub(t0))), xp + 4.0, 30.0);
}

fn draw_stroke(ctx: &Ctx, s: &Stroke, c: &str, dashed: bool, selected: bool, marks: bool) {
    if selected {
        ctx.set_stroke_style_str("rgba(0,0,0,0.25)");
        ctx.set_line_width(9.0);
        ctx.begin_path();
        ctx.move_to(s.x0, s.y0);
        ctx.line_to(s.x1, s.y1);
        ctx.stroke();
    }
    ctx.set_stroke_style_str(c);
    ctx.set_line_width(if selected { 3.0 } else { 2.0 });
    if dashed {
        let _ = ctx.set_line_dash(&js_sys::Array::of2(&6.0.into(), &3.0.into()));
    }
    ctx.begin_path();
    ctx.move_to(s.x0, s.y0);
    ctx.line_to(s.x1, s.y1);
    ctx.stroke();
    if dashed {
        let _ = ctx.set_line_dash(&js_sys::Array::new());
    }
    if !marks {
        return;
    }
    ctx.set_fill_style_str(c);
    match s.ending {
        Ending::Moving => dot(ctx, s.x1, s.y1, 5.0),
        Ending::Arrived => dot(ctx, s.x1, s.y1, 2.5),
        Ending::LossDrop => {
            ctx.set_stroke_style_str(colour::DROP);
            ctx.set_line_width(3.0);
            cross(ctx, s.x1, s.y1, 7.0);
        }
        Ending::LinkDrop => {
            ctx.set_stroke_style_str(colour::DROP);
            ctx.set_line_width(2.5);
            cross(ctx, s.x1, s.y1, 6.0);
            ctx.begin_path();
            let _ = ctx.arc(s.x1, s.y1, 9.0, 0.0, std::f64::consts::TAU);
            ctx.stroke();
        }
        Ending::Rejected => {
            ctx.set_fill_style_str(colour::DROP);
            ctx.set_font("700 13px system-ui, sans-serif");
            let _ = ctx.fill_text("!", s.x1 - 2.0, s.y1 - 6.0);
        }
        Ending::Unknown => {
            ctx.set_fill_style_str("#555");
            ctx.set_font("700 13px system-ui, sans-serif");
            let _ = ctx.fill_text("?", s.x1 + 3.0, s.y1);
        }
    }
}
