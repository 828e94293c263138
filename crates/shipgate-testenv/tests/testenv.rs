//! Integration tests for the test infrastructure itself: the control plane really serves the
//! Kubernetes API, the registry really serves /v2/, and nothing outlives the test process.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ObjectMeta, PostParams};
use shipgate_testenv::process::pid_alive;

#[tokio::test]
async fn control_plane_serves_the_api() {
    let Some(cp) = shipgate_testenv::control_plane_or_skip("control_plane_serves_the_api") else {
        return;
    };
    let client = cp.client().await.expect("client");
    let info = client.apiserver_version().await.expect("version");
    assert_eq!(info.major, "1");
    assert_eq!(info.minor, "34");
    let ns_api: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("testenv-smoke".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    ns_api
        .create(&PostParams::default(), &ns)
        .await
        .expect("create ns");
    let cms: Api<ConfigMap> = Api::namespaced(client, "testenv-smoke");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("c".into()),
            ..Default::default()
        },
        data: Some([("k".to_string(), "v".to_string())].into()),
        ..Default::default()
    };
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create cm");
    let got = cms.get("c").await.expect("get cm");
    assert_eq!(got.data.unwrap()["k"], "v");

    // The audit log records the request at `Metadata` level: who, what, never the data.
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let log = std::fs::read_to_string(cp.audit_log_path()).unwrap_or_default();
        let hit = log.lines().find(|l| {
            l.contains("\"audit.k8s.io/v1\"")
                && l.contains("\"namespace\":\"testenv-smoke\"")
                && l.contains("\"verb\":\"get\"")
                && l.contains("\"resource\":\"configmaps\"")
        });
        if let Some(l) = hit {
            break l.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no audit event for the get:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(line.contains("\"username\":\"admin\""), "{line}");
    assert!(!line.contains("responseObject"), "{line}");
}

#[test]
fn registry_serves_v2_and_stops_on_drop() {
    let reg = match shipgate_testenv::Registry::start() {
        Ok(r) => r,
        Err(e) if shipgate_testenv::in_ci() => panic!("registry required in CI: {e}"),
        Err(e) => {
            eprintln!("SKIPPED registry test: {e}");
            return;
        }
    };
    let port: u16 = reg.host().rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(
        shipgate_testenv::process::http_get_status(port, "/v2/"),
        Some(200)
    );
    assert_eq!(
        shipgate_testenv::process::http_get_status(port, "/v2/nope/manifests/latest"),
        Some(404)
    );
    let pid = reg.process().pid().unwrap();
    let dir = reg.dir().to_owned();
    drop(reg);
    assert!(!pid_alive(pid), "registry pid {pid} still alive after drop");
    assert!(!dir.exists(), "registry dir left behind");
}

/// Runs the probe binary, returns (pids, dir) it reported, leaving the probe running.
fn run_probe(mode: &str, what: &str) -> Option<(std::process::Child, Vec<u32>, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shipgate-testenv-probe"))
        .args([mode, what])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn probe");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let Some(Ok(first)) = lines.next() else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("probe printed nothing");
    };
    if let Some(err) = first.strip_prefix("ERROR ") {
        if shipgate_testenv::in_ci() {
            panic!("probe could not start {what}: {err}");
        }
        eprintln!("SKIPPED leak test for {what}: {err}");
        let _ = child.wait();
        return None;
    }
    let pids: Vec<u32> = first
        .strip_prefix("PIDS ")
        .expect("PIDS line")
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let dir = lines.next().unwrap().unwrap();
    let dir = dir.strip_prefix("DIR ").expect("DIR line").to_owned();
    Some((child, pids, dir))
}

fn assert_all_gone(pids: &[u32], dir: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline
        && (pids.iter().any(|p| pid_alive(*p)) || std::path::Path::new(dir).exists())
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let alive: Vec<_> = pids.iter().filter(|p| pid_alive(**p)).collect();
    assert!(alive.is_empty(), "processes leaked: {alive:?}");
    assert!(
        !std::path::Path::new(dir).exists(),
        "directory leaked: {dir}"
    );
}

