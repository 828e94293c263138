//! Text helpers: byte offsets to lines, and cheap second passes that find the line of a key.
//!
//! Why a second pass: serde_json and serde-saphyr parse into typed structs without keeping
//! positions for map keys. The lockfile is already known to be valid when these run, so a
//! small tokenizer that only tracks nesting and keys is enough and costs one linear scan.

use std::collections::HashMap;

/// 1-based (line, column) of a byte offset; the column counts characters.
pub(crate) fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (to_u32(line), to_u32(column))
}

pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Sorted line-start offsets for repeated offset -> line lookups.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr_newlines(text.as_bytes()));
        LineIndex { starts }
    }

    /// 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> u32 {
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        to_u32(idx + 1)
    }
}

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
}

/// Decodes bytes as UTF-8, dropping a BOM. Invalid UTF-8 is an error for the caller to report.
pub(crate) fn utf8(data: &[u8]) -> Result<&str, std::str::Utf8Error> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    std::str::from_utf8(data)
}

/// Lines of JSON values whose path is selected.
///
/// `select(path)` is asked for every value start; `path` holds object keys and array indices
/// (as decimal strings) from the root. The recorded line is where the key is (for object
/// members) or where the value starts (for array elements). Keys of selected paths are joined
/// with `\0` in the returned map.
pub(crate) fn json_value_lines(
    text: &str,
    mut select: impl FnMut(&[String]) -> bool,
) -> HashMap<String, u32> {
    enum Frame {
        Object { has_key: bool },
        Array { next: usize, has_elem: bool },
    }
    let bytes = text.as_bytes();
    let mut out = HashMap::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut line: u32 = 1;
    let mut key_line: u32 = 1;
    // In an object: true when the next string is a key.
    let mut expect_key = false;
    let mut value_start =
        |path: &mut Vec<String>, frames: &mut Vec<Frame>, line: u32, key_line: u32| {
            let at = if let Some(Frame::Array { next, has_elem }) = frames.last_mut() {
                path.push(next.to_string());
                *next += 1;
                *has_elem = true;
                line
            } else {
                key_line
            };
            if !path.is_empty() && select(path) {
                out.insert(path.join("\0"), at);
            }
        };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => line += 1,
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() {
                    match bytes[j] {
                        b'\\' => j += 1,
                        b'"' => break,
                        b'\n' => line += 1,
                        _ => {}
                    }
                    j += 1;
                }
                let raw = text.get(start..j.min(text.len())).unwrap_or("");
                if expect_key {
                    let key = if raw.contains('\\') {
                        serde_json::from_str::<String>(&format!("\"{raw}\""))
                            .unwrap_or_else(|_| raw.to_owned())
                    } else {
                        raw.to_owned()
                    };
                    path.push(key);
                    key_line = line;
                    expect_key = false;
                    if let Some(Frame::Object { has_key }) = frames.last_mut() {
                        *has_key = true;
                    }
                } else {
                    value_start(&mut path, &mut frames, line, key_line);
                }
                i = j;
            }
            b'{' => {
                value_start(&mut path, &mut frames, line, key_line);
                frames.push(Frame::Object { has_key: false });
                expect_key = true;
            }
            b'[' => {
                value_start(&mut path, &mut frames, line, key_line);
                frames.push(Frame::Array {
                    next: 0,
                    has_elem: false,
                });
                expect_key = false;
            }
            b'}' => {
                if let Some(Frame::Object { has_key: true }) = frames.pop() {
                    path.pop();
                }
                expect_key = false;
            }
            b']' => {
                if let Some(Frame::Array { has_elem: true, .. }) = frames.pop() {
                    path.pop();
                }
                expect_key = false;
            }
            b',' => match frames.last() {
                Some(Frame::Object { has_key: true }) => {
                    path.pop();
                    expect_key = true;
                }
                Some(Frame::Array { has_elem: true, .. }) => {
                    path.pop();
                }
                _ => {}
            },
            b' ' | b'\t' | b'\r' | b':' => {}
            _ => {
                // Scalar literal (number, true, false, null): skip to its end.
                value_start(&mut path, &mut frames, line, key_line);
                while i + 1 < bytes.len()
                    && !matches!(
                        bytes[i + 1],
                        b',' | b'}' | b']' | b'\n' | b' ' | b'\r' | b'\t'
                    )
                {
                    i += 1;
                }
            }
        }
        i += 1;
    }
    out
}

