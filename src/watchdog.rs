//! The backstop for `-t`: whatever blocks (a DNS lookup, a trickling socket,
//! a lock, a stdout pipe nobody reads), the process ends by itself within
//! the timeout plus half a second, and says which step was running.
//!
//! Like check_http, it uses SIGALRM rather than a thread: a thread would cost
//! every run a clone, a stack and a slower exit, for a timer that almost
//! never fires. The handler may only do async-signal-safe things, so the
//! complete timeout result (text and exit code together, in one
//! [`Outcome`]) is rendered in advance, each time the run enters a new step,
//! and the handler just writes those bytes and exits.
//!
//! A signal mask and an ignored disposition survive exec, so a parent (an
//! engine, a wrapper script, a shell's `trap '' ALRM`) can leave SIGALRM
//! blocked or ignored: the alarm would then never end the run. So `start`
//! installs the handler (which replaces any inherited disposition) and then
//! unblocks SIGALRM, before it arms the timer.
//!
//! Requests carry their own deadline and normally report a timeout
//! themselves; the alarm fires `GRACE` after the deadline only if they did
//! not. Once the run knows its result ([`settle`]), what is left (keeping
//! the history, logging out) can no longer change GKLM's verdict: should
//! the alarm fire then, it prints that result, not a step that timed out.
//! Whoever claims the output first prints the one result:
//! - the watchdog: it writes its result only while stdout takes it, for at
//!   most `LAST_CALL`, then exits with that result's code;
//! - the run itself: the alarm keeps firing every `LAST_CALL`; if the run is
//!   still writing at the second firing (stdout is a full pipe nobody
//!   reads), the process exits with the code of the run's own result. So
//!   output is lost only when stdout would not take it, never the exit code.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicPtr, Ordering};
use std::time::Duration;

use crate::output::report::Report;

/// Time the watchdog leaves the run to report its own timeout.
pub const GRACE: Duration = Duration::from_millis(200);
/// How long a result may take to be written once the alarm has fired.
/// `GRACE + LAST_CALL` stays inside the half second allowed beyond `-t`.
pub const LAST_CALL: Duration = Duration::from_millis(100);

/// When the alarm must fire for a run with `timeout` that has already
/// taken `elapsed`: at `timeout + GRACE` from its start, at once if that
/// is past.
pub fn fires_after(timeout: Duration, elapsed: Duration) -> Duration {
    (timeout + GRACE).saturating_sub(elapsed)
}

/// A result ready to print: text (without the final newline) and exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub text: String,
    pub code: i32,
}

/// Why the watchdog could not be armed.
#[derive(Debug)]
pub enum StartError {
    Handler(std::io::Error),
    Unblock(std::io::Error),
    Timer(std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Handler(e) => write!(f, "cannot install the timeout handler: {e}"),
            StartError::Unblock(e) => write!(f, "cannot unblock the timeout signal: {e}"),
            StartError::Timer(e) => write!(f, "cannot start the timeout timer: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Handler(e) | StartError::Unblock(e) | StartError::Timer(e) => Some(e),
        }
    }
}

/// Where the run is when the alarm would fire.
#[derive(Clone, Copy, Debug)]
pub enum Moment<'a> {
    /// A step of the run, and the GKLM URL it talks to ("" for a local
    /// step: a file, the state file).
    Step(&'static str, &'a str),
    /// The run's result is known; only its upkeep is left.
    Settled(&'a Report),
}