#[test]
fn nothing_outlives_a_test_process_that_exits_without_cleanup() {
    let Some((mut child, pids, dir)) = run_probe("exit", "registry") else {
        return;
    };
    assert!(!pids.is_empty());
    child.wait().unwrap();
    assert_all_gone(&pids, &dir);
}

#[test]
fn nothing_outlives_a_sigkilled_test_process() {
    let Some((mut child, pids, dir)) = run_probe("wait", "etcd") else {
        return;
    };
    assert_eq!(pids.len(), 2, "etcd and its watchdog");
    assert!(pids.iter().all(|p| pid_alive(*p)));
    child.kill().unwrap(); // SIGKILL: no destructor, no atexit
    child.wait().unwrap();
    assert_all_gone(&pids, &dir);
}

#[test]
fn nothing_outlives_an_abandoned_control_plane() {
    let Some((mut child, pids, dir)) = run_probe("exit", "control-plane") else {
        return;
    };
    assert_eq!(pids.len(), 4, "apiserver, etcd and their two watchdogs");
    child.wait().unwrap(); // the probe exits without stopping anything
    assert_all_gone(&pids, &dir);
}

// --- git HTTP server --------------------------------------------------------------------

mod git_server {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use shipgate_testenv::git::{git_command, run_git};
    use shipgate_testenv::process::pid_alive;
    use shipgate_testenv::{GitFixture, GitHttpServer, git};

    /// A fixture with three commits on `main` (`a.txt` grows each time) and the server.
    fn served(
        auth: Option<(&str, &str)>,
    ) -> (tempfile::TempDir, GitFixture, GitHttpServer, Vec<String>) {
        let root = tempfile::tempdir().unwrap();
        let mut fx = GitFixture::new(root.path(), "app.git").unwrap();
        let mut shas = Vec::new();
        for i in 1..=3 {
            fx.write("a.txt", &"line\n".repeat(i)).unwrap();
            fx.write(&format!("dir/f{i}.yaml"), "kind: ConfigMap\n")
                .unwrap();
            shas.push(fx.commit(&format!("commit {i}")).unwrap());
        }
        fx.push().unwrap();
        let auth = auth.map(|(u, p)| (u.to_owned(), p.to_owned()));
        let server = GitHttpServer::start(root.path(), auth).unwrap();
        (root, fx, server, shas)
    }

    /// `git <args>` in `dir` with extra environment; (success, stdout, stderr).
    fn git_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let mut cmd = git_command(dir);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn fixture_commits_are_deterministic_and_sign_with_ssh() {
        let (_r1, _fx1, _s1, a) = served(None);
        let (_r2, mut fx2, _s2, b) = served(None);
        assert_eq!(a, b, "same steps, same SHAs");
        assert_eq!(a.len(), 3);
        assert_ne!(a[0], a[1]);
        let keys = tempfile::tempdir().unwrap();
        let key = keys.path().join("id_ed25519");
        let mut kg = std::process::Command::new("ssh-keygen");
        kg.args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
            .arg(&key);
        assert!(kg.status().unwrap().success());
        fx2.write("b.txt", "signed\n").unwrap();
        let signed = fx2.commit_signed_ssh("signed", &key).unwrap();
        let raw = git(fx2.work_dir(), &["cat-file", "commit", &signed]).unwrap();
        assert!(
            raw.contains("gpgsig -----BEGIN SSH SIGNATURE-----"),
            "{raw}"
        );
        fx2.remove("b.txt").unwrap();
        fx2.tag("v1").unwrap();
        fx2.tag_annotated("v2", "release 2").unwrap();
        let c = fx2.commit("remove b").unwrap();
        fx2.switch("feature").unwrap();
        fx2.push().unwrap();
        let bare = fx2.bare_dir();
        assert_eq!(git(bare, &["rev-parse", "main"]).unwrap(), c);
        assert_eq!(git(bare, &["rev-parse", "feature"]).unwrap(), c);
        assert_eq!(git(bare, &["rev-parse", "v1"]).unwrap(), signed);
        assert_eq!(git(bare, &["cat-file", "-t", "v2"]).unwrap(), "tag");
        assert!(git(bare, &["cat-file", "-e", &format!("{c}:b.txt")]).is_err());
    }

