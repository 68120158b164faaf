//! The in-browser simulation as an incremental event source: the core's [`Simulation`] is
//! stepped only as far as the playhead has got, so what the page shows is the simulator's
//! present, and a datagram on screen is one the simulator still has on the wire. That is what
//! makes teaching mode work: dropping a packet ([`SimDriver::drop_packet`]) calls the core's
//! `drop_in_flight`, and the sender's timer then fires and resends to exactly that receiver.
//!
//! If the playhead was moved back before the simulator's present, a drop rebuilds the
//! simulation from its seed up to the playhead (the simulator is deterministic), replaying the
//! earlier drops, so the drop happens when the user sees it.
//!
//! The driver lives outside the player (the app keeps it in a `use_mut_ref`) and hands the
//! player batches of new events ([`Batch`]).

use crate::simulate::ScriptedDrop;
use p2mp_core::sim::{SimConfig, SimResult, Simulation};
use p2mp_core::trace::{EventKind, Node, TraceEvent, TraceHeader, TxId};
use p2mp_core::{Instant, PacketKind};
use std::collections::HashMap;

/// Most simulator steps per call, so one animation frame stays short.
pub const MAX_STEPS_PER_CALL: usize = 50_000;

/// New events for the player, and how far the simulation has got.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// Events recorded since the last batch, in time order.
    pub events: Vec<TraceEvent>,
    /// The simulated present (microseconds), or None once the simulation is over.
    pub horizon: Option<u64>,
    /// Arrival times of the datagrams now on the wire (transmission id → microseconds).
    pub arrivals: HashMap<TxId, u64>,
}

/// A datagram on the wire, for the in-flight list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnTheWire {
    /// Its transmission id.
    pub tx: TxId,
    /// The receiver whose path it travels.
    pub rx: u16,
    /// Client to server?
    pub downstream: bool,
    /// When it would arrive (microseconds).
    pub arrival: u64,
}

/// What a drop did.
#[derive(Clone, Debug, PartialEq)]
pub enum Dropped {
    /// Not on the wire (any more).
    NotFound,
    /// Dropped at the simulator's present: the player appends these events.
    Appended(Batch),
    /// The simulation was rebuilt up to the playhead first: the player replaces its trace
    /// with these events (all of them).
    Rebuilt(Batch),
}

/// The incremental simulation.
pub struct SimDriver {
    cfg: SimConfig,
    sim: Simulation,
    /// Drops the user made so far: (simulated time, transmission).
    drops: Vec<(u64, TxId)>,
    /// Scripted drops not yet done.
    scripted: Vec<ScriptedDrop>,
    /// Every scripted drop, for rebuilds.
    scripted_all: Vec<ScriptedDrop>,
    done: bool,
}

impl core::fmt::Debug for SimDriver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SimDriver").field("now", &self.sim.now()).field("done", &self.done).finish()
    }
}