/// Renders the timeout result for a moment of the run.
type Render = Box<dyn Fn(Moment<'_>) -> Outcome + Send + Sync>;

/// `Outcome` as the handler reads it: bytes to write, newline included.
struct Prepared {
    bytes: Vec<u8>,
    code: i32,
}

/// Never touched by the signal handler, which reads `PENDING` only.
static RENDER: Mutex<Option<Render>> = Mutex::new(None);
/// The prepared result for the current step; leaked on purpose (a few per
/// run) so the signal handler can read it without locks or allocation. One
/// pointer, so text and code are always swapped together.
static PENDING: AtomicPtr<Prepared> = AtomicPtr::new(std::ptr::null_mut());

/// Who prints the result: nobody yet, the watchdog, or the run itself, in
/// which case the value is the exit code of the run's result. One atomic,
/// so the claim and that code cannot be seen apart.
static OWNER: AtomicI32 = AtomicI32::new(UNCLAIMED);
const UNCLAIMED: i32 = -1;
const WATCHDOG: i32 = -2;
/// When our timer first fires (monotonic ms); an alarm before that is not
/// ours (one the parent left pending, or an inherited timer) and is ignored.
static FIRES_AT_MS: AtomicI64 = AtomicI64::new(i64::MAX);
/// Set when an alarm found the run writing its own result.
static RUN_WAS_WRITING: AtomicBool = AtomicBool::new(false);
/// Set by `settle`: later steps no longer replace the prepared result.
static SETTLED: AtomicBool = AtomicBool::new(false);

/// Claim the right to print the result whose exit code is `exit_code`.
/// Only the first caller gets `true`. Should writing it block past the
/// deadline, the process still exits, with this code.
pub fn claim_output(exit_code: i32) -> bool {
    debug_assert!((0..=255).contains(&exit_code));
    OWNER
        .compare_exchange(UNCLAIMED, exit_code, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}

/// Arm the alarm for `after` (the timeout plus `GRACE`), with `render`
/// producing the result to print should it fire during a step. Called
/// again, it re-arms the alarm with the new time and result.
pub fn start(
    after: Duration,
    render: impl Fn(Moment<'_>) -> Outcome + Send + Sync + 'static,
) -> Result<(), StartError> {
    // Armed again once `-t` is known: the new result and time replace the
    // first (which covered reading the command line).
    *RENDER.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(render));
    set_step("starting", "");
    let after_ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX / 2);
    FIRES_AT_MS.store(monotonic_ms().saturating_add(after_ms), Ordering::SeqCst);
    let timeval = |d: Duration| libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    };
    // Never zero: a zero it_value disarms the timer instead of firing.
    let timer = libc::itimerval {
        it_value: timeval(after.max(Duration::from_micros(1))),
        it_interval: timeval(LAST_CALL),
    };
    // SAFETY: the handler only touches atomics and leaked data and calls
    // clock_gettime, poll, write and _exit, all async-signal-safe; the
    // structs passed are plain data, fully initialised (zeroed, then set).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // Restart interrupted system calls: the periodic alarm must not
        // turn the run's own reads and writes into errors.
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGALRM, &action, std::ptr::null_mut()) != 0 {
            return Err(StartError::Handler(std::io::Error::last_os_error()));
        }
        // Only now that our handler is in place: an alarm pending from the
        // parent's blocked mask is then handled, not fatal by default.
        let mut alarm: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut alarm);
        libc::sigaddset(&mut alarm, libc::SIGALRM);
        // pthread_sigmask returns the error number instead of setting errno.
        let unblocked = libc::pthread_sigmask(libc::SIG_UNBLOCK, &alarm, std::ptr::null_mut());
        if unblocked != 0 {
            let error = std::io::Error::from_raw_os_error(unblocked);
            return Err(StartError::Unblock(error));
        }
        if libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) != 0 {
            return Err(StartError::Timer(std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// Record what the run is doing now: the timeout result is rendered for it.
/// After `settle`, a step changes nothing: its timeout is not the result.
pub fn set_step(step: &'static str, url: &str) {
    if !SETTLED.load(Ordering::SeqCst) {
        prepare(Moment::Step(step, url));
    }
}

/// Record the run's result, known before its upkeep (keeping the history,
/// logging out): should that outlast the timeout, the alarm prints it.
/// Called again, the newer result replaces the older.
pub fn settle(result: &Report) {
    SETTLED.store(true, Ordering::SeqCst);
    prepare(Moment::Settled(result));
}

fn prepare(moment: Moment<'_>) {
    let render = RENDER.lock().unwrap_or_else(|p| p.into_inner());
    let Some(render) = render.as_ref() else {
        return;
    };
    let Outcome { text, code } = render(moment);
    let mut bytes = text.into_bytes();
    bytes.push(b'\n');
    let prepared = Box::into_raw(Box::new(Prepared { bytes, code }));
    PENDING.store(prepared, Ordering::SeqCst);
}

extern "C" fn on_alarm(_signal: libc::c_int) {
    // A little slack: the timer's clock and ours may round differently.
    if monotonic_ms() < FIRES_AT_MS.load(Ordering::SeqCst) - 50 {
        return;
    }
    match OWNER.compare_exchange(UNCLAIMED, WATCHDOG, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {
            let prepared = PENDING.load(Ordering::SeqCst);
            // SAFETY: PENDING only ever holds leaked, never freed boxes.
            let code = match unsafe { prepared.as_ref() } {
                Some(p) => {
                    write_within(&p.bytes, LAST_CALL);
                    p.code
                }
                None => 3,
            };
            // SAFETY: _exit is async-signal-safe and ends the process.
            unsafe { libc::_exit(code) }
        }
        // The handler is not re-entered while it runs, and it never
        // returns once the watchdog owns the output.
        Err(WATCHDOG) => {}
        // The run is writing its own result: one more LAST_CALL for it,
        // then end with its code whatever the write is waiting for.
        Err(code) => {
            if RUN_WAS_WRITING.swap(true, Ordering::SeqCst) {
                // SAFETY: as above.
                unsafe { libc::_exit(code) }
            }
        }
    }
}

/// Write `bytes` to stdout as far as it takes them within `budget`: poll
/// for room, then write at most `CHUNK` bytes, which a pipe with room takes
/// without blocking. Async-signal-safe (no allocation, no locks).
fn write_within(bytes: &[u8], budget: Duration) {
    const CHUNK: usize = 512; // below PIPE_BUF, so each write is atomic
    let end = monotonic_ms() + budget.as_millis() as i64;
    let mut rest = bytes;
    while !rest.is_empty() {
        let left = end - monotonic_ms();
        if left <= 0 {
            return;
        }
        let mut fd = libc::pollfd {
            fd: libc::STDOUT_FILENO,
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd; poll is async-signal-safe.
        let ready = unsafe { libc::poll(&mut fd, 1, left as libc::c_int) };
        // SAFETY: errno is thread-local and readable from a handler.
        if ready < 0 && unsafe { *libc::__errno_location() } == libc::EINTR {
            continue;
        }
        if ready <= 0 || fd.revents & libc::POLLOUT == 0 {
            return; // no room within the budget, or stdout is closed
        }
        let n = rest.len().min(CHUNK);
        // SAFETY: writes from a live slice of at least n bytes.
        let written = unsafe { libc::write(libc::STDOUT_FILENO, rest.as_ptr().cast(), n) };
        if written <= 0 {
            return;
        }
        rest = &rest[written as usize..];
    }
}

fn monotonic_ms() -> i64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime is async-signal-safe and fills `now`.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec * 1000 + now.tv_nsec / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The margins the binary tests no longer time: whatever the run has
    /// taken, the alarm fires at `-t` plus GRACE from its start, and the
    /// last write (the watchdog's, or the run's own, given one more
    /// LAST_CALL) ends within the half second the plugin promises.
    #[test]
    fn a_run_ends_within_half_a_second_of_its_timeout() {
        const PROMISED: Duration = Duration::from_millis(500);
        assert!(GRACE + LAST_CALL <= PROMISED);
        for timeout in [1, 2, 10, 60].map(Duration::from_secs) {
            for elapsed in [0, 1, 999, 1_500, 2_199, 2_200, 90_000].map(Duration::from_millis) {
                let fires = fires_after(timeout, elapsed);
                if elapsed <= timeout + GRACE {
                    assert_eq!(elapsed + fires, timeout + GRACE);
                    let ends = elapsed + fires + LAST_CALL;
                    assert!(
                        ends <= timeout + PROMISED,
                        "-t {timeout:?} after {elapsed:?}"
                    );
                } else {
                    // Armed late (the early alarm covered the wait): at once.
                    assert_eq!(fires, Duration::ZERO, "-t {timeout:?} after {elapsed:?}");
                }
            }
        }
    }
}
