//! The backstop for `-t`: whatever blocks (a DNS lookup, a stuck socket, a
//! lock), the process ends by itself and says which step was running.
//!
//! Requests carry their own deadline and normally report the timeout
//! themselves; the watchdog fires a little after the deadline only if they
//! did not. Whoever claims the output first prints the one result.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Time the watchdog leaves the run to report its own timeout, well inside
/// the half second the plugin is allowed beyond `-t`.
const GRACE: Duration = Duration::from_millis(200);

static STEP: Mutex<(&str, String)> = Mutex::new(("starting", String::new()));
static OUTPUT_CLAIMED: AtomicBool = AtomicBool::new(false);

/// Record what the run is doing now, for the timeout message.
pub fn set_step(step: &'static str, url: &str) {
    if let Ok(mut current) = STEP.lock() {
        *current = (step, url.to_string());
    }
}

pub fn current_step() -> (&'static str, String) {
    match STEP.lock() {
        Ok(current) => current.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Claim the right to print the result. Only the first caller gets `true`.
pub fn claim_output() -> bool {
    !OUTPUT_CLAIMED.swap(true, Ordering::SeqCst)
}

/// Start the watchdog. `on_timeout` gets the step and URL and must print the
/// result and end the process.
pub fn start(deadline: Instant, on_timeout: impl FnOnce(&'static str, String) + Send + 'static) {
    std::thread::spawn(move || {
        let fire_at = deadline + GRACE;
        while let Some(left) = fire_at
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        {
            std::thread::sleep(left);
        }
        if claim_output() {
            let (step, url) = current_step();
            on_timeout(step, url);
        }
    });
}