impl SimDriver {
    /// Sets up the simulation (nothing has happened yet beyond time zero).
    pub fn new(cfg: SimConfig, scripted: Vec<ScriptedDrop>) -> Result<Self, String> {
        let sim = Simulation::new(SimConfig { trace: true, ..cfg.clone() }).map_err(|e| e.to_string())?;
        Ok(SimDriver { cfg, sim, drops: Vec::new(), scripted_all: scripted.clone(), scripted, done: false })
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// The trace header (for exports).
    pub fn header(&self) -> TraceHeader {
        self.sim.header()
    }

    /// The simulated present (microseconds).
    pub fn now(&self) -> u64 {
        self.sim.now().total_micros()
    }

    /// Whether the simulation is over.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The outcome so far.
    pub fn result(&self) -> SimResult {
        self.sim.result()
    }

    /// Datagrams on the wire now, soonest arrival first.
    pub fn in_flight(&self) -> Vec<OnTheWire> {
        self.sim
            .in_flight()
            .into_iter()
            .map(|(tx, rx, downstream, at)| OnTheWire { tx, rx, downstream, arrival: at.total_micros() })
            .collect()
    }

    fn arrivals(&self) -> HashMap<TxId, u64> {
        self.sim.in_flight().into_iter().map(|(tx, _, _, at)| (tx, at.total_micros())).collect()
    }

    /// The events since the last batch. Scripted drops are applied here, the moment their
    /// datagram is sent.
    fn batch(&mut self) -> Batch {
        let events = self.sim.take_trace();
        let mut extra = Vec::new();
        if !self.scripted.is_empty() {
            for e in &events {
                let EventKind::Send { packet, .. } = e.kind else { continue };
                let (Some(tx), Some(rx), Some(seq)) = (e.tx, e.rx, e.seq) else { continue };
                let ack = e.node != Node::Client;
                let kind_ok = if ack { packet == PacketKind::Ack } else { packet == PacketKind::Data };
                if let Some(i) =
                    self.scripted.iter().position(|d| kind_ok && d.ack == ack && d.rx == rx && d.seq == seq)
                {
                    self.scripted.remove(i);
                    self.sim.drop_in_flight(tx);
                    extra.extend(self.sim.take_trace());
                }
            }
        }
        let mut events = events;
        if !extra.is_empty() {
            events.extend(extra);
            events.sort_by_key(|e| e.t);
        }
        Batch { events, horizon: (!self.done).then(|| self.now()), arrivals: self.arrivals() }
    }

    fn step_once(&mut self) -> bool {
        if self.done {
            return false;
        }
        if !self.sim.step() {
            self.done = true;
            return false;
        }
        true
    }

    /// Runs the simulation up to time `t` (microseconds), at most [`MAX_STEPS_PER_CALL`]
    /// steps; the batch's horizon says how far it got.
    pub fn advance_to(&mut self, t: u64) -> Batch {
        let deadline = Instant::from_micros(t);
        let mut steps = 0;
        while !self.done && steps < MAX_STEPS_PER_CALL {
            match self.sim.next_event_time() {
                Some(next) if next <= deadline => {
                    self.step_once();
                    steps += 1;
                    if !self.scripted.is_empty() && !self.sim.trace().is_empty() {
                        // Scripted drops must see their send before the datagram moves on.
                        let b = self.batch();
                        return self.continue_to(b, deadline, steps);
                    }
                }
                Some(_) => {
                    self.sim.run_until(deadline);
                    break;
                }
                None => {
                    self.step_once();
                    break;
                }
            }
        }
        self.batch()
    }

    fn continue_to(&mut self, mut acc: Batch, deadline: Instant, mut steps: usize) -> Batch {
        while !self.done && steps < MAX_STEPS_PER_CALL {
            match self.sim.next_event_time() {
                Some(next) if next <= deadline => {
                    self.step_once();
                    steps += 1;
                    let b = self.batch();
                    acc.events.extend(b.events);
                }
                Some(_) => {
                    self.sim.run_until(deadline);
                    break;
                }
                None => {
                    self.step_once();
                    break;
                }
            }
        }
        let b = self.batch();
        acc.events.extend(b.events);
        Batch { events: acc.events, horizon: b.horizon, arrivals: b.arrivals }
    }

    /// Runs `steps` simulator steps (as fast as possible).
    pub fn advance_steps(&mut self, steps: usize) -> Batch {
        let mut events = Vec::new();
        for _ in 0..steps.min(MAX_STEPS_PER_CALL) {
            if !self.step_once() {
                break;
            }
            if !self.scripted.is_empty() {
                events.extend(self.batch().events);
            }
        }
        let b = self.batch();
        events.extend(b.events);
        Batch { events, horizon: b.horizon, arrivals: b.arrivals }
    }

    /// Steps until at least one new event is recorded (or the end).
    pub fn next_event(&mut self) -> Batch {
        let mut events = Vec::new();
        while events.is_empty() && self.step_once() {
            events.extend(self.batch().events);
        }
        let b = self.batch();
        events.extend(b.events);
        Batch { events, horizon: b.horizon, arrivals: b.arrivals }
    }

    /// Runs to the end (for a quick complete run, exports, tests).
    pub fn run_to_end(&mut self) -> Batch {
        let mut events = Vec::new();
        while self.step_once() {
            if !self.scripted.is_empty() {
                events.extend(self.batch().events);
            }
        }
        let b = self.batch();
        events.extend(b.events);
        Batch { events, horizon: None, arrivals: HashMap::new() }
    }

    /// Loses transmission `tx` if it is on the wire at time `at` (the playhead, microseconds).
    pub fn drop_packet(&mut self, tx: TxId, at: u64) -> Dropped {
        if at >= self.now() {
            // The playhead is at (or, rounding, past) the present: advance to it and drop.
            let mut before = self.advance_to(at);
            if !self.sim.drop_in_flight(tx) {
                return if before.events.is_empty() { Dropped::NotFound } else { Dropped::Appended(before) };
            }
            self.drops.push((self.now(), tx));
            let after = self.batch();
            before.events.extend(after.events);
            before.horizon = after.horizon;
            before.arrivals = after.arrivals;
            return Dropped::Appended(before);
        }
        // The user looks at the past: rebuild the simulation up to the playhead.
        let Ok((mut fresh, mut events)) = self.rebuild(Some(at)) else { return Dropped::NotFound };
        if !fresh.sim.drop_in_flight(tx) {
            return Dropped::NotFound;
        }
        fresh.drops.push((fresh.now(), tx));
        let b = fresh.batch();
        events.extend(b.events);
        *self = fresh;
        Dropped::Rebuilt(Batch { events, horizon: b.horizon, arrivals: b.arrivals })
    }

    /// A fresh simulation with the same configuration, scripted drops and the user's drops
    /// made up to `until` (all of them if None), run up to `until` (or to the end); with every
    /// event it recorded.
    fn rebuild(&self, until: Option<u64>) -> Result<(SimDriver, Vec<TraceEvent>), String> {
        let mut fresh = SimDriver::new(self.cfg.clone(), self.scripted_all.clone())?;
        let mut events = Vec::new();
        for &(t, old) in self.drops.iter().filter(|&&(t, _)| until.is_none_or(|u| t <= u)) {
            events.extend(fresh.advance_to(t).events);
            if fresh.sim.drop_in_flight(old) {
                fresh.drops.push((t, old));
            }
        }
        match until {
            Some(u) => events.extend(fresh.advance_to(u).events),
            None => events.extend(fresh.run_to_end().events),
        }
        Ok((fresh, events))
    }

    /// The whole transfer's trace, with the drops made so far, as if run to the end now
    /// (for exports: the page may not have simulated that far yet). The header comes from
    /// [`SimDriver::header`].
    pub fn complete_trace(&self) -> Result<Vec<TraceEvent>, String> {
        self.rebuild(None).map(|(_, events)| events)
    }
}
