//! Paints the ladder diagram on a canvas (wasm32 only; what is drawn is in [`crate::scene`],
//! the geometry in [`crate::geometry`]).
//!
//! The [`Painter`] runs once per animation frame and is built for thousands of strokes on
//! screen under software rasterisation: rasterising every flight every frame costs tens of
//! milliseconds, so a flight whose stroke no longer changes (it reached its fate) is drawn
//! once into an offscreen tile fixed in trace time, and each frame only blits the tiles (at a
//! shift that follows the playhead) and draws what still moves. Tiles enter from the right
//! empty (that time has not happened yet) and leave on the left; anything that invalidates
//! them (another trace, zoom, resize, a step back in time) redraws them from scratch.

use crate::geometry::{strokes_except, strokes_iter, Ending, Layout, Stroke};
use crate::player::{Player, Trace};
use crate::scene::{self, colour_of, Pen, HEAD, MARK_REACH};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d as Ctx, HtmlCanvasElement};

pub use crate::scene::colour;

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
    let strokes = strokes_iter(&trace.model, &trace.timeline, &layout, player.playhead);
    crate::geometry::hit(strokes.collect::<Vec<_>>().iter().map(|(i, s)| (*i, s)), x, y, 8.0)
}

fn context(canvas: &HtmlCanvasElement) -> Option<Ctx> {
    canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into::<Ctx>().ok())
}

/// A [`Pen`] on a 2D context that sets colours, widths, dashes and fonts only when they
/// change (each setter crosses from wasm to JavaScript, colours as strings).
pub struct CanvasPen<'a> {
    ctx: &'a Ctx,
    stroke: &'static str,
    fill: &'static str,
    width: f64,
    dash: Option<[f64; 2]>,
    font: (f64, bool),
}

impl<'a> CanvasPen<'a> {
    /// A pen on `ctx`, whose state is unknown.
    pub fn new(ctx: &'a Ctx) -> Self {
        CanvasPen { ctx, stroke: "", fill: "", width: -1.0, dash: Some([-1.0, -1.0]), font: (-1.0, false) }
    }

    /// Sets the stroke colour, width and dash (for paths built on the context directly).
    pub fn set_stroke(&mut self, c: &'static str, width: f64, dash: Option<[f64; 2]>) {
        if self.stroke != c {
            self.ctx.set_stroke_style_str(c);
            self.stroke = c;
        }
        if self.width != width {
            self.ctx.set_line_width(width);
            self.width = width;
        }
        if self.dash != dash {
            let pattern = match dash {
                Some([on, off]) => js_sys::Array::of2(&on.into(), &off.into()),
                None => js_sys::Array::new(),
            };
            let _ = self.ctx.set_line_dash(&pattern);
            self.dash = dash;
        }
    }

    /// Sets the fill colour (for paths built on the context directly).
    pub fn set_fill(&mut self, c: &'static str) {
        if self.fill != c {
            self.ctx.set_fill_style_str(c);
            self.fill = c;
        }
    }
}

impl Pen for CanvasPen<'_> {
    fn line(
        &mut self,
        a: (f64, f64),
        b: (f64, f64),
        colour: &'static str,
        width: f64,
        dash: Option<[f64; 2]>,
    ) {
        self.set_stroke(colour, width, dash);
        self.ctx.begin_path();
        self.ctx.move_to(a.0, a.1);
        self.ctx.line_to(b.0, b.1);
        self.ctx.stroke();
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &'static str) {
        self.set_fill(fill);
        self.ctx.fill_rect(x, y, w, h);
    }

    fn rect_outline(&mut self, x: f64, y: f64, w: f64, h: f64, colour: &'static str, width: f64) {
        self.set_stroke(colour, width, None);
        self.ctx.stroke_rect(x, y, w, h);
    }

    fn text(&mut self, s: &str, x: f64, y: f64, px: f64, bold: bool, colour: &'static str) {
        self.set_fill(colour);
        if self.font != (px, bold) {
            self.ctx.set_font(&format!("{}{px}px system-ui, sans-serif", if bold { "600 " } else { "" }));
            self.font = (px, bold);
        }
        let _ = self.ctx.fill_text(s, x, y);
    }

    fn dot(&mut self, x: f64, y: f64, r: f64, fill: &'static str) {
        self.set_fill(fill);
        self.ctx.begin_path();
        let _ = self.ctx.arc(x, y, r, 0.0, std::f64::consts::TAU);
        self.ctx.fill();
    }

    fn ring(&mut self, x: f64, y: f64, r: f64, colour: &'static str, width: f64) {
        self.set_stroke(colour, width, None);
        self.ctx.begin_path();
        let _ = self.ctx.arc(x, y, r, 0.0, std::f64::consts::TAU);
        self.ctx.stroke();
    }

    fn diamond(&mut self, x: f64, y: f64, rx: f64, ry: f64, fill: &'static str) {
        self.set_fill(fill);
        self.ctx.begin_path();
        self.ctx.move_to(x, y - ry);
        self.ctx.line_to(x + rx, y);
        self.ctx.line_to(x, y + ry);
        self.ctx.line_to(x - rx, y);
        self.ctx.close_path();
        self.ctx.fill();
    }
}

