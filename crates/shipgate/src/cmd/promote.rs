//! `shipgate promote`: pin an image digest in a manifests repository and push.

use anyhow::Context;
use shipgate_gitops::git::Credential;
use shipgate_gitops::promote::{PromoteOutcome, PromoteRequest, promote};
use shipgate_gitops::yamledit::{EditOptions, FileKind, PinnedImage};

use crate::cli::{GitopsFormat, PromoteArgs, PromoteKind};

/// Run `promote`; 0 pushed or up to date, 2 any error (returned as `Err`).
pub fn run(a: PromoteArgs) -> anyhow::Result<i32> {
    let image = PinnedImage::parse(&a.image)?;
    let credential = match &a.credentials {
        Some(p) => Some(Credential::from_file(p)?),
        None => None,
    };
    let mut req = PromoteRequest::new(a.repo, a.path, image);
    req.branch = a.branch;
    req.review_branch = a.review_branch;
    req.source_commit = a.source_commit;
    req.run_id = a.run_id;
    req.author = a.author;
    req.credential = credential;
    req.max_attempts = a.max_attempts;
    if let Some(key) = a.sign_key {
        // git runs in another directory: make the key path absolute first.
        let key =
            std::path::absolute(&key).with_context(|| format!("--sign-key {}", key.display()))?;
        anyhow::ensure!(key.is_file(), "--sign-key {}: no such file", key.display());
        req.sign_key = Some(key);
    }
    req.edit = EditOptions {
        kind: a.kind.map(|k| match k {
            PromoteKind::Manifest => FileKind::Manifest,
            PromoteKind::Kustomization => FileKind::Kustomization,
            PromoteKind::Helm => FileKind::HelmValues,
        }),
        keep_tag: a.keep_tag,
        helm_key: a.helm_key,
    };
    let out = promote(&req)?;
    match a.format {
        GitopsFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&json(&req, &out))?);
        }
        GitopsFormat::Table => print_table(&req, &out),
    }
    Ok(0)
}

fn json(req: &PromoteRequest, o: &PromoteOutcome) -> serde_json::Value {
    serde_json::json!({
        "repo": o.repo,
        "branch": o.branch,
        "reviewBranch": req.review_branch.is_some(),
        "image": req.image.reference(),
        "kind": o.kind.as_str(),
        "upToDate": o.up_to_date,
        "commit": o.commit,
        "attempts": o.attempts,
        "files": o.files,
        "changes": o.changes.iter().map(|c| serde_json::json!({
            "file": req.path,
            "line": c.line,
            "old": c.old,
            "new": c.new,
        })).collect::<Vec<_>>(),
    })
}

fn print_table(req: &PromoteRequest, o: &PromoteOutcome) {
    if o.up_to_date {
        println!(
            "{} is already up to date: {} on {} of {} (nothing committed)",
            req.path,
            req.image.reference(),
            o.branch,
            o.repo
        );
        return;
    }
    println!("repo      {}", o.repo);
    let branch = if req.review_branch.is_some() {
        format!(
            "{} (review branch from {}; open the pull request on your forge)",
            o.branch, req.branch
        )
    } else {
        o.branch.clone()
    };
    println!("branch    {branch}");
    println!("commit    {}", o.commit.as_deref().unwrap_or_default());
    println!("kind      {}", o.kind.as_str());
    println!("attempts  {}", o.attempts);
    println!("files     {}", o.files.join(", "));
    for c in &o.changes {
        println!("  {}:{}  {} -> {}", req.path, c.line, c.old, c.new);
    }
}
