//! The backstop for `-t`: whatever blocks (a DNS lookup, a trickling socket,
//! a lock), the process ends by itself and says which step was running.
//!
//! Like check_http, it uses SIGALRM rather than a thread: a thread would cost
//! every run a clone, a stack and a slower exit, for a timer that almost
//! never fires. The handler may only do async-signal-safe things, so the
//! complete timeout result is rendered in advance, each time the run enters
//! a new step, and the handler just writes those bytes and exits.
//!
//! Requests carry their own deadline and normally report a timeout
//! themselves; the alarm fires a little after the deadline only if they did
//! not. Whoever claims the output first prints the one result.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};
use std::time::Duration;

/// Time the watchdog leaves the run to report its own timeout, well inside
/// the half second the plugin is allowed beyond `-t`.
pub const GRACE: Duration = Duration::from_millis(200);

/// Renders the timeout result for a step and URL: (text to print, exit code).
type Render = Box<dyn Fn(&'static str, &str) -> (String, i32) + Send + Sync>;

static RENDER: OnceLock<Render> = OnceLock::new();
/// The pre-rendered result for the current step; leaked on purpose (a few
/// per run) so the signal handler can read it without locks or allocation.
static MESSAGE: AtomicPtr<Vec<u8>> = AtomicPtr::new(std::ptr::null_mut());
static EXIT_CODE: AtomicI32 = AtomicI32::new(3);
static OUTPUT_CLAIMED: AtomicBool = AtomicBool::new(false);

/// Claim the right to print the result. Only the first caller gets `true`.
pub fn claim_output() -> bool {
    !OUTPUT_CLAIMED.swap(true, Ordering::SeqCst)
}

/// Arm the alarm for `after` (the timeout plus `GRACE`), with `render`
/// producing the result to print should it fire during a step.
pub fn start(
    after: Duration,
    render: impl Fn(&'static str, &str) -> (String, i32) + Send + Sync + 'static,
) {
    if RENDER.set(Box::new(render)).is_err() {
        return; // already running
    }
    set_step("starting", "");
    // SAFETY: the handler only touches atomics and calls write(2) and
    // _exit(2), both async-signal-safe; the timer struct is plain data.
    unsafe {
        libc::signal(libc::SIGALRM, on_alarm as *const () as libc::sighandler_t);
        let timer = libc::itimerval {
            it_interval: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            it_value: libc::timeval {
                tv_sec: after.as_secs() as libc::time_t,
                tv_usec: after.subsec_micros() as libc::suseconds_t,
            },
        };
        libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut());
    }
}

/// Record what the run is doing now: the timeout result is rendered for it.
pub fn set_step(step: &'static str, url: &str) {
    let Some(render) = RENDER.get() else { return };
    let (text, code) = render(step, url);
    let mut bytes = text.into_bytes();
    bytes.push(b'\n');
    EXIT_CODE.store(code, Ordering::SeqCst);
    MESSAGE.store(Box::into_raw(Box::new(bytes)), Ordering::SeqCst);
}

extern "C" fn on_alarm(_signal: libc::c_int) {
    if OUTPUT_CLAIMED.swap(true, Ordering::SeqCst) {
        return; // the run is printing its own result and will exit
    }
    let message = MESSAGE.load(Ordering::SeqCst);
    // SAFETY: MESSAGE only ever holds leaked, never freed boxes.
    unsafe {
        if let Some(bytes) = message.as_ref() {
            let mut rest: &[u8] = bytes;
            while !rest.is_empty() {
                let n = libc::write(libc::STDOUT_FILENO, rest.as_ptr().cast(), rest.len());
                if n <= 0 {
                    break;
                }
                rest = &rest[n as usize..];
            }
        }
        libc::_exit(EXIT_CODE.load(Ordering::SeqCst));
    }
}
