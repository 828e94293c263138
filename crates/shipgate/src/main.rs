//! The `shipgate` executable: parses arguments and hands over to the library (see `lib.rs`).

fn main() {
    std::process::exit(shipgate::run(std::env::args_os()));
}
