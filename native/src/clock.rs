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

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(m: u64) -> Instant {
        Instant::from_micros(m * 1000)
    }

    /// Abandons a wait at `at` (a select taking another branch, as the drivers' loops do).
    async fn abandon_at(timer: &mut Timer, deadline: Instant, at: Instant, clock: Clock) {
        tokio::select! {
            () = timer.wait(Some(deadline)) => panic!("fired before its deadline"),
            () = tokio::time::sleep_until(clock.to_tokio(at)) => {}
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_deadline_waits_until_it_even_though_the_earlier_arming_fires_first() {
        let clock = Clock::start();
        let mut timer = Timer::new(clock);
        abandon_at(&mut timer, ms(10), ms(1), clock).await;
        timer.wait(Some(ms(50))).await;
        assert_eq!(clock.now(), ms(50));
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_deadline_re_arms() {
        let clock = Clock::start();
        let mut timer = Timer::new(clock);
        abandon_at(&mut timer, ms(50), ms(1), clock).await;
        timer.wait(Some(ms(5))).await;
        assert_eq!(clock.now(), ms(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_already_past_fires_at_once_and_none_never_fires() {
        let clock = Clock::start();
        let mut timer = Timer::new(clock);
        tokio::time::sleep(Duration::from_millis(3)).await;
        timer.wait(Some(ms(2))).await;
        assert_eq!(clock.now(), ms(3));
        let never = tokio::time::timeout(Duration::from_secs(3600), timer.wait(None)).await;
        assert!(never.is_err());
    }
}
