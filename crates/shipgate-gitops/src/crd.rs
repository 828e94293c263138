//! The optional `Application` custom resource (`gitops.shipgate.dev/v1`): the same `spec` as
//! the file format, so teams can manage applications with `kubectl` and RBAC instead of a file
//! the agent reads.

use serde_json::Value;

use crate::app::Application;

/// The custom resource's API group.
pub const GROUP: &str = "gitops.shipgate.dev";
/// The custom resource's `apiVersion`.
pub const API_VERSION: &str = "gitops.shipgate.dev/v1";
/// The plural resource name.
pub const PLURAL: &str = "applications";

/// The CustomResourceDefinition (YAML). The schema checks the shape the API server can check
/// cheaply; the agent validates the rest (and reports an invalid resource by name).
pub fn definition() -> String {
    format!(
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {PLURAL}.{GROUP}
  labels:
    app.kubernetes.io/name: shipgate-gitops
spec:
  group: {GROUP}
  scope: Namespaced
  names:
    kind: Application
    listKind: ApplicationList
    plural: {PLURAL}
    singular: application
    shortNames: [sgapp]
  versions:
    - name: v1
      served: true
      storage: true
      additionalPrinterColumns:
        - {{name: Repo, type: string, jsonPath: .spec.source.repoURL}}
        - {{name: Revision, type: string, jsonPath: .spec.source.revision}}
        - {{name: Path, type: string, jsonPath: .spec.source.path}}
      schema:
        openAPIV3Schema:
          type: object
          required: [spec]
          properties:
            spec:
              type: object
              required: [source]
              x-kubernetes-preserve-unknown-fields: true
              properties:
                source:
                  type: object
                  required: [repoURL]
                  x-kubernetes-preserve-unknown-fields: true
                  properties:
                    repoURL: {{type: string, minLength: 1}}
                    revision: {{type: string}}
                    path: {{type: string}}
                destination:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                syncPolicy:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                dependsOn:
                  type: array
                  items: {{type: string}}
            status:
              type: object
              x-kubernetes-preserve-unknown-fields: true
      subresources:
        status: {{}}
"#
    )
}

/// An `Application` custom resource as the agent reads it; `Err` names what is wrong.
pub fn from_object(v: &Value) -> Result<Application, String> {
    let name = v
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let ns = v
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let trimmed = serde_json::json!({
        "apiVersion": v.get("apiVersion").cloned().unwrap_or(Value::Null),
        "kind": v.get("kind").cloned().unwrap_or(Value::Null),
        "metadata": {"name": name, "namespace": ns},
        "spec": v.get("spec").cloned().unwrap_or(Value::Null),
    });
    let mut app: Application =
        serde_json::from_value(trimmed).map_err(|e| format!("Application {ns}/{name}: {e}"))?;
    app.origin = format!("Application {ns}/{name}");
    app.validate()
        .map_err(|e| format!("Application {ns}/{name}: {e}"))?;
    confine(&mut app, ns).map_err(|e| format!("Application {ns}/{name}: {e}"))?;
    Ok(app)
}

/// Whoever may create an `Application` in a namespace gets no more than that namespace: no
/// files of the agent's (credential files, `file://` repositories) and no Secrets of other
/// namespaces. Application files, written by whoever installs the agent, are not confined.
fn confine(app: &mut Application, ns: &str) -> Result<(), String> {
    let src = &mut app.spec.source;
    if src
        .repo_url
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("file:")
    {
        return Err("spec.source.repoURL: file:// repositories are only allowed in application files, not in custom resources".into());
    }
    if let Some(c) = src.credentials.as_mut() {
        if c.file.is_some() {
            return Err(
                "spec.source.credentials.file is only allowed in application files; use secretRef"
                    .into(),
            );
        }
        if let Some(r) = c.secret_ref.as_mut() {
            match r.namespace.as_deref() {
                None => r.namespace = Some(ns.to_string()),
                Some(other) if other != ns => {
                    return Err(format!(
                        "spec.source.credentials.secretRef: a custom resource may only name Secrets in its own namespace {ns}, not {other}"
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_custom_resource() {
        let v = serde_json::json!({
            "apiVersion": API_VERSION, "kind": "Application",
            "metadata": {"name": "web", "namespace": "shipgate-system", "uid": "1", "resourceVersion": "5"},
            "spec": {"source": {"repoURL": "https://git.example.com/m.git", "path": "apps/web"},
                     "syncPolicy": {"automated": true, "interval": "30s"}},
            "status": {}
        });
        let app = from_object(&v).expect("valid");
        assert_eq!(app.name(), "web");
        assert!(app.spec.sync_policy.automated);
        let bad = serde_json::json!({"apiVersion": API_VERSION, "kind": "Application",
            "metadata": {"name": "x", "namespace": "n"}, "spec": {"source": {"repoURL": "https://h/r", "bogus": 1}}});
        assert!(
            from_object(&bad)
                .expect_err("unknown field")
                .contains("bogus")
        );
    }

    #[test]
    fn custom_resources_are_confined_to_their_namespace() {
        let app = |source: Value| {
            from_object(
                &serde_json::json!({"apiVersion": API_VERSION, "kind": "Application",
                "metadata": {"name": "x", "namespace": "team-a"}, "spec": {"source": source}}),
            )
        };
        let e = app(serde_json::json!({"repoURL": "file:///etc"})).expect_err("file url");
        assert!(e.contains("file://"), "{e}");
        let e = app(serde_json::json!({"repoURL": "https://h/r", "credentials": {"file": "/var/run/secrets/token"}}))
            .expect_err("credential file");
        assert!(e.contains("credentials.file"), "{e}");
        let e = app(serde_json::json!({"repoURL": "https://h/r", "credentials": {"secretRef": {"name": "s", "namespace": "kube-system"}}}))
            .expect_err("other namespace");
        assert!(e.contains("kube-system"), "{e}");
        let ok = app(serde_json::json!({"repoURL": "https://h/r", "credentials": {"secretRef": {"name": "s"}}}))
            .expect("own namespace");
        let r = ok.spec.source.credentials.unwrap().secret_ref.unwrap();
        assert_eq!(r.namespace.as_deref(), Some("team-a"));
    }

    #[test]
    fn definition_is_yaml() {
        let d = definition();
        let v: Value = serde_saphyr::from_str(&d).expect("valid YAML");
        assert_eq!(v["spec"]["group"], GROUP);
    }
}