    #[test]
    fn clone_fetch_v2_shallow_and_push() {
        let (_root, mut fx, server, shas) = served(None);
        let work = tempfile::tempdir().unwrap();
        let url = server.url("app.git");
        let v2 = ["-c", "protocol.version=2"];
        let (ok, _, err) = git_env(
            work.path(),
            &[&v2[..], &["clone", "--quiet", &url, "c"]].concat(),
            &[("GIT_TRACE_PACKET", "1")],
        );
        assert!(ok, "{err}\n{}", server.backend_stderr());
        assert!(
            err.contains("< version 2"),
            "protocol v2 not spoken:\n{err}"
        );
        let clone = work.path().join("c");
        assert_eq!(git(&clone, &["rev-parse", "HEAD"]).unwrap(), shas[2]);
        assert_eq!(
            std::fs::read_to_string(clone.join("a.txt")).unwrap(),
            "line\n".repeat(3)
        );
        let log = server.request_log();
        assert!(log.len() >= 2, "{log:?}");
        assert!(log.iter().all(|r| r.status == 200), "{log:?}");
        assert!(
            log.iter()
                .all(|r| r.git_protocol.as_deref() == Some("version=2"))
        );
        assert_eq!(log[0].path, "/app.git/info/refs");
        assert_eq!(log[0].query, "service=git-upload-pack");
        assert_eq!(server.requests(), log.len() as u64);

        // A new commit upstream arrives with a protocol v2 fetch.
        fx.write("a.txt", "changed\n").unwrap();
        let sha4 = fx.commit("commit 4").unwrap();
        fx.push().unwrap();
        let before = server.requests();
        git(
            &clone,
            &["-c", "protocol.version=2", "fetch", "--quiet", "origin"],
        )
        .unwrap();
        assert!(server.requests() > before);
        assert_eq!(git(&clone, &["rev-parse", "origin/main"]).unwrap(), sha4);

        // Shallow fetch: one commit, and git records the repository as shallow.
        let shallow = work.path().join("s");
        std::fs::create_dir(&shallow).unwrap();
        git(&shallow, &["init", "--quiet"]).unwrap();
        git(
            &shallow,
            &["fetch", "--quiet", "--depth", "1", &url, "main"],
        )
        .unwrap();
        assert_eq!(git(&shallow, &["rev-parse", "FETCH_HEAD"]).unwrap(), sha4);
        assert_eq!(
            git(&shallow, &["rev-list", "--count", "FETCH_HEAD"]).unwrap(),
            "1"
        );
        assert!(shallow.join(".git/shallow").is_file());

        // Push over HTTP (the fixture allows anonymous receive-pack).
        git(&clone, &["pull", "--quiet", "--ff-only", "origin", "main"]).unwrap();
        std::fs::write(clone.join("pushed.txt"), "from the clone\n").unwrap();
        git(&clone, &["add", "pushed.txt"]).unwrap();
        git(&clone, &["commit", "--quiet", "-m", "pushed over http"]).unwrap();
        let pushed = git(&clone, &["rev-parse", "HEAD"]).unwrap();
        git(&clone, &["push", "--quiet", "origin", "HEAD:main"]).unwrap();
        assert_eq!(git(fx.bare_dir(), &["rev-parse", "main"]).unwrap(), pushed);
        assert!(
            server
                .request_log()
                .iter()
                .any(|r| r.path == "/app.git/git-receive-pack" && r.status == 200)
        );
    }