/// More datagrams on the wire than this draw their lines as hairlines.
const DENSE: usize = 400;

/// Width of a tile in CSS pixels (about; a whole number of device pixels).
const TILE_CSS: f64 = 256.0;

struct Tile {
    /// Tile `j` covers `[j, j + 1)` tile widths of trace time times pixels per microsecond.
    j: i64,
    canvas: HtmlCanvasElement,
    ctx: Ctx,
}

/// What the tiles were drawn for: any change redraws them.
struct CacheKey {
    trace: Rc<RefCell<Trace>>,
    width: f64,
    height: f64,
    dpr: f64,
    lanes: usize,
    window: u64,
    delay: u64,
}

impl CacheKey {
    fn same(&self, o: &CacheKey) -> bool {
        Rc::ptr_eq(&self.trace, &o.trace)
            && self.width == o.width
            && self.height == o.height
            && self.dpr == o.dpr
            && self.lanes == o.lanes
            && self.window == o.window
            && self.delay == o.delay
    }
}

/// What a frame shows: the same again is not redrawn.
#[derive(PartialEq)]
struct FrameKey {
    trace: usize,
    generation: u64,
    playhead: u64,
    window: u64,
    selected: Option<usize>,
    size: (i32, i32),
    dpr: f64,
}

/// Per-frame counts, for the performance script.
#[derive(Default, Clone, Copy)]
pub struct PaintStats {
    /// Strokes in view and not yet in the tiles.
    pub strokes: usize,
    /// Of which drawn live (still moving).
    pub live: usize,
    /// Newly drawn into the tiles this frame.
    pub cached: usize,
    /// The tiles were redrawn from scratch.
    pub rebuilt: bool,
}

/// The canvas painter with its tile cache (see the module's documentation).
#[derive(Default)]
pub struct Painter {
    tiles: Vec<Tile>,
    pool: Vec<(HtmlCanvasElement, Ctx)>,
    key: Option<CacheKey>,
    /// Flights drawn into the tiles (a bit per flight index).
    drawn: Vec<u64>,
    /// Rightmost extent of anything in the tiles, in absolute CSS pixels.
    reach: f64,
    last_playhead: u64,
    last_frame: Option<FrameKey>,
    live: Vec<(usize, Stroke)>,
    fresh: Vec<usize>,
}

impl Painter {
    /// Forgets the tiles: the next frame redraws everything.
    pub fn invalidate(&mut self) {
        self.key = None;
        self.last_frame = None;
    }

    fn reset(&mut self) {
        for t in self.tiles.drain(..) {
            self.pool.push((t.canvas, t.ctx));
        }
        self.drawn.clear();
        self.reach = f64::NEG_INFINITY;
    }

