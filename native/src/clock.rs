//! Maps tokio's monotonic clock to the core's [`p2mp_core::Instant`] (microseconds since the
//! node started).

use p2mp_core::Instant;
use std::time::Duration;

/// A node's clock: its epoch is the moment it was created.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: tokio::time::Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn start() -> Self {
        Clock { start: tokio::time::Instant::now() }
    }

    /// The current time on the core's scale.
    pub fn now(&self) -> Instant {
        let micros = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        Instant::from_micros(micros)
    }

    /// The tokio instant corresponding to a core instant (for `sleep_until`).
    pub fn to_tokio(&self, t: Instant) -> tokio::time::Instant {
        self.start + Duration::from_micros(t.total_micros())
    }

    /// Sleeps until `deadline`, or forever when there is none.
    pub async fn sleep_until(&self, deadline: Option<Instant>) {
        match deadline {
            Some(d) => tokio::time::sleep_until(self.to_tokio(d)).await,
            None => std::future::pending::<()>().await,
        }
    }
}

/// A node's one timer, kept armed across loop passes. A state machine moves its deadline at
/// almost every datagram (stop-and-wait: once a segment); re-registering a tokio timer each
/// time costs more than the round trip's own work, so a later deadline leaves the armed one in
/// place and [`Timer::wait`] just sleeps again when that one fires early. Only an earlier
/// deadline re-arms.
#[derive(Debug)]
pub struct Timer {
    clock: Clock,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// The deadline the sleep is armed for; `None` when it has fired or was never armed.
    armed: Option<Instant>,
}

impl Timer {
    /// An unarmed timer on `clock`.
    pub fn new(clock: Clock) -> Self {
        Timer { clock, sleep: Box::pin(tokio::time::sleep_until(clock.start)), armed: None }
    }

    /// Resolves once `deadline` has passed (never when there is none). Cancel-safe: dropping
    /// the future keeps the timer armed for the next call.
    pub async fn wait(&mut self, deadline: Option<Instant>) {
        let Some(deadline) = deadline else {
            return std::future::pending().await;
        };
        loop {
            if self.armed.is_none_or(|armed| armed > deadline) {
                self.sleep.as_mut().reset(self.clock.to_tokio(deadline));
                self.armed = Some(deadline);
            }
            self.sleep.as_mut().await;
            self.armed = None;
            if self.clock.now() >= deadline {
                return;
            }
        }
    }
}