/// Lines of the direct children of a top-level YAML block mapping key (`packages:`), keyed by
/// the unquoted child key.
pub(crate) fn yaml_child_key_lines(text: &str, top_key: &str) -> HashMap<String, u32> {
    let mut out = HashMap::new();
    let mut inside = false;
    let mut child_indent: Option<usize> = None;
    for (n, raw) in text.lines().enumerate() {
        let line_no = to_u32(n + 1);
        let trimmed = raw.trim_end();
        let content = trimmed.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = trimmed.len() - content.len();
        if indent == 0 {
            inside = content
                .strip_prefix(top_key)
                .is_some_and(|r| r.trim_start().starts_with(':'));
            child_indent = None;
            continue;
        }
        if !inside {
            continue;
        }
        let want = *child_indent.get_or_insert(indent);
        if indent != want {
            continue;
        }
        if let Some(key) = yaml_key(content) {
            out.insert(key, line_no);
        }
    }
    out
}

/// The key of a `key: value` / `'key':` / `"key":` line.
pub(crate) fn yaml_key(content: &str) -> Option<String> {
    let first = content.chars().next()?;
    if first == '\'' || first == '"' {
        let rest = &content[1..];
        let end = rest.find(first)?;
        return Some(rest[..end].to_owned());
    }
    // Unquoted: up to the last ':' that is followed by a space or the end of the line.
    let mut cut = None;
    for (i, _) in content.match_indices(':') {
        let after = &content[i + 1..];
        if after.is_empty() || after.starts_with(' ') {
            cut = Some(i);
            break;
        }
    }
    cut.map(|i| content[..i].trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_follow_keys_and_arrays() {
        let text = "{\n  \"packages\": {\n    \"\": {\"name\": \"root\"},\n    \"node_modules/a\": {\n      \"version\": \"1.0.0\"\n    }\n  },\n  \"list\": [\n    {\"x\": 1},\n    {\"x\": 2}\n  ]\n}\n";
        let lines = json_value_lines(text, |p| {
            (p.len() == 2 && (p[0] == "packages" || p[0] == "list"))
                || p == ["packages", "node_modules/a", "version"]
        });
        assert_eq!(lines.get("packages\0node_modules/a"), Some(&4));
        assert_eq!(lines.get("packages\0"), Some(&3));
        assert_eq!(lines.get("packages\0node_modules/a\0version"), Some(&5));
        assert_eq!(lines.get("list\x000"), Some(&9));
        assert_eq!(lines.get("list\x001"), Some(&10));
    }

    #[test]
    fn yaml_children() {
        let text = "lockfileVersion: 5.3\npackages:\n\n  /a/1.0.0:\n    dev: false\n  '/@b/c/2.0.0':\n    dev: true\nother:\n  x: 1\n";
        let lines = yaml_child_key_lines(text, "packages");
        assert_eq!(lines.get("/a/1.0.0"), Some(&4));
        assert_eq!(lines.get("/@b/c/2.0.0"), Some(&6));
        assert_eq!(lines.get("x"), None);
    }

    #[test]
    fn line_index() {
        let idx = LineIndex::new("a\nbc\n\nd");
        assert_eq!(idx.line(0), 1);
        assert_eq!(idx.line(2), 2);
        assert_eq!(idx.line(5), 3);
        assert_eq!(idx.line(6), 4);
        assert_eq!(line_col("a\nbc", 3), (2, 2));
    }
}
