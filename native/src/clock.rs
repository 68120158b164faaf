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
