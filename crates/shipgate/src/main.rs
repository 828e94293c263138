//! The `shipgate` executable: parses arguments and hands over to the library (see `lib.rs`).

// mimalloc: the scanners and the webhook allocate many small, short-lived values (findings,
// JSON and Rego values); glibc's malloc spent up to a quarter of built-in rule evaluation in
// free/consolidate (docs/benchmarks-policy.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (v2 and v3 alike); the Rust bindings
/// name only some of the options.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    if is_one_shot_scan(std::env::args_os().nth(1).as_deref()) {
        // A scan runs for a second or two and exits: handing freed pages back to the kernel
        // only to fault in freshly zeroed ones for the next file's regex caches cost ~14% of
        // `scan secrets` over a 700 MiB tree (docs/benchmarks.md, issue 15). Peak RSS is the
        // same either way. Long-running commands (webhook, agent) keep the default delay so
        // their memory shrinks after a burst.
        // SAFETY: sets a plain integer option before any thread is started.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1)
        };
    }
    std::process::exit(shipgate::run(std::env::args_os()));
}

/// Whether the first argument names a command that runs once and exits.
fn is_one_shot_scan(first: Option<&std::ffi::OsStr>) -> bool {
    first.is_some_and(|a| a == "scan")
}
