//! Source rewrites that make Rego v0 as OPA reads it acceptable to regorus, used only when the
//! plain source fails. Each rewrite preserves OPA's meaning:
//!
//! * chained rule bodies `head { a } { b }` become `head { a }` `head { b }` (OPA: one rule per
//!   body; regorus rejects the chained form for partial set rules);
//! * a body line starting with `(` after a complete expression gets a `;` on the previous line
//!   (OPA never continues a call across a newline; regorus reads `x\n(y)` as a call `x(y)`);
//! * `sprintf` with fewer arguments than verbs gets the text Go's `fmt` prints for a missing
//!   argument (`%!v(MISSING)`) as extra arguments (OPA formats with Go, regorus fails instead);
//! * `not f(a.b)` hoists reference arguments out of the negation (`h := a.b` then `not f(h)`),
//!   which is how OPA evaluates them: an undefined argument makes the body fail rather than the
//!   negation succeed.

/// Rewrite a v0 module. Returns the new source.
pub fn normalize_v0(src: &str) -> String {
    let split = split_chained_bodies(src);
    let mut out = String::with_capacity(split.len() + 64);
    let mut counter = 0usize;
    let mut prev_significant: Option<char> = None;
    for line in split.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with('(')
            && prev_significant
                .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | ']' | ')' | '"'))
        {
            // Terminate the previous expression.
            let end = out.trim_end_matches([' ', '\t', '\n', '\r']).len();
            let tail = out[end..].to_string();
            out.truncate(end);
            out.push(';');
            out.push_str(&tail);
        }
        let padded = pad_sprintf_args(line);
        let line = padded.as_deref().unwrap_or(line);
        if let Some(rewritten) = hoist_not_args(line, &mut counter) {
            out.push_str(&rewritten);
        } else {
            out.push_str(line);
        }
        let code = strip_comment(line).trim_end();
        if let Some(c) = code.chars().last() {
            prev_significant = Some(c);
        }
    }
    out
}

/// Verbs of a Go format string, in order (`%%` excluded).
fn format_verbs(fmt: &str) -> Vec<char> {
    let mut verbs = Vec::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        for n in chars.by_ref() {
            if n == '%' {
                break;
            }
            if n.is_ascii_alphabetic() {
                verbs.push(n);
                break;
            }
        }
    }
    verbs
}

/// `sprintf("..%v..%v", [a])` → `sprintf("..%v..%v", [a, "%!v(MISSING)"])`.
fn pad_sprintf_args(line: &str) -> Option<String> {
    let start = line.find("sprintf(\"")?;
    let fmt_start = start + "sprintf(\"".len();
    let rest = &line[fmt_start..];
    let mut end = None;
    let mut prev = '\0';
    for (i, c) in rest.char_indices() {
        if c == '"' && prev != '\\' {
            end = Some(i);
            break;
        }
        prev = c;
    }
    let end = end?;
    let fmt = &rest[..end];
    let after = &rest[end + 1..];
    let open = after.find('[')?;
    if !after[..open]
        .trim()
        .trim_start_matches(',')
        .trim()
        .is_empty()
    {
        return None;
    }
    // Find the matching `]`.
    let mut depth = 0i32;
    let mut in_str = false;
    let mut prev = '\0';
    let mut close = None;
    for (i, c) in after[open..].char_indices() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '[' | '(' | '{' if !in_str => depth += 1,
            ']' | ')' | '}' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            _ => {}
        }
        prev = c;
    }
    let close = close?;
    let inner = &after[open + 1..close];
    let args = if inner.trim().is_empty() {
        Vec::new()
    } else {
        split_top_level(inner)?
    };
    let verbs = format_verbs(fmt);
    if verbs.len() <= args.len() {
        return None;
    }
    let mut padded: Vec<String> = args.iter().map(|a| a.trim().to_string()).collect();
    for v in &verbs[args.len()..] {
        padded.push(format!("\"%!{v}(MISSING)\""));
    }
    let abs_open = fmt_start + end + 1 + open;
    let abs_close = fmt_start + end + 1 + close;
    Some(format!(
        "{}[{}]{}",
        &line[..abs_open],
        padded.join(", "),
        &line[abs_close + 1..]
    ))
}

fn strip_comment(line: &str) -> &str {
    let mut in_str = false;
    let mut prev = '\0';
    for (i, c) in line.char_indices() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '#' if !in_str => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

/// `not name(args)` with reference arguments → hoisted assignments + `not name(vars)`.
fn hoist_not_args(line: &str, counter: &mut usize) -> Option<String> {
    let indent_len = line.len() - line.trim_start().len();
    let indent = &line[..indent_len];
    let code = strip_comment(line).trim();
    let rest = code.strip_prefix("not ")?.trim_start();
    let open = rest.find('(')?;
    let name = &rest[..open];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        return None;
    }
    if !rest.ends_with(')') {
        return None;
    }
    let args_src = &rest[open + 1..rest.len() - 1];
    let args = split_top_level(args_src)?;
    let mut pre = String::new();
    let mut new_args = Vec::new();
    let mut changed = false;
    for a in args {
        let a = a.trim();
        let is_ref = (a.contains('.') || a.contains('['))
            && !a.starts_with('"')
            && !a.starts_with('`')
            && a.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
            && !a.contains('(');
        if is_ref {
            *counter += 1;
            let var = format!("shipgate_hoisted_{}", *counter);
            pre.push_str(&format!("{indent}{var} := {a}\n"));
            new_args.push(var);
            changed = true;
        } else {
            new_args.push(a.to_string());
        }
    }
    if !changed {
        return None;
    }
    let nl = if line.ends_with('\n') { "\n" } else { "" };
    Some(format!(
        "{pre}{indent}not {name}({}){nl}",
        new_args.join(", ")
    ))
}

