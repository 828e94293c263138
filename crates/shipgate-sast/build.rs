//! Embeds the built-in rules: every `rules/<lang>/<name>.yaml` (not the `*.test.yaml` test
//! files) becomes an entry of `BUILTIN_RULES` in `$OUT_DIR/builtin_rules.rs`.

use std::path::Path;

fn main() {
    // Read at run time, not `env!` at compile time: a build script binary reused from another
    // checkout sharing the target directory must still read this checkout's rules.
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir).join("rules");
    println!("cargo::rerun-if-changed=rules");
    let mut files = Vec::new();
    let mut langs: Vec<_> = std::fs::read_dir(&dir)
        .expect("rules/ exists")
        .map(|e| e.expect("readable rules/ entry").path())
        .filter(|p| p.is_dir())
        .collect();
    langs.sort();
    for l in langs {
        println!("cargo::rerun-if-changed={}", l.display());
        let mut names: Vec<_> = std::fs::read_dir(&l)
            .expect("readable language dir")
            .map(|e| e.expect("readable rule entry").path())
            .filter(|p| {
                let n = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                n.ends_with(".yaml") && !n.ends_with(".test.yaml")
            })
            .collect();
        names.sort();
        files.extend(names);
    }
    let mut out = String::from(
        "/// The built-in rule files: (name, contents).\npub(crate) const BUILTIN_RULES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let rel = f
            .strip_prefix(&dir)
            .expect("under rules/")
            .to_string_lossy()
            .replace('\\', "/");
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            format!("builtin:{rel}"),
            f.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("builtin_rules.rs");
    std::fs::write(dest, out).expect("write builtin_rules.rs");
}
