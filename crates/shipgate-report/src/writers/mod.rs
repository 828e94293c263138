//! Report writers. Each takes `impl Write` and never decides on its own where output goes.

mod json;
mod sarif;
mod table;

pub use json::write_json;
pub use sarif::{sarif_value, write_sarif};
pub use table::{TableOptions, write_table};
