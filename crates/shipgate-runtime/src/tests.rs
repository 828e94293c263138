//! Unit tests with hand-written audit lines: each rule positive and negative, malformed,
//! oversized and unfinished lines, `since`, de-duplication, following with rotation and
//! truncation.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;

use serde_json::{Value, json};
use shipgate_report::Severity;

use crate::{Follower, MAX_LINE, Rules, RuntimeSettings, read_reader};

fn rules() -> Rules {
    Rules::new(&RuntimeSettings::default()).unwrap()
}

fn ev(user: &str, verb: &str, obj: Value, code: u16) -> Value {
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request",
        "auditID": format!("id-{user}-{verb}-{}", obj), "stage": "ResponseComplete",
        "requestURI": "/api/v1/x", "verb": verb,
        "user": {"username": user, "groups": ["g"]},
        "sourceIPs": ["10.0.0.1"], "userAgent": "kubectl/v1.34",
        "objectRef": obj,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": "2026-12-07T10:00:00.000000Z",
        "stageTimestamp": "2026-12-07T10:00:00.100000Z",
        "annotations": {"authorization.k8s.io/decision": if code == 403 { "forbid" } else { "allow" }}
    })
}

fn alerts_of(lines: &[Value], rules: &Rules) -> Vec<crate::Alert> {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = read_reader(text.as_bytes(), "audit.log", rules, None).unwrap();
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    out.alerts
}

fn ids(lines: &[Value]) -> Vec<String> {
    alerts_of(lines, &rules())
        .into_iter()
        .map(|a| a.rule_id)
        .collect()
}

fn exec(user: &str, sub: &str, verb: &str, code: u16) -> Value {
    let mut e = ev(
        user,
        verb,
        json!({"resource": "pods", "namespace": "web", "name": "api-0", "apiVersion": "v1", "subresource": sub}),
        code,
    );
    e["requestURI"] = json!(format!(
        "/api/v1/namespaces/web/pods/api-0/{sub}?command=sh&command=-c&command=id%20-u&container=app&stdin=true"
    ));
    e
}

#[test]
fn exec_and_attach_fire_with_command_and_user() {
    let a = alerts_of(&[exec("alice", "exec", "create", 101)], &rules());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].rule_id, "pod-exec");
    assert_eq!(a[0].user, "alice");
    assert_eq!(a[0].resource, "pods/exec");
    assert_eq!(a[0].namespace.as_deref(), Some("web"));
    assert_eq!(a[0].name.as_deref(), Some("api-0"));
    assert_eq!(a[0].severity, Severity::High);
    assert!(a[0].message.contains("sh -c id -u"), "{}", a[0].message);
    assert!(a[0].message.contains("container app"), "{}", a[0].message);
    assert_eq!(a[0].line, 1);
    // WebSocket exec is a GET; attach too; authorised but failed at the kubelet still fires.
    assert_eq!(ids(&[exec("bob", "exec", "get", 101)]), ["pod-exec"]);
    assert_eq!(ids(&[exec("bob", "attach", "create", 400)]), ["pod-exec"]);
}

#[test]
fn exec_negative_cases() {
    // Denied, not exec/attach, the control plane itself, a RequestReceived stage.
    assert!(ids(&[exec("alice", "exec", "create", 403)]).is_empty());
    assert!(ids(&[exec("alice", "log", "get", 200)]).is_empty());
    assert!(ids(&[exec("system:apiserver", "exec", "create", 101)]).is_empty());
    let mut e = exec("alice", "exec", "create", 101);
    e["stage"] = json!("RequestReceived");
    assert!(ids(&[e]).is_empty());
}

fn pod_create(user: &str, spec: Value, code: u16) -> Value {
    let mut e = ev(
        user,
        "create",
        json!({"resource": "pods", "namespace": "web", "apiVersion": "v1"}),
        code,
    );
    e["requestObject"] =
        json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}, "spec": spec});
    e
}

#[test]
fn privileged_and_host_namespace_pods_fire() {
    let spec = json!({"hostPID": true, "hostNetwork": true,
        "containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": true}}],
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}]});
    let a = alerts_of(&[pod_create("alice", spec, 201)], &rules());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].rule_id, "privileged-pod");
    for want in [
        "hostPID",
        "hostNetwork",
        "privileged container c",
        "hostPath volume root (/)",
        "web/p",
    ] {
        assert!(a[0].message.contains(want), "{want}: {}", a[0].message);
    }
    let init = json!({"initContainers": [{"name": "i", "securityContext": {"privileged": true}}], "containers": [{"name": "c"}]});
    assert_eq!(ids(&[pod_create("alice", init, 201)]), ["privileged-pod"]);
}

