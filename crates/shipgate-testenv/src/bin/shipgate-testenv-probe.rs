//! Leak-test helper: starts infrastructure, prints the pids and the scratch dirs, then either
//! exits without stopping anything (`exit`) or waits to be killed (`wait`). The crate's tests
//! check that the watchdogs remove every process and directory afterwards.
#![allow(clippy::print_stdout)] // reason: this helper's protocol is its stdout

use std::io::Write;

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "exit".into());
    let what = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "control-plane".into());
    let (pids, dir) = match what.as_str() {
        "control-plane" => match shipgate_testenv::ControlPlane::start() {
            Ok(cp) => {
                let out = (cp.pids(), cp.dir().to_owned());
                cp.abandon();
                out
            }
            Err(e) => {
                println!("ERROR {e}");
                std::process::exit(3);
            }
        },
        "etcd" => {
            let dir = match tempfile::Builder::new()
                .prefix("shipgate-etcd-probe-")
                .tempdir()
            {
                Ok(d) => d.keep(),
                Err(e) => {
                    println!("ERROR {e}");
                    std::process::exit(3);
                }
            };
            match shipgate_testenv::Etcd::start(&dir) {
                Ok(etcd) => {
                    let p = etcd.process();
                    let out = (p.pid().into_iter().chain(p.watchdog_pid()).collect(), dir);
                    std::mem::forget(etcd);
                    out
                }
                Err(e) => {
                    println!("ERROR {e}");
                    std::process::exit(3);
                }
            }
        }
        _ => match shipgate_testenv::Registry::start() {
            Ok(r) => {
                let pid = r
                    .process()
                    .pid()
                    .into_iter()
                    .chain(r.process().watchdog_pid());
                let out = (pid.collect(), r.dir().to_owned());
                // Leak it on purpose: statics in a test binary are never dropped either.
                std::mem::forget(r);
                out
            }
            Err(e) => {
                println!("ERROR {e}");
                std::process::exit(3);
            }
        },
    };
    let list: Vec<String> = pids.iter().map(u32::to_string).collect();
    println!("PIDS {}", list.join(" "));
    println!("DIR {}", dir.display());
    let _ = std::io::stdout().flush();
    if mode == "wait" {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
}