    fn tile(&mut self, j: i64, w: u32, h: u32) -> Option<Tile> {
        let (canvas, ctx) = match self.pool.pop() {
            Some(p) => p,
            None => {
                let doc = web_sys::window()?.document()?;
                let c: HtmlCanvasElement = doc.create_element("canvas").ok()?.dyn_into().ok()?;
                let ctx = context(&c)?;
                (c, ctx)
            }
        };
        if canvas.width() != w || canvas.height() != h {
            canvas.set_width(w);
            canvas.set_height(h);
        } else {
            let _ = ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0);
            ctx.clear_rect(0.0, 0.0, f64::from(w), f64::from(h));
        }
        Some(Tile { j, canvas, ctx })
    }

    /// Draws `player`'s frame on `canvas` unless it shows exactly that already. Returns what
    /// it drew, or None if nothing changed.
    pub fn paint(&mut self, canvas: &HtmlCanvasElement, player: &Player) -> Option<PaintStats> {
        if canvas.client_width() == 0 {
            return None; // hidden (the other tab)
        }
        let ctx = context(canvas)?;
        let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio()).max(0.5);
        let frame = FrameKey {
            trace: Rc::as_ptr(&player.trace) as usize,
            generation: player.generation,
            playhead: player.playhead,
            window: player.window,
            selected: player.selected,
            size: (canvas.client_width(), canvas.client_height()),
            dpr,
        };
        if self.last_frame.as_ref() == Some(&frame) {
            return None;
        }
        self.last_frame = Some(frame);
        let layout = layout_of(canvas, player);
        let (pw, ph) = ((layout.width * dpr).round() as u32, (layout.height * dpr).round() as u32);
        if canvas.width() != pw || canvas.height() != ph {
            canvas.set_width(pw);
            canvas.set_height(ph);
        }
        let trace = player.trace();
        let mut stats = PaintStats::default();

        // The tiles: still valid?
        let key = CacheKey {
            trace: player.trace.clone(),
            width: layout.width,
            height: layout.height,
            dpr,
            lanes: layout.lanes,
            window: player.window,
            delay: trace.timeline.typical_delay(),
        };
        if !self.key.as_ref().is_some_and(|k| k.same(&key)) || player.playhead < self.last_playhead {
            self.reset();
            self.key = Some(key);
            stats.rebuilt = true;
        }
        self.last_playhead = player.playhead;
        // CSS pixels per microsecond; tile width in device and CSS pixels.
        let plot = (layout.width - layout.left - layout.right).max(1.0);
        let k = plot / (layout.to - layout.from).max(1) as f64;
        let tile_dev = (TILE_CSS * dpr).round().max(1.0);
        let tile_css = tile_dev / dpr;
        let from_abs = layout.from as f64 * k;
        let (j_lo, j_hi) =
            ((from_abs / tile_css).floor() as i64, ((layout.to as f64 * k) / tile_css).floor() as i64);
        // Tiles gone off the left (or right, after a jump) go back to the pool.
        let mut i = 0;
        while i < self.tiles.len() {
            if self.tiles[i].j < j_lo || self.tiles[i].j > j_hi {
                let t = self.tiles.swap_remove(i);
                self.pool.push((t.canvas, t.ctx));
            } else {
                i += 1;
            }
        }
        // New tiles: empty, unless drawn strokes reach into them (a jump forward): then all
        // are redrawn.
        let missing: Vec<i64> = (j_lo..=j_hi).filter(|j| !self.tiles.iter().any(|t| t.j == *j)).collect();
        if missing.iter().any(|&j| j as f64 * tile_css <= self.reach + MARK_REACH) {
            self.reset();
            stats.rebuilt = true;
        }
        for j in j_lo..=j_hi {
            if !self.tiles.iter().any(|t| t.j == j) {
                if let Some(t) = self.tile(j, tile_dev as u32, ph) {
                    self.tiles.push(t);
                }
            }
        }
        // Where each tile's origin is on screen (CSS pixels, unrounded).
        let origin = |j: i64| layout.left + j as f64 * tile_css - from_abs;

        // Flights: settled ones not yet in the tiles go in; moving ones are drawn below.
        self.live.clear();
        let flights = &trace.model.flights;
        if self.drawn.len() < flights.len().div_ceil(64) {
            self.drawn.resize(flights.len().div_ceil(64), 0);
        }
        let mut pens: Vec<(i64, CanvasPen<'_>)> = Vec::new();
        let tiles = &self.tiles;
        // Flights in the tiles stay settled until the playhead goes back (which resets).
        let drawn = std::mem::take(&mut self.drawn);
        let mut fresh = std::mem::take(&mut self.fresh);
        fresh.clear();
        let is_drawn = |i: usize| drawn.get(i / 64).is_some_and(|w| w & (1u64 << (i % 64)) != 0);
        for (i, s) in strokes_except(&trace.model, &trace.timeline, &layout, player.playhead, is_drawn) {
            stats.strokes += 1;
            if !scene::settled(&s) {
                self.live.push((i, s));
                continue;
            }
            let Some(f) = flights.get(i) else { continue };
            let (x_lo, x_hi) = (s.x0.min(s.x1) - MARK_REACH, s.x0.max(s.x1) + MARK_REACH);
            for t in tiles {
                let o = origin(t.j);
                if x_hi < o || x_lo > o + tile_css {
                    continue;
                }
                let pen = match pens.iter().position(|(j, _)| *j == t.j) {
                    Some(p) => &mut pens[p].1,
                    None => {
                        let _ = t.ctx.set_transform(dpr, 0.0, 0.0, dpr, -o * dpr, 0.0);
                        pens.push((t.j, CanvasPen::new(&t.ctx)));
                        &mut pens.last_mut().expect("just pushed").1
                    }
                };
                scene::flight(pen, &s, colour_of(f.packet, f.retx), f.retx, false, true);
            }
            fresh.push(i);
            self.reach = self.reach.max(x_hi - MARK_REACH - layout.left + from_abs);
            stats.cached += 1;
        }
        drop(pens);
        self.drawn = drawn;
        for &i in &fresh {
            if let Some(w) = self.drawn.get_mut(i / 64) {
                *w |= 1u64 << (i % 64);
            }
        }
        self.fresh = fresh;
        stats.live = self.live.len();

        // The frame.
        let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
        let mut pen = CanvasPen::new(&ctx);
        pen.rect(0.0, 0.0, layout.width, layout.height, "#ffffff");
        let t0 = trace.t_first();
        let outcomes = scene::lane_outcomes(&trace.timeline, layout.lanes - 1, player.playhead);
        scene::axes(&mut pen, &layout, t0, &outcomes);
        ctx.save();
        ctx.begin_path();
        ctx.rect(layout.left, 0.0, plot, layout.height);
        ctx.clip();
        let _ = ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0);
        for t in &self.tiles {
            let _ = ctx.draw_image_with_html_canvas_element(&t.canvas, (origin(t.j) * dpr).round(), 0.0);
        }
        let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
        // Moving flights, one colour at a time (fewer state changes).
        let marks_ok = self.live.len() < 5_000;
        // Their heads (the same dot as `scene::flight`) go in one path per colour. A dense
        // view (hundreds on the wire) draws their lines one pixel wide in one path per colour:
        // hairlines rasterise several times faster, and the heads still show each packet.
        let dense = self.live.len() > DENSE;
        let width = if dense { 1.0 } else { 2.0 };
        let groups = [
            (colour::DATA, false),
            (colour::RETX, true),
            (colour::ACK, false),
            (colour::ACK, true),
            (colour::FIN, false),
            (colour::FIN, true),
        ];
        for (c, retx) in groups {
            let of_colour =
                |i: usize| flights.get(i).is_some_and(|f| f.retx == retx && colour_of(f.packet, f.retx) == c);
            let dash = retx.then_some(scene::RETX_DASH);
            let mut heads = 0;
            for (i, s) in &self.live {
                if !of_colour(*i) {
                    continue;
                }
                if s.ending != Ending::Moving {
                    scene::flight(&mut pen, s, c, dash.is_some(), false, marks_ok);
                } else {
                    heads += 1;
                    if !dense {
                        pen.line((s.x0, s.y0), (s.x1, s.y1), c, width, dash);
                    }
                }
            }
            if heads == 0 {
                continue;
            }
            if dense {
                pen.set_stroke(c, width, dash);
                ctx.begin_path();
                for (i, s) in &self.live {
                    if s.ending == Ending::Moving && of_colour(*i) {
                        ctx.move_to(s.x0, s.y0);
                        ctx.line_to(s.x1, s.y1);
                    }
                }
                ctx.stroke();
            }
            pen.set_fill(c);
            ctx.begin_path();
            for (i, s) in &self.live {
                if s.ending == Ending::Moving && of_colour(*i) {
                    ctx.move_to(s.x1 + HEAD, s.y1);
                    let _ = ctx.arc(s.x1, s.y1, HEAD, 0.0, std::f64::consts::TAU);
                }
            }
            ctx.fill();
        }
        // The selected flight on top of everything else.
        if let Some(sel) = player.selected {
            if let Some(f) = flights.get(sel) {
                let delay = match f.fate {
                    p2mp_core::view::Fate::InFlight => {
                        trace.timeline.arrivals.get(&f.tx).map_or(trace.timeline.typical_delay(), |&at| {
                            at.saturating_sub(f.sent.total_micros()).max(1)
                        })
                    }
                    _ => trace.timeline.typical_delay(),
                };
                if let Some(s) = crate::geometry::stroke(&layout, f, player.playhead, delay) {
                    scene::flight(&mut pen, &s, colour_of(f.packet, f.retx), f.retx, true, true);
                }
            }
        }
        scene::marks(&mut pen, &layout, &trace, player.playhead);
        ctx.restore();
        let mut pen = CanvasPen::new(&ctx);
        scene::playhead(&mut pen, &layout, player.playhead, t0);
        Some(stats)
    }
}