fn split_top_level(s: &str) -> Option<Vec<&str>> {
    let mut depth = 0i32;
    let mut in_str = false;
    let mut prev = '\0';
    let mut start = 0;
    let mut out = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '(' | '[' | '{' if !in_str => depth += 1,
            ')' | ']' | '}' if !in_str => depth -= 1,
            ',' if !in_str && depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return None;
        }
        prev = c;
    }
    if in_str || depth != 0 {
        return None;
    }
    out.push(&s[start..]);
    Some(out)
}

/// `head { a } { b }` → `head { a }\nhead { b }`.
fn split_chained_bodies(src: &str) -> String {
    let bytes: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut depth = 0i32;
    let mut in_str = false;
    let mut in_raw = false;
    let mut in_comment = false;
    let mut at_line_start = true;
    let mut stmt_start: Option<usize> = None; // index into `out`
    let mut head: Option<String> = None;
    let mut just_closed_body = false;
    let mut prev = '\0';
    for &c in &bytes {
        if in_comment {
            out.push(c);
            if c == '\n' {
                in_comment = false;
                at_line_start = true;
            }
            continue;
        }
        if in_str {
            out.push(c);
            if c == '"' && prev != '\\' {
                in_str = false;
            }
            prev = if prev == '\\' && c == '\\' { '\0' } else { c };
            continue;
        }
        if in_raw {
            out.push(c);
            if c == '`' {
                in_raw = false;
            }
            continue;
        }
        match c {
            '#' => {
                in_comment = true;
                out.push(c);
                continue;
            }
            '\n' => {
                at_line_start = true;
                out.push(c);
                continue;
            }
            ' ' | '\t' | '\r' => {
                out.push(c);
                continue;
            }
            _ => {}
        }
        if depth == 0 && at_line_start && c != '{' && c != '}' {
            // A new top-level statement (or `else`, which continues the previous one).
            let starts_else = bytes_starts_with(&out, &bytes, c, "else");
            if !starts_else {
                stmt_start = Some(out.len());
                head = None;
            }
            just_closed_body = false;
        }
        at_line_start = false;
        match c {
            '"' => in_str = true,
            '`' => in_raw = true,
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '{' => {
                if depth == 0 {
                    if just_closed_body {
                        if let Some(h) = &head {
                            out.push('\n');
                            out.push_str(h);
                            out.push(' ');
                        }
                    } else if let Some(s) = stmt_start {
                        head = Some(out[s..].trim_end().to_string());
                    }
                }
                just_closed_body = false;
                depth += 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    just_closed_body = true;
                    out.push(c);
                    prev = c;
                    continue;
                }
            }
            _ => {
                if depth == 0 {
                    just_closed_body = false;
                }
            }
        }
        out.push(c);
        prev = c;
    }
    out
}

/// Helper: is the text starting at the current char `word`? (Only used for `else`.)
fn bytes_starts_with(_out: &str, _all: &[char], first: char, word: &str) -> bool {
    // The caller only knows the first char; `else` is the only keyword that continues a
    // statement on a new line, and every other top-level statement starts differently.
    word.starts_with(first) && first == 'e'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chained_bodies_are_split() {
        let src = "package x\n\nviolation[{\"msg\": msg}] {\n  a\n  msg := \"1\"\n} {\n  b\n  msg := \"2\"\n}\n";
        let out = normalize_v0(src);
        assert!(out.contains("\nviolation[{\"msg\": msg}] {\n  b"), "{out}");
    }

    #[test]
    fn newline_paren_is_not_a_call() {
        let src = "package x\nr {\n  input.a\n  (input.b - 1) >= 2\n}\n";
        let out = normalize_v0(src);
        assert!(out.contains("input.a;\n  (input.b"), "{out}");
    }

    #[test]
    fn sprintf_missing_arguments_are_padded() {
        let src = "package x\nr := m {\n  m := sprintf(\"%v <%v> %d%%\", [a, b])\n}\n";
        let out = normalize_v0(src);
        assert!(
            out.contains("sprintf(\"%v <%v> %d%%\", [a, b, \"%!d(MISSING)\"])"),
            "{out}"
        );
    }

    #[test]
    fn not_call_arguments_are_hoisted() {
        let src = "package x\nr {\n  not f(rule, v, params.ranges) # c\n}\n";
        let out = normalize_v0(src);
        assert!(
            out.contains(
                "shipgate_hoisted_1 := params.ranges\n  not f(rule, v, shipgate_hoisted_1)\n"
            ),
            "{out}"
        );
    }
}