#[test]
fn unprivileged_or_rejected_pods_do_not_fire() {
    let plain = json!({"containers": [{"name": "c", "securityContext": {"privileged": false, "runAsNonRoot": true}}], "hostNetwork": false});
    assert!(ids(&[pod_create("alice", plain, 201)]).is_empty());
    let bad = json!({"hostPID": true, "containers": [{"name": "c"}]});
    // Rejected by admission (or not authorised): nothing was created.
    assert!(ids(&[pod_create("alice", bad.clone(), 403)]).is_empty());
    assert!(ids(&[pod_create("alice", bad.clone(), 422)]).is_empty());
    // Metadata level: no request body, nothing to judge.
    let mut meta = pod_create("alice", bad, 201);
    meta.as_object_mut().unwrap().remove("requestObject");
    assert!(ids(&[meta]).is_empty());
}

fn secret(user: &str, verb: &str, name: Option<&str>, code: u16) -> Value {
    let mut obj = json!({"resource": "secrets", "namespace": "web", "apiVersion": "v1"});
    if let Some(n) = name {
        obj["name"] = json!(n);
    }
    ev(user, verb, obj, code)
}

#[test]
fn secret_reads_outside_the_allow_list_fire() {
    let a = alerts_of(&[secret("mallory", "get", Some("db"), 200)], &rules());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].rule_id, "secret-read");
    assert_eq!(a[0].user, "mallory");
    assert_eq!(a[0].severity, Severity::Medium);
    assert!(a[0].message.contains("secret web/db"), "{}", a[0].message);
    assert_eq!(
        ids(&[secret("mallory", "list", None, 200)]),
        ["secret-read"]
    );
    assert_eq!(
        ids(&[secret("mallory", "watch", None, 200)]),
        ["secret-read"]
    );
}

#[test]
fn secret_reads_negative_and_configurable() {
    assert!(ids(&[secret("mallory", "get", Some("db"), 403)]).is_empty());
    assert!(ids(&[secret("mallory", "create", Some("db"), 201)]).is_empty());
    assert!(ids(&[secret("system:kube-controller-manager", "list", None, 200)]).is_empty());
    assert!(
        ids(&[secret(
            "system:serviceaccount:kube-system:token-cleaner",
            "list",
            None,
            200
        )])
        .is_empty()
    );
    assert!(ids(&[secret("system:node:n1", "get", Some("db"), 200)]).is_empty());
    // A user-supplied allow-list (prefix patterns) replaces the default.
    let settings = RuntimeSettings {
        secret_readers: vec!["ci-*".into()],
        ..RuntimeSettings::default()
    };
    let r = Rules::new(&settings).unwrap();
    assert!(alerts_of(&[secret("ci-deployer", "get", Some("db"), 200)], &r).is_empty());
    assert_eq!(
        alerts_of(&[secret("system:node:n1", "get", Some("db"), 200)], &r).len(),
        1
    );
    // Impersonation: the impersonated user is judged, the impersonator recorded.
    let mut imp = secret("admin", "get", Some("db"), 200);
    imp["impersonatedUser"] = json!({"username": "mallory"});
    let a = alerts_of(&[imp], &rules());
    assert_eq!(a[0].user, "mallory");
    assert_eq!(a[0].impersonated_by.as_deref(), Some("admin"));
}

fn rbac(user: &str, resource: &str, body: Value, code: u16) -> Value {
    let mut e = ev(
        user,
        "create",
        json!({"resource": resource, "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"}),
        code,
    );
    e["requestObject"] = body;
    e
}

#[test]
fn rbac_escalation_fires() {
    let crb = json!({"metadata": {"name": "oops"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "User", "name": "eve"}]});
    let a = alerts_of(&[rbac("alice", "clusterrolebindings", crb, 201)], &rules());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].rule_id, "rbac-escalation");
    assert_eq!(a[0].severity, Severity::Critical);
    assert!(
        a[0].message.contains("User eve") && a[0].message.contains("ClusterRoleBinding oops"),
        "{}",
        a[0].message
    );
    let wild = json!({"metadata": {"name": "all"}, "rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}]});
    let a = alerts_of(&[rbac("alice", "clusterroles", wild, 201)], &rules());
    assert!(
        a[0].message.contains("all verbs (*)") && a[0].message.contains("all resources (*)"),
        "{}",
        a[0].message
    );
    for verb in ["escalate", "bind", "impersonate"] {
        let r = json!({"metadata": {"name": "r"}, "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": [verb]}]});
        let a = alerts_of(&[rbac("alice", "roles", r, 201)], &rules());
        assert!(a[0].message.contains(verb), "{}", a[0].message);
    }
}