    #[test]
    fn large_push_is_chunked_and_large_fetch_is_gzipped() {
        let (_root, mut fx, server, _) = served(None);
        // Many refs make the fetch request body larger than git's 1 KiB gzip threshold.
        for i in 0..40 {
            fx.switch(&format!("branch-{i:02}")).unwrap();
            fx.write("branch.txt", &format!("{i}\n")).unwrap();
            fx.commit(&format!("branch {i}")).unwrap();
        }
        fx.switch("main").unwrap();
        fx.push().unwrap();
        let work = tempfile::tempdir().unwrap();
        let url = server.url("app.git");
        for (name, proto) in [("v0", "0"), ("v2", "2")] {
            let dir = work.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            git(&dir, &["init", "--quiet"]).unwrap();
            let before = server.request_log().len();
            git(
                &dir,
                &[
                    "-c",
                    &format!("protocol.version={proto}"),
                    "fetch",
                    "--quiet",
                    &url,
                    "refs/heads/*:refs/remotes/origin/*",
                ],
            )
            .unwrap();
            let refs = git(
                &dir,
                &["for-each-ref", "--format=%(refname)", "refs/remotes/origin"],
            )
            .unwrap();
            assert_eq!(refs.lines().count(), 41, "{name}: {refs}");
            let log = server.request_log();
            assert!(
                log[before..]
                    .iter()
                    .any(|r| r.content_encoding.as_deref() == Some("gzip") && r.status == 200),
                "{name}: no gzip request body: {:?}",
                &log[before..]
            );
        }

        // A 3 MiB incompressible file: the pack exceeds http.postBuffer (1 MiB) so git streams
        // it chunked.
        let clone = work.path().join("v2");
        git(&clone, &["checkout", "--quiet", "-b", "big", "origin/main"]).unwrap();
        let mut data = Vec::with_capacity(3 << 20);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        while data.len() < 3 << 20 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(&x.to_le_bytes());
        }
        std::fs::write(clone.join("big.bin"), &data).unwrap();
        git(&clone, &["add", "big.bin"]).unwrap();
        git(&clone, &["commit", "--quiet", "-m", "big"]).unwrap();
        let sha = git(&clone, &["rev-parse", "HEAD"]).unwrap();
        let before = server.request_log().len();
        git(&clone, &["push", "--quiet", &url, "HEAD:refs/heads/big"]).unwrap();
        assert_eq!(git(fx.bare_dir(), &["rev-parse", "big"]).unwrap(), sha);
        let log = server.request_log();
        assert!(
            log[before..]
                .iter()
                .any(|r| r.chunked && r.path.ends_with("git-receive-pack") && r.status == 200),
            "no chunked push: {:?}",
            &log[before..]
        );
    }

    #[test]
    fn basic_auth_is_required_and_accepted() {
        let (_root, fx, server, shas) = served(Some(("robot", "s3cr:t@")));
        let work = tempfile::tempdir().unwrap();
        let (ok, _, err) = git_env(work.path(), &["clone", &server.url("app.git"), "anon"], &[]);
        assert!(!ok);
        assert!(
            err.contains("could not read Username") || err.contains("Authentication failed"),
            "{err}"
        );
        let wrong = server
            .url("app.git")
            .replace("http://", "http://robot:nope@");
        let (ok, _, err) = git_env(work.path(), &["clone", &wrong, "wrong"], &[]);
        assert!(!ok);
        assert!(err.contains("Authentication failed"), "{err}");
        assert!(
            server
                .request_log()
                .iter()
                .any(|r| r.status == 401 && r.user.is_none())
        );

        let url = server.url_with_credentials("app.git");
        git(work.path(), &["clone", "--quiet", &url, "ok"]).unwrap();
        let clone = work.path().join("ok");
        assert_eq!(git(&clone, &["rev-parse", "HEAD"]).unwrap(), shas[2]);
        // Without http.receivepack, pushing needs an authenticated user (REMOTE_USER).
        git(fx.bare_dir(), &["config", "--unset", "http.receivepack"]).unwrap();
        git(
            &clone,
            &["commit", "--quiet", "--allow-empty", "-m", "auth push"],
        )
        .unwrap();
        git(&clone, &["push", "--quiet", "origin", "HEAD:main"]).unwrap();
        let head = git(&clone, &["rev-parse", "HEAD"]).unwrap();
        assert_eq!(git(fx.bare_dir(), &["rev-parse", "main"]).unwrap(), head);
        let log = server.request_log();
        assert!(log.iter().any(|r| r.user.as_deref() == Some("robot") && r.path.ends_with("git-receive-pack")));
    }

    /// What the module docs promise about `git fetch origin <sha>` of a commit no ref points at.
    #[test]
    fn fetch_of_an_explicit_commit_sha() {
        let (_root, fx, server, shas) = served(None);
        let url = server.url("app.git");
        let fetch = |proto: &str| {
            let dir = tempfile::tempdir().unwrap();
            git(dir.path(), &["init", "--quiet"]).unwrap();
            let (ok, _, err) = git_env(
                dir.path(),
                &[
                    "-c",
                    &format!("protocol.version={proto}"),
                    "fetch",
                    "--quiet",
                    &url,
                    &shas[0],
                ],
                &[],
            );
            let got = ok
                && git(dir.path(), &["rev-parse", "FETCH_HEAD"])
                    .ok()
                    .as_deref()
                    == Some(shas[0].as_str());
            (got, err)
        };
        // The fixture sets uploadpack.allowReachableSHA1InWant: both protocols work.
        assert!(fetch("2").0);
        assert!(fetch("0").0);
        // Without it: protocol v2 still serves the reachable commit, v0 refuses it.
        git(
            fx.bare_dir(),
            &["config", "--unset", "uploadpack.allowReachableSHA1InWant"],
        )
        .unwrap();
        let (v2, err2) = fetch("2");
        assert!(v2, "protocol v2 refused a reachable SHA: {err2}");
        let (v0, err0) = fetch("0");
        assert!(
            !v0,
            "protocol v0 fetched a non-tip SHA without allowReachableSHA1InWant"
        );
        assert!(
            err0.contains("not our ref") || err0.contains("Server does not allow request"),
            "{err0}"
        );
    }

    /// Pids of running `git-http-backend` children serving `port`.
    fn backends_of(port: u16) -> Vec<u32> {
        let needle = format!("SERVER_PORT={port}");
        let mut out = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(env) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            let is_backend = std::fs::read_to_string(entry.path().join("comm"))
                .is_ok_and(|c| c.trim().starts_with("git-http-backen"));
            if is_backend && env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
                out.push(pid);
            }
        }
        out
    }

    #[test]
    fn refusing_and_stopping_make_the_repository_unreachable() {
        use std::io::Write;
        let (_root, _fx, mut server, _) = served(None);
        let work = tempfile::tempdir().unwrap();
        let url = server.url("app.git");
        git(work.path(), &["init", "--quiet"]).unwrap();
        server.set_refusing(true);
        let (ok, _, err) = git_env(work.path(), &["fetch", &url, "main"], &[]);
        assert!(!ok);
        assert!(err.contains("503"), "{err}");
        server.set_refusing(false);
        git(work.path(), &["fetch", "--quiet", &url, "main"]).unwrap();

        // A request whose body never completes keeps a backend running: stop() must kill it.
        let mut stuck = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        write!(
            stuck,
            "POST /app.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: 100000\r\n\r\n0032want"
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut pids = backends_of(server.port());
        while pids.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            pids = backends_of(server.port());
        }
        assert_eq!(pids.len(), 1, "the stuck request's backend");
        server.stop();
        assert!(!pid_alive(pids[0]), "backend {} left running", pids[0]);
        let (ok, _, err) = git_env(work.path(), &["fetch", &url, "main"], &[]);
        assert!(!ok);
        assert!(
            err.contains("Failed to connect") || err.contains("Couldn't connect"),
            "{err}"
        );
        server.stop(); // idempotent
        drop(stuck);
    }

    #[test]
    fn missing_repository_is_404() {
        let (_root, _fx, server, _) = served(None);
        let work = tempfile::tempdir().unwrap();
        let mut cmd = git_command(work.path());
        cmd.args(["ls-remote", &server.url("nope.git")]);
        let err = run_git(cmd).unwrap_err().to_string();
        assert!(err.contains("not found") || err.contains("404"), "{err}");
        // The server records a request after answering it, so git can exit first: wait for
        // the entry (up to 10 s) instead of racing the server thread.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !server.request_log().iter().any(|r| r.status == 404) {
            assert!(
                std::time::Instant::now() < deadline,
                "no 404 in the request log: {:?}",
                server.request_log()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
