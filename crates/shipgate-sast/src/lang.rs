//! The languages shipgate's SAST engine parses, their tree-sitter grammars, and how a file or
//! a rule's `languages:` entry maps onto them.
//!
//! Two kinds of language live here:
//! - tree languages, parsed by tree-sitter and matched structurally by ast-grep-core;
//! - command languages (shell scripts and Dockerfiles), split into commands and matched token
//!   by token (see `shell.rs`): their patterns are command lines such as `curl ... | sh`.

use std::borrow::Cow;
use std::path::Path;

use ast_grep_core::matcher::PatternBuilder;
use ast_grep_core::tree_sitter::{LanguageExt, StrDoc, TSLanguage};
use ast_grep_core::{Language, Pattern, PatternError};

/// A language a rule can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    /// Python 3.
    Python,
    /// JavaScript, including JSX.
    JavaScript,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`).
    Tsx,
    /// Go.
    Go,
    /// Java.
    Java,
    /// Ruby.
    Ruby,
    /// PHP (with or without surrounding HTML).
    Php,
    /// Rust.
    Rust,
    /// C#.
    CSharp,
    /// YAML (GitHub Actions workflows, GitLab CI and other CI files).
    Yaml,
    /// Bourne shell and bash scripts (command language).
    Bash,
    /// Dockerfiles and Containerfiles (command language).
    Dockerfile,
}

impl Lang {
    /// Every language, in a stable order.
    pub const ALL: [Lang; 13] = [
        Lang::Python,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Tsx,
        Lang::Go,
        Lang::Java,
        Lang::Ruby,
        Lang::Php,
        Lang::Rust,
        Lang::CSharp,
        Lang::Yaml,
        Lang::Bash,
        Lang::Dockerfile,
    ];

    /// The languages a rule's `languages:` entry names (Semgrep's names and aliases).
    /// `typescript` covers `.ts` and `.tsx`; `None` for a language shipgate does not parse.
    pub fn from_rule_name(name: &str) -> Option<&'static [Lang]> {
        Some(match name.to_ascii_lowercase().as_str() {
            "python" | "python3" | "py" => &[Lang::Python],
            "javascript" | "js" | "jsx" => &[Lang::JavaScript],
            "typescript" | "ts" | "tsx" => &[Lang::TypeScript, Lang::Tsx],
            "go" | "golang" => &[Lang::Go],
            "java" => &[Lang::Java],
            "ruby" | "rb" => &[Lang::Ruby],
            "php" => &[Lang::Php],
            "rust" | "rs" => &[Lang::Rust],
            "csharp" | "c#" | "cs" => &[Lang::CSharp],
            "yaml" | "yml" => &[Lang::Yaml],
            "bash" | "sh" | "shell" => &[Lang::Bash],
            "dockerfile" | "docker" | "containerfile" => &[Lang::Dockerfile],
            _ => return None,
        })
    }

    /// The language of a file, from its name (and, for extension-less scripts, nothing else:
    /// the caller may look at a shebang with [`Lang::from_shebang`]).
    pub fn from_path(path: &Path) -> Option<Lang> {
        let name = path.file_name()?.to_str()?;
        let lower = name.to_ascii_lowercase();
        if lower == "dockerfile"
            || lower == "containerfile"
            || lower.starts_with("dockerfile.")
            || lower.ends_with(".dockerfile")
            || lower.ends_with(".containerfile")
        {
            return Some(Lang::Dockerfile);
        }
        let ext = lower.rsplit_once('.')?.1;
        Some(match ext {
            "py" | "pyw" | "pyi" => Lang::Python,
            "js" | "jsx" | "mjs" | "cjs" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            "java" => Lang::Java,
            "rb" | "rake" | "gemspec" => Lang::Ruby,
            "php" | "phtml" | "php5" | "php7" | "php8" => Lang::Php,
            "rs" => Lang::Rust,
            "cs" => Lang::CSharp,
            "yaml" | "yml" => Lang::Yaml,
            "sh" | "bash" | "ksh" | "zsh" => Lang::Bash,
            _ => return None,
        })
    }

    /// A shell script without an extension, recognised by its `#!` line.
    pub fn from_shebang(first_line: &[u8]) -> Option<Lang> {
        let line = std::str::from_utf8(first_line).ok()?;
        let rest = line.strip_prefix("#!")?.trim();
        let mut words = rest.split_whitespace();
        let mut prog = words.next()?.rsplit('/').next()?;
        if prog == "env" {
            prog = words.find(|w| !w.starts_with('-'))?;
        }
        match prog {
            "sh" | "bash" | "dash" | "ksh" | "zsh" | "ash" => Some(Lang::Bash),
            "python" | "python3" => Some(Lang::Python),
            "node" => Some(Lang::JavaScript),
            "ruby" => Some(Lang::Ruby),
            _ => None,
        }
    }

    /// The name used in reports and docs.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::Ruby => "ruby",
            Lang::Php => "php",
            Lang::Rust => "rust",
            Lang::CSharp => "csharp",
            Lang::Yaml => "yaml",
            Lang::Bash => "bash",
            Lang::Dockerfile => "dockerfile",
        }
    }

    /// Whether files are split into commands and matched token by token rather than parsed.
    pub fn is_command_language(self) -> bool {
        matches!(self, Lang::Bash | Lang::Dockerfile)
    }

    /// The tree-sitter grammar of a tree language.
    fn grammar(self) -> TSLanguage {
        match self {
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            Lang::Ruby => tree_sitter_ruby::LANGUAGE.into(),
            Lang::Php => tree_sitter_php::LANGUAGE_PHP.into(),
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::CSharp => tree_sitter_c_sharp::LANGUAGE.into(),
            Lang::Yaml => tree_sitter_yaml::LANGUAGE.into(),
            // Command languages are never parsed by tree-sitter (see `shell.rs`); a grammar
            // stands in so that the ast-grep traits are total.
            Lang::Bash | Lang::Dockerfile => tree_sitter_yaml::LANGUAGE.into(),
        }
    }

    /// The character that stands for `$` in metavariables while a pattern is parsed, for
    /// grammars in which `$NAME` is not an identifier.
    fn expando(self) -> char {
        match self {
            Lang::Python | Lang::Go | Lang::Ruby | Lang::Php | Lang::Rust | Lang::CSharp => 'µ',
            _ => '$',
        }
    }

    /// Node kinds that are string literals: a literal string in a pattern matches any of
    /// these with the same contents, whatever the quotes, and `"..."` matches any of them.
    pub(crate) fn string_kinds(self) -> &'static [&'static str] {
        match self {
            Lang::Python => &["string", "concatenated_string"],
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => &["string", "template_string"],
            Lang::Go => &["interpreted_string_literal", "raw_string_literal"],
            Lang::Java => &["string_literal", "text_block"],
            Lang::Ruby => &["string", "simple_symbol"],
            Lang::Php => &["string", "encapsed_string", "heredoc", "nowdoc"],
            Lang::Rust => &["string_literal", "raw_string_literal"],
            Lang::CSharp => &[
                "string_literal",
                "verbatim_string_literal",
                "raw_string_literal",
                "interpolated_string_expression",
            ],
            Lang::Yaml => &["double_quote_scalar", "single_quote_scalar"],
            Lang::Bash | Lang::Dockerfile => &[],
        }
    }

    /// Wrappers tried, in order, to parse a pattern that is not a whole program on its own
    /// (a Go or Java expression, a PHP statement without `<?php`). The pattern's node is the
    /// outermost one spanning exactly the pattern text.
    pub(crate) fn pattern_contexts(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::Go => &[
                ("package p\nfunc _() {\n", "\n}\n"),
                ("package p\nvar _ = ", "\n"),
                ("", ""),
            ],
            Lang::Java => &[
                ("class _C {\nvoid _m() {\n", ";\n}\n}\n"),
                ("class _C {\nvoid _m() {\n", "\n}\n}\n"),
                ("class _C {\nObject _f = ", ";\n}\n"),
                ("", ""),
            ],
            Lang::Php => &[("<?php\n", ";\n"), ("<?php\n", "\n")],
            Lang::Rust => &[
                ("fn _f() {\n", ";\n}\n"),
                ("fn _f() {\n", "\n}\n"),
                ("", ""),
            ],
            Lang::CSharp => &[
                ("", ";\n"),
                ("", ""),
                ("class _C {\nobject _f = ", ";\n}\n"),
                ("class _C {\n", "\n}\n"),
            ],
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => &[("", ""), ("(", ")")],
            _ => &[("", "")],
        }
    }
}

