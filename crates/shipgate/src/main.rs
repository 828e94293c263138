//! The `shipgate` executable: parses arguments and hands over to the library (see `lib.rs`).

// mimalloc: the scanners and the webhook allocate many small, short-lived values (findings,
// JSON and Rego values); glibc's malloc spent up to a quarter of built-in rule evaluation in
// free/consolidate (docs/benchmarks-policy.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(shipgate::run(std::env::args_os()));
}
