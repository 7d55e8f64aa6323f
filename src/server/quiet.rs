//! When a thread of the server has been quiet long enough to give the memory it freed back to
//! the system: past a burst (a crowd logging in), not between messages that come less than
//! 0.5 s apart.

use std::time::Duration;

use crate::core::Input;

/// How long a thread must have had nothing but ticks to do before it releases.
pub const QUIET_BEFORE_RELEASE: Duration = Duration::from_millis(500);

/// When a thread last worked, and whether it has released what it freed since.
pub struct Quiet {
    release_freed_memory: fn(),
    worked_at: Duration,
    released: bool,
}

impl Quiet {
    pub fn new(release_freed_memory: fn()) -> Self {
        Quiet {
            release_freed_memory,
            worked_at: Duration::ZERO,
            released: true,
        }
    }

    /// Whether a batch is the loop's ticks and nothing else: no work.
    pub fn only_ticks(inputs: &[Input]) -> bool {
        inputs.iter().all(|input| matches!(input, Input::Tick))
    }

    /// After a batch, at `now` since the start: work restarts the wait; a quiet batch past
    /// `QUIET_BEFORE_RELEASE` since the last work releases, once.
    pub fn turn(&mut self, only_ticks: bool, now: Duration) {
        if !only_ticks {
            self.worked_at = now;
            self.released = false;
        } else if !self.released && now.saturating_sub(self.worked_at) >= QUIET_BEFORE_RELEASE {
            (self.release_freed_memory)();
            self.released = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static RELEASES: AtomicUsize = AtomicUsize::new(0);

    fn count_release() {
        RELEASES.fetch_add(1, Ordering::Relaxed);
    }

    #[test]
    fn releases_once_a_quiet_spell_after_work_and_never_while_working() {
        let ms = Duration::from_millis;
        let mut quiet = Quiet::new(count_release);
        quiet.turn(true, ms(2_000));
        assert_eq!(
            RELEASES.load(Ordering::Relaxed),
            0,
            "nothing worked, nothing freed"
        );
        for at in (0..2_000).step_by(250) {
            quiet.turn(false, ms(at));
        }
        quiet.turn(true, ms(2_000));
        assert_eq!(RELEASES.load(Ordering::Relaxed), 0, "busy 250 ms ago");
        quiet.turn(true, ms(2_250));
        quiet.turn(true, ms(2_500));
        quiet.turn(true, ms(5_000));
        assert_eq!(
            RELEASES.load(Ordering::Relaxed),
            1,
            "once, 500 ms after the work"
        );
        quiet.turn(false, ms(5_250));
        quiet.turn(true, ms(5_750));
        assert_eq!(RELEASES.load(Ordering::Relaxed), 2, "again after more work");
    }
}
