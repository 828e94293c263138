//! Evaluating a rule's formula over one file: matches are byte ranges with metavariable
//! bindings, combined the way Semgrep's search mode combines them.
//!
//! - `pattern` / `pattern-regex`: every match.
//! - `pattern-either`: the union.
//! - `patterns`: the positive entries are intersected (same range, agreeing metavariables),
//!   then the filters run in order: `pattern-not` drops a match that a negative pattern
//!   matches at the same range; `pattern-inside` keeps a match lying within a match of the
//!   context pattern (and takes that match's metavariables); `pattern-not-inside` drops one
//!   that lies within; `pattern-not-regex` drops one within a regex match;
//!   `metavariable-regex` keeps a match whose metavariable's text matches from its start;
//!   `focus-metavariable` narrows the match to the metavariable.
//!
//! Metavariables agree when their texts are equal; a metavariable that only one side binds
//! always agrees.

use std::collections::HashMap;
use std::ops::Range;

use regex::Regex;

use crate::pattern::{Tree, TreePattern};
use crate::shell::{CommandPattern, Unit};

/// A formula of one rule for one language.
pub(crate) enum Formula {
    Tree(Box<TreePattern>),
    Command(CommandPattern),
    Regex(Regex),
    Either(Vec<Formula>),
    All(Vec<Formula>, Vec<Filter>),
}

/// A filter inside `patterns`.
pub(crate) enum Filter {
    Not(Formula),
    Inside(Formula),
    NotInside(Formula),
    NotRegex(Regex),
    MetaRegex(String, Regex),
    Focus(Vec<String>),
}

/// One match: a byte range of the file and the metavariables it bound (sorted by name).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    pub(crate) range: Range<usize>,
    pub(crate) vars: Vec<(String, Binding)>,
}

/// What a metavariable matched.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Binding {
    pub(crate) text: String,
    pub(crate) range: Range<usize>,
}

/// The parsed form of the file a formula runs on.
pub(crate) enum Parsed<'a> {
    Tree(&'a Tree),
    Commands(&'a [Unit]),
}

/// A file, ready for formulas.
pub(crate) struct Target<'a> {
    pub(crate) text: &'a str,
    pub(crate) parsed: Parsed<'a>,
    /// Tree pattern matches computed in one pass ([`crate::pattern::match_all`]), by id.
    pub(crate) tree_hits: Option<&'a HashMap<usize, Vec<Hit>>>,
}