#[test]
fn rbac_negative_cases() {
    let view = json!({"roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "User", "name": "eve"}]});
    assert!(ids(&[rbac("alice", "rolebindings", view, 201)]).is_empty());
    let narrow =
        json!({"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]});
    assert!(ids(&[rbac("alice", "roles", narrow, 201)]).is_empty());
    let admin = json!({"roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"kind": "Group", "name": "system:masters"}]});
    // The API server's bootstrap policy, and a refused request.
    assert!(
        ids(&[rbac(
            "system:apiserver",
            "clusterrolebindings",
            admin.clone(),
            201
        )])
        .is_empty()
    );
    assert!(ids(&[rbac("alice", "clusterrolebindings", admin, 403)]).is_empty());
}

fn anonymous(uri: &str, decision: &str) -> Value {
    json!({"kind": "Event", "auditID": format!("anon-{uri}"), "stage": "ResponseComplete", "requestURI": uri,
        "verb": "get", "user": {"username": "system:anonymous", "groups": ["system:unauthenticated"]},
        "responseStatus": {"code": 200}, "annotations": {"authorization.k8s.io/decision": decision}})
}

#[test]
fn anonymous_requests_allowed_fire_except_public_endpoints() {
    let a = alerts_of(
        &[anonymous("/api/v1/namespaces?limit=5", "allow")],
        &rules(),
    );
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].rule_id, "anonymous-allowed");
    assert_eq!(a[0].resource, "/api/v1/namespaces");
    assert!(ids(&[anonymous("/api/v1/namespaces", "forbid")]).is_empty());
    for public in [
        "/version",
        "/healthz",
        "/readyz/ping",
        "/.well-known/openid-configuration",
    ] {
        assert!(ids(&[anonymous(public, "allow")]).is_empty(), "{public}");
    }
}

#[test]
fn disabled_rules_and_unknown_ids() {
    let settings = RuntimeSettings {
        disable: vec!["pod-exec".into()],
        ..RuntimeSettings::default()
    };
    let r = Rules::new(&settings).unwrap();
    assert!(alerts_of(&[exec("alice", "exec", "create", 101)], &r).is_empty());
    let bad = RuntimeSettings {
        disable: vec!["no-such-rule".into()],
        ..RuntimeSettings::default()
    };
    let e = Rules::new(&bad).unwrap_err().to_string();
    assert!(e.contains("no-such-rule") && e.contains("pod-exec"), "{e}");
}

#[test]
fn malformed_lines_are_reported_with_line_numbers_and_the_rest_is_read() {
    let text = format!(
        "{}\nnot json at all\n\n{{\"kind\":\"Event\",\"verb\":17}}\n{}\n",
        exec("alice", "exec", "create", 101),
        secret("mallory", "get", Some("db"), 200)
    );
    let out = read_reader(text.as_bytes(), "audit.log", &rules(), None).unwrap();
    let lines: Vec<u64> = out.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 4], "{:?}", out.errors);
    assert!(
        out.errors[0]
            .to_string()
            .starts_with("audit.log:2: not an audit event"),
        "{}",
        out.errors[0]
    );
    let got: Vec<(String, u64)> = out
        .alerts
        .iter()
        .map(|a| (a.rule_id.clone(), a.line))
        .collect();
    assert_eq!(
        got,
        [("pod-exec".to_string(), 1), ("secret-read".to_string(), 5)]
    );
}

#[test]
fn oversized_lines_are_skipped_not_buffered() {
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_LINE + 10));
    let text = format!("{big}\n{}\n", exec("alice", "exec", "create", 101));
    let out = read_reader(text.as_bytes(), "a", &rules(), None).unwrap();
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].line, 1);
    assert!(
        out.errors[0].message.contains("longer than"),
        "{}",
        out.errors[0]
    );
    assert_eq!(out.alerts.len(), 1);
    assert_eq!(out.alerts[0].line, 2);
}

