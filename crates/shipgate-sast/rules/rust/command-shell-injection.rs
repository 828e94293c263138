use std::process::Command;

fn archive(dir: &str) -> std::io::Result<()> {
    // ruleid: rust.command-shell-injection
    Command::new("sh").arg("-c").arg(format!("tar czf /tmp/out.tgz {}", dir)).status()?;
    // ruleid: rust.command-shell-injection
    Command::new("bash").args(["-c", &format!("du -sh {dir}")]).status()?;
    // ok: rust.command-shell-injection
    Command::new("tar").arg("czf").arg("/tmp/out.tgz").arg(dir).status()?;
    // ok: rust.command-shell-injection
    Command::new("sh").arg("-c").arg("echo ready").status()?;
    Ok(())
}
