//! Finding the pod spec inside workload objects, and walking its containers.

use crate::object::K8sObject;
use crate::yaml::Seg;
use serde_json::Value;

/// Where the pod spec lives for each workload kind (core and `apps`/`batch` groups).
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["spec"],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        "PodTemplate" => &["template", "spec"],
        _ => return None,
    })
}

/// Where the pod template's metadata lives (annotations such as AppArmor's are read there).
fn pod_meta_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["metadata"],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => &["spec", "template", "metadata"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "metadata"],
        "PodTemplate" => &["template", "metadata"],
        _ => return None,
    })
}

/// A pod spec found in an object.
#[derive(Debug, Clone, Copy)]
pub struct PodSpec<'a> {
    /// The spec value.
    pub spec: &'a Value,
    /// The path of the spec within the object.
    pub path: &'static [&'static str],
    /// The pod template's metadata (may be absent).
    pub meta: Option<&'a Value>,
    /// Path of that metadata.
    pub meta_path: &'static [&'static str],
}

/// Which container list a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerList {
    /// `containers`.
    Containers,
    /// `initContainers`.
    InitContainers,
    /// `ephemeralContainers`.
    EphemeralContainers,
}

impl ContainerList {
    /// The field name.
    pub fn field(self) -> &'static str {
        match self {
            ContainerList::Containers => "containers",
            ContainerList::InitContainers => "initContainers",
            ContainerList::EphemeralContainers => "ephemeralContainers",
        }
    }

    /// Human label used in messages.
    pub fn label(self) -> &'static str {
        match self {
            ContainerList::Containers => "container",
            ContainerList::InitContainers => "init container",
            ContainerList::EphemeralContainers => "ephemeral container",
        }
    }
}

/// One container of a pod spec.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    /// The container value.
    pub value: &'a Value,
    /// Which list it is in.
    pub list: ContainerList,
    /// Index in that list.
    pub index: usize,
    /// `name` (empty if absent).
    pub name: &'a str,
}

impl<'a> Container<'a> {
    /// A field of the container.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.value.get(key)
    }

    /// A field under `securityContext`.
    pub fn security(&self, key: &str) -> Option<&'a Value> {
        self.value.get("securityContext")?.get(key)
    }

    /// `image` (empty if absent).
    pub fn image(&self) -> &'a str {
        self.value
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `"container \"web\""` for messages.
    pub fn describe(&self) -> String {
        format!("{} \"{}\"", self.list.label(), self.name)
    }
}

impl<'a> PodSpec<'a> {
    /// Find the pod spec of a workload object.
    pub fn of(obj: &'a K8sObject) -> Option<PodSpec<'a>> {
        let path = pod_spec_path(obj.kind())?;
        let meta_path = pod_meta_path(obj.kind())?;
        let mut v = &obj.value;
        for k in path {
            v = v.get(k)?;
        }
        let mut m = Some(&obj.value);
        for k in meta_path {
            m = m.and_then(|m| m.get(k));
        }
        v.is_object().then_some(PodSpec {
            spec: v,
            path,
            meta: m,
            meta_path,
        })
    }

    /// A pod-level field.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.spec.get(key)
    }

    /// A field under the pod's `securityContext`.
    pub fn security(&self, key: &str) -> Option<&'a Value> {
        self.spec.get("securityContext")?.get(key)
    }

    /// A pod template annotation.
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.meta?.get("annotations")?.get(key)?.as_str()
    }

    /// Path (within the object) of a pod-level field path.
    pub fn field(&self, rest: &[&str]) -> Vec<Seg> {
        self.path
            .iter()
            .chain(rest)
            .map(|k| Seg::Key((*k).to_string()))
            .collect()
    }

    /// Path of a pod template annotation.
    pub fn annotation_path(&self, key: &str) -> Vec<Seg> {
        self.meta_path
            .iter()
            .chain(&["annotations", key])
            .map(|k| Seg::Key((*k).to_string()))
            .collect()
    }

    /// All containers: `containers`, `initContainers`, `ephemeralContainers`.
    pub fn containers(&self) -> impl Iterator<Item = Container<'a>> + 'a {
        self.containers_in(&[
            ContainerList::Containers,
            ContainerList::InitContainers,
            ContainerList::EphemeralContainers,
        ])
    }

    /// Containers of the given lists.
    pub fn containers_in(
        &self,
        lists: &'static [ContainerList],
    ) -> impl Iterator<Item = Container<'a>> + 'a {
        let spec = self.spec;
        lists.iter().flat_map(move |list| {
            spec.get(list.field())
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .map(move |(index, value)| Container {
                    value,
                    list: *list,
                    index,
                    name: value.get("name").and_then(Value::as_str).unwrap_or(""),
                })
        })
    }

    /// Path (within the object) of a field of a container.
    pub fn container_field(&self, c: &Container<'_>, rest: &[&str]) -> Vec<Seg> {
        let mut p: Vec<Seg> = self
            .path
            .iter()
            .map(|k| Seg::Key((*k).to_string()))
            .collect();
        p.push(Seg::Key(c.list.field().to_string()));
        p.push(Seg::Index(c.index));
        p.extend(rest.iter().map(|k| Seg::Key((*k).to_string())));
        p
    }
}