#[test]
fn truncated_last_line_is_a_note_and_a_complete_one_is_used() {
    let full = exec("alice", "exec", "create", 101).to_string();
    let text = format!("{full}\n{}", &full[..full.len() / 2]);
    let out = read_reader(text.as_bytes(), "a", &rules(), None).unwrap();
    assert!(out.errors.is_empty());
    assert_eq!(out.alerts.len(), 1);
    assert_eq!(out.notes.len(), 1);
    assert!(
        out.notes[0].contains("a:2: incomplete last line"),
        "{:?}",
        out.notes
    );
    // A last line without a newline that is complete JSON counts.
    let other = secret("mallory", "get", Some("db"), 200).to_string();
    let out = read_reader(format!("{full}\n{other}").as_bytes(), "a", &rules(), None).unwrap();
    assert_eq!(out.alerts.len(), 2);
    assert!(out.notes.is_empty());
}

#[test]
fn since_skips_older_events_and_stages_of_one_request_alert_once() {
    let mut started = exec("alice", "exec", "create", 101);
    started["stage"] = json!("ResponseStarted");
    let complete = exec("alice", "exec", "create", 101);
    let text = format!("{started}\n{complete}\n");
    let out = read_reader(text.as_bytes(), "a", &rules(), None).unwrap();
    assert_eq!(out.alerts.len(), 1, "{:?}", out.alerts);
    let since = "2026-12-07T10:00:01Z".parse().unwrap();
    let out = read_reader(text.as_bytes(), "a", &rules(), Some(since)).unwrap();
    assert!(out.alerts.is_empty());
    assert_eq!(out.events, 0);
}

#[test]
fn finding_carries_the_alert() {
    let a = &alerts_of(&[secret("mallory", "get", Some("db"), 200)], &rules())[0];
    let f = a.to_finding();
    assert_eq!(f.scanner, "runtime");
    assert_eq!(f.rule_id, "secret-read");
    assert_eq!(f.location.path.as_deref(), Some("audit.log"));
    assert_eq!(f.location.start_line, Some(1));
    assert_eq!(f.location.object.as_deref(), Some("web/secrets/db"));
    assert_eq!(f.properties["user"], "mallory");
    assert_eq!(f.properties["audit_id"], json!(a.audit_id));
}

#[test]
fn follower_reads_appends_partial_lines_rotation_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let r = rules();
    let mut f = Follower::new(&path, None, true);
    let mut alerts = Vec::new();
    let mut errors = Vec::new();
    let mut poll = |f: &mut Follower, alerts: &mut Vec<crate::Alert>| {
        f.poll(&r, &mut |a| alerts.push(a), &mut |e| errors.push(e))
            .unwrap()
    };
    // Not there yet: fine.
    assert_eq!(poll(&mut f, &mut alerts), 0);
    let one = exec("alice", "exec", "create", 101).to_string();
    let mut w = std::fs::File::create(&path).unwrap();
    // Half a line: nothing yet; the rest: one alert.
    w.write_all(&one.as_bytes()[..10]).unwrap();
    poll(&mut f, &mut alerts);
    assert!(alerts.is_empty());
    writeln!(w, "{}", &one[10..]).unwrap();
    poll(&mut f, &mut alerts);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].line, 1);
    // Rotation: rename and start a new file; the tail of the old one is still read.
    writeln!(w, "{}", secret("mallory", "get", Some("a"), 200)).unwrap();
    std::fs::rename(&path, dir.path().join("audit.log.1")).unwrap();
    let mut w2 = std::fs::File::create(&path).unwrap();
    writeln!(w2, "{}", secret("mallory", "get", Some("b"), 200)).unwrap();
    poll(&mut f, &mut alerts);
    let names: Vec<_> = alerts.iter().filter_map(|a| a.name.clone()).collect();
    assert_eq!(names, ["api-0", "a", "b"]);
    assert_eq!(alerts[2].line, 1, "line numbers restart in the new file");
    // Truncation in place: reading restarts at the beginning.
    drop(w2);
    std::fs::write(&path, format!("{}\n", secret("mallory", "list", None, 200))).unwrap();
    poll(&mut f, &mut alerts);
    assert_eq!(alerts.len(), 4, "{alerts:?}");
    assert_eq!(alerts[3].verb, "list");
    assert_eq!(alerts[3].line, 1);
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn follower_from_end_skips_existing_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    std::fs::write(&path, format!("{}\n", exec("alice", "exec", "create", 101))).unwrap();
    let r = rules();
    let mut f = Follower::new(&path, None, false);
    let mut n = 0;
    f.poll(&r, &mut |_| n += 1, &mut |_| {}).unwrap();
    assert_eq!(n, 0);
    let mut w = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    writeln!(w, "{}", secret("mallory", "get", Some("db"), 200)).unwrap();
    f.poll(&r, &mut |_| n += 1, &mut |_| {}).unwrap();
    assert_eq!(n, 1);
}