impl Hit {
    fn var(&self, name: &str) -> Option<&Binding> {
        self.vars
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| &self.vars[i].1)
    }

    /// Whether the metavariables both bind have equal texts.
    pub(crate) fn agrees(&self, other: &Hit) -> bool {
        let (mut i, mut j) = (0, 0);
        while i < self.vars.len() && j < other.vars.len() {
            match self.vars[i].0.cmp(&other.vars[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    if self.vars[i].1.text != other.vars[j].1.text {
                        return false;
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        true
    }

    /// This hit with the other's bindings added where this one has none.
    pub(crate) fn merged(&self, other: &Hit) -> Hit {
        let mut vars = self.vars.clone();
        for (n, b) in &other.vars {
            if self.var(n).is_none() {
                vars.push((n.clone(), b.clone()));
            }
        }
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        Hit {
            range: self.range.clone(),
            vars,
        }
    }

    fn within(&self, outer: &Hit) -> bool {
        outer.range.start <= self.range.start && self.range.end <= outer.range.end
    }
}

impl Formula {
    /// Every match in the target.
    pub(crate) fn eval(&self, t: &Target<'_>) -> Vec<Hit> {
        match self {
            Formula::Tree(p) => match t.parsed {
                Parsed::Tree(tree) => match t.tree_hits.and_then(|c| c.get(&p.id)) {
                    Some(hits) => hits.clone(),
                    None => p.find(tree),
                },
                Parsed::Commands(_) => Vec::new(),
            },
            Formula::Command(p) => match t.parsed {
                Parsed::Commands(units) => p.find(t.text, units),
                Parsed::Tree(_) => Vec::new(),
            },
            Formula::Regex(re) => regex_hits(re, t.text),
            Formula::Either(alts) => {
                let mut out: Vec<Hit> = Vec::new();
                for a in alts {
                    for h in a.eval(t) {
                        if !out.contains(&h) {
                            out.push(h);
                        }
                    }
                }
                out
            }
            Formula::All(positives, filters) => {
                let mut iter = positives.iter();
                let Some(first) = iter.next() else {
                    return Vec::new();
                };
                let mut hits = first.eval(t);
                for p in iter {
                    if hits.is_empty() {
                        return hits;
                    }
                    let other = p.eval(t);
                    hits = hits
                        .iter()
                        .flat_map(|h| {
                            other
                                .iter()
                                .filter(|o| o.range == h.range && h.agrees(o))
                                .map(|o| h.merged(o))
                                .collect::<Vec<_>>()
                        })
                        .collect();
                }
                for f in filters {
                    if hits.is_empty() {
                        break;
                    }
                    hits = f.apply(hits, t);
                }
                hits.dedup();
                hits
            }
        }
    }

    /// Every tree pattern of the formula.
    pub(crate) fn tree_patterns<'a>(&'a self, out: &mut Vec<&'a TreePattern>) {
        match self {
            Formula::Tree(p) => out.push(p),
            Formula::Command(_) | Formula::Regex(_) => {}
            Formula::Either(alts) => alts.iter().for_each(|a| a.tree_patterns(out)),
            Formula::All(pos, filters) => {
                pos.iter().for_each(|a| a.tree_patterns(out));
                for f in filters {
                    match f {
                        Filter::Not(f) | Filter::Inside(f) | Filter::NotInside(f) => {
                            f.tree_patterns(out)
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// Literals of which at least one occurs in every file the formula matches, or `None`
    /// when nothing is known (a regex, a pattern made of metavariables).
    pub(crate) fn required_literals(&self) -> Option<Vec<String>> {
        match self {
            Formula::Tree(p) => non_empty(p.literal()),
            Formula::Command(p) => non_empty(p.literal()),
            Formula::Regex(_) => None,
            Formula::Either(alts) => {
                let mut all = Vec::new();
                for a in alts {
                    all.extend(a.required_literals()?);
                }
                all.sort();
                all.dedup();
                Some(all)
            }
            Formula::All(positives, filters) => {
                // Any conjunct's requirement holds; take the most selective one (the one
                // whose shortest literal is longest).
                let inside = filters.iter().filter_map(|f| match f {
                    Filter::Inside(f) => Some(f),
                    _ => None,
                });
                positives
                    .iter()
                    .chain(inside)
                    .filter_map(Formula::required_literals)
                    .max_by_key(|ls| ls.iter().map(String::len).min().unwrap_or(0))
            }
        }
    }
}

fn non_empty(s: &str) -> Option<Vec<String>> {
    (!s.is_empty()).then(|| vec![s.to_string()])
}

fn regex_hits(re: &Regex, text: &str) -> Vec<Hit> {
    re.find_iter(text)
        .filter(|m| !m.is_empty())
        .map(|m| Hit {
            range: m.range(),
            vars: Vec::new(),
        })
        .collect()
}

impl Filter {
    fn apply(&self, hits: Vec<Hit>, t: &Target<'_>) -> Vec<Hit> {
        match self {
            Filter::Not(f) => {
                let neg = f.eval(t);
                hits.into_iter()
                    .filter(|h| !neg.iter().any(|n| n.range == h.range && h.agrees(n)))
                    .collect()
            }
            Filter::Inside(f) => {
                let ctx = f.eval(t);
                let mut out = Vec::new();
                for h in hits {
                    // The innermost enclosing context supplies the bindings.
                    let best = ctx
                        .iter()
                        .filter(|c| h.within(c) && h.agrees(c))
                        .min_by_key(|c| c.range.len());
                    if let Some(c) = best {
                        out.push(h.merged(c));
                    }
                }
                out
            }
            Filter::NotInside(f) => {
                let ctx = f.eval(t);
                hits.into_iter()
                    .filter(|h| !ctx.iter().any(|c| h.within(c) && h.agrees(c)))
                    .collect()
            }
            Filter::NotRegex(re) => {
                let ctx = regex_hits(re, t.text);
                hits.into_iter()
                    .filter(|h| !ctx.iter().any(|c| h.within(c)))
                    .collect()
            }
            Filter::MetaRegex(name, re) => hits
                .into_iter()
                .filter(|h| h.var(name).is_some_and(|b| re.is_match(&b.text)))
                .collect(),
            Filter::Focus(names) => hits
                .into_iter()
                .flat_map(|h| {
                    names
                        .iter()
                        .filter_map(|n| h.var(n).cloned())
                        .map(|b| Hit {
                            range: b.range,
                            vars: h.vars.clone(),
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
        }
    }
}