impl Language for Lang {
    fn pre_process_pattern<'q>(&self, query: &'q str) -> Cow<'q, str> {
        let expando = self.expando();
        if expando == '$' {
            return Cow::Borrowed(query);
        }
        Cow::Owned(expand_metavars(query, expando))
    }

    fn expando_char(&self) -> char {
        self.expando()
    }

    fn from_path<P: AsRef<Path>>(path: P) -> Option<Self> {
        Lang::from_path(path.as_ref())
    }

    fn kind_to_id(&self, kind: &str) -> u16 {
        self.grammar().id_for_node_kind(kind, true)
    }

    fn field_to_id(&self, field: &str) -> Option<u16> {
        self.grammar().field_id_for_name(field).map(|f| f.get())
    }

    fn build_pattern(&self, builder: &PatternBuilder) -> Result<Pattern, PatternError> {
        builder.build(|src| StrDoc::try_new(src, *self))
    }
}

impl LanguageExt for Lang {
    fn get_ts_language(&self) -> TSLanguage {
        self.grammar()
    }
}

/// Replace the `$` of every metavariable (`$X`, `$_`, `$$$`, `$$$ARGS`) by `expando`.
pub(crate) fn expand_metavars(src: &str, expando: char) -> String {
    let mut out = String::with_capacity(src.len() + 8);
    let bytes = src.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let mut j = i;
            while j < bytes.len() && bytes[j] == b'$' && j - i < 3 {
                j += 1;
            }
            let dollars = j - i;
            let next = bytes.get(j).copied();
            let starts_name = next.is_some_and(|c| c.is_ascii_uppercase() || c == b'_');
            if dollars == 3 || dollars == 1 && starts_name {
                for _ in 0..dollars {
                    out.push(expando);
                }
                i = j;
                continue;
            }
        }
        let ch = src[i..].chars().next().unwrap_or('\0');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_languages() {
        assert_eq!(Lang::from_path(Path::new("a/b.py")), Some(Lang::Python));
        assert_eq!(
            Lang::from_path(Path::new("Dockerfile")),
            Some(Lang::Dockerfile)
        );
        assert_eq!(
            Lang::from_path(Path::new("x/api.Dockerfile")),
            Some(Lang::Dockerfile)
        );
        assert_eq!(Lang::from_path(Path::new("ci.yml")), Some(Lang::Yaml));
        assert_eq!(Lang::from_path(Path::new("x.tsx")), Some(Lang::Tsx));
        assert_eq!(Lang::from_path(Path::new("README")), None);
        assert_eq!(Lang::from_shebang(b"#!/usr/bin/env bash"), Some(Lang::Bash));
        assert_eq!(Lang::from_shebang(b"#!/bin/sh -e"), Some(Lang::Bash));
        assert_eq!(Lang::from_shebang(b"echo"), None);
    }

    #[test]
    fn metavariables_are_expanded_but_not_shell_variables() {
        assert_eq!(expand_metavars("$X.f($$$, $_)", 'µ'), "µX.f(µµµ, µ_)");
        assert_eq!(expand_metavars("$$$ARGS", 'µ'), "µµµARGS");
        assert_eq!(expand_metavars("$x + $$", 'µ'), "$x + $$");
    }
}
