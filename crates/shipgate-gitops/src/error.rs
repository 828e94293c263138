//! The one error type of this crate.

/// Everything that can go wrong in the GitOps engine. Every variant names what it is about
/// (application, file, object) so that a record or a command's stderr says where to look.
#[derive(Debug, thiserror::Error)]
pub enum GitopsError {
    /// An application file is invalid (parse error, unknown field, bad value).
    #[error("{path}:{line}:{column}: {message}")]
    AppFile {
        /// The application file.
        path: String,
        /// 1-based line (0 when unknown).
        line: u32,
        /// 1-based column (0 when unknown).
        column: u32,
        /// What is wrong.
        message: String,
    },
    /// The applications do not form a DAG, or name applications that do not exist.
    #[error("applications: {0}")]
    Graph(String),
    /// No application of that name.
    #[error("no application named {0:?} (see `shipgate gitops status`)")]
    UnknownApp(String),
    /// A git operation failed (unreachable repository, bad credentials, missing revision).
    #[error("application {app}: git: {message}")]
    Git {
        /// The application.
        app: String,
        /// What failed, with git's own message (credentials redacted).
        message: String,
    },
    /// The revision's commit is not signed by an allowed key.
    #[error("application {app}: commit {commit} refused: {message}")]
    Signature {
        /// The application.
        app: String,
        /// The commit SHA.
        commit: String,
        /// Why it was refused.
        message: String,
    },
    /// Rendering (plain YAML, Kustomize, Helm) failed.
    #[error("application {app}: render {path}: {message}")]
    Render {
        /// The application.
        app: String,
        /// The file or directory that failed (repository-relative).
        path: String,
        /// The renderer's message.
        message: String,
    },
    /// A Kubernetes API call failed.
    #[error("{what}: {source}")]
    Kube {
        /// What was being done (names application and object).
        what: String,
        /// The kube error.
        #[source]
        source: kube::Error,
    },
    /// A cluster-connection helper failed.
    #[error(transparent)]
    Client(#[from] shipgate_kube::KubeError),
    /// Stored state (history, inventory) is unreadable.
    #[error("state {what}: {message}")]
    State {
        /// Which state object.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A local file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Anything else, with a message that says what to do.
    #[error("{0}")]
    Other(String),
    // --- render / process ---
    /// A manifest (a plain file in the repository, or a renderer's output) is invalid YAML or
    /// not a usable Kubernetes object.
    #[error("application {app}: {path}:{line}:{column}: {message}")]
    Manifest {
        /// The application.
        app: String,
        /// The file (repository-relative; rendered output says so, e.g.
        /// `deploy/overlay (kustomize build)` or `chart/templates/x.yaml (helm template)`).
        path: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What is wrong.
        message: String,
    },
    // --- promote ---
    /// A file to edit is invalid YAML, or a match cannot be edited in place.
    #[error("{path}:{line}:{column}: {message}")]
    Edit {
        /// The file (repository-relative).
        path: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What is wrong.
        message: String,
    },
    /// Nothing in the file names the image being promoted.
    #[error("{path}: {message}")]
    NoMatch {
        /// The file (repository-relative).
        path: String,
        /// What was looked for.
        message: String,
    },
    /// A promotion's git step failed (clone, commit, push refused, retries exhausted).
    #[error("promote: {0}")]
    Promote(String),
}

impl GitopsError {
    /// An [`GitopsError::Io`] with context.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> GitopsError {
        let what = what.into();
        move |source| GitopsError::Io { what, source }
    }

    /// A [`GitopsError::Kube`] with context.
    pub fn kube(what: impl Into<String>) -> impl FnOnce(kube::Error) -> GitopsError {
        let what = what.into();
        move |source| GitopsError::Kube { what, source }
    }
}
