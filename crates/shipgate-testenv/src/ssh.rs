//! Git over SSH for tests: the real OpenSSH server (`/usr/sbin/sshd`, Debian's
//! `openssh-server`) on a random loopback port, public-key authentication only, with a fresh
//! host key and a fresh client key per server. Repositories are addressed by absolute path
//! (`ssh://user@127.0.0.1:port/abs/path/repo.git`), so [`crate::GitFixture`] repositories under
//! any directory can be served.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{self, ManagedProcess};
use crate::{TestEnvError, io_err, start_timeout, wait_until, write};

/// Where Debian's `openssh-server` installs the daemon.
pub const SSHD_BIN: &str = "/usr/sbin/sshd";

/// A running sshd that lets one generated key in as the current user.
#[derive(Debug)]
pub struct SshGitServer {
    process: ManagedProcess,
    port: u16,
    user: String,
    dir: tempfile::TempDir,
    known_hosts: String,
}

fn keygen(path: &Path, comment: &str) -> Result<(), TestEnvError> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .output()
        .map_err(io_err(
            "running ssh-keygen (apt-get install -y openssh-client)",
        ))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(TestEnvError::Kube(format!(
            "ssh-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

fn read(path: &Path) -> Result<String, TestEnvError> {
    std::fs::read_to_string(path).map_err(io_err(format!("reading {}", path.display())))
}

impl SshGitServer {
    /// Starts sshd and waits until it accepts connections.
    pub fn start() -> Result<Self, TestEnvError> {
        let bin =
            PathBuf::from(std::env::var_os("SHIPGATE_SSHD_BIN").unwrap_or_else(|| SSHD_BIN.into()));
        if !bin.is_file() {
            return Err(TestEnvError::BinaryMissing {
                name: "sshd (apt-get install -y openssh-server)".into(),
                path: bin,
            });
        }
        let dir = tempfile::Builder::new()
            .prefix("shipgate-sshd-")
            .tempdir()
            .map_err(io_err("creating a temp dir for sshd"))?;
        let d = dir.path();
        keygen(&d.join("host_ed25519"), "shipgate-test-host")?;
        keygen(&d.join("client_ed25519"), "shipgate-test-client")?;
        std::fs::copy(d.join("client_ed25519.pub"), d.join("authorized_keys"))
            .map_err(io_err("writing authorized_keys"))?;
        let host_pub = read(&d.join("host_ed25519.pub"))?;
        let user = Command::new("id")
            .arg("-un")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "root".into());
        // sshd wants its privilege separation directory even when it runs unprivileged.
        let _ = std::fs::create_dir_all("/run/sshd");
        let mut last = None;
        for _ in 0..3 {
            let port = process::free_port()?;
            let config = d.join("sshd_config");
            write(
                &config,
                &format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {pid}\n\
                     AuthorizedKeysFile {keys}\nStrictModes no\nPubkeyAuthentication yes\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                     PermitRootLogin prohibit-password\nAllowUsers {user}\nX11Forwarding no\n\
                     AllowTcpForwarding no\nPermitTTY no\nLogLevel ERROR\n",
                    host = d.join("host_ed25519").display(),
                    pid = d.join("sshd.pid").display(),
                    keys = d.join("authorized_keys").display(),
                ),
            )?;
            let mut cmd = Command::new(&bin);
            cmd.args(["-D", "-e", "-f"]).arg(&config);
            let mut process = ManagedProcess::spawn("sshd", cmd, &d.join("sshd.log"), Some(d))?;
            match wait_until(&mut process, "sshd", start_timeout(), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            }) {
                Ok(()) => {
                    let known_hosts = format!("[127.0.0.1]:{port} {}", host_pub.trim());
                    return Ok(Self {
                        process,
                        port,
                        user,
                        dir,
                        known_hosts,
                    });
                }
                Err(e) => {
                    process.stop(std::time::Duration::from_secs(2));
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| TestEnvError::Kube("sshd did not start".into())))
    }

    /// `ssh://user@127.0.0.1:port<bare_repo>` for a bare repository at an absolute path.
    pub fn url(&self, bare_repo: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            bare_repo.display()
        )
    }

    /// The client's private key (OpenSSH format), authorised on this server.
    pub fn client_key(&self) -> Result<String, TestEnvError> {
        read(&self.dir.path().join("client_ed25519"))
    }

    /// A `known_hosts` line for this server's host key.
    pub fn known_hosts(&self) -> &str {
        &self.known_hosts
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The sshd process.
    pub fn process(&self) -> &ManagedProcess {
        &self.process
    }
}
