//! The keyword prefilter: every occurrence of every rule keyword in a buffer, in one pass.
//!
//! This pass touches every byte the scanner reads, so it sets the scanner's speed. A general
//! Aho-Corasick DFA walk is bound by one dependent table load per byte; this finder keeps the
//! automaton small enough for the L1 cache and walks four independent slices of the buffer in
//! lock step so the loads of one slice overlap those of the others:
//!
//! 1. The automaton matches keyword *prefixes* (the first few bytes, ASCII case folded). The
//!    prefix length is the longest that keeps the table within 65,536 `u16` entries, so a state
//!    plus a byte class always indexes the table without a bounds check or `unsafe`.
//! 2. Its states are renumbered so that match states, and only they, have the top bit set: a
//!    step is a class lookup and one table load, and a block of eight bytes per lane needs one
//!    test of the OR of its states (a block that saw a match is walked again to find where).
//! 3. Each prefix hit is confirmed against the whole keywords sharing that prefix (case
//!    folded, or exact for keywords whose rules ask for it).
//!
//! A keyword set too large for the table falls back to a plain Aho-Corasick overlapping
//! search; both report the same hits (a test checks this against `aho-corasick` itself).

use std::collections::HashMap;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Anchored, MatchKind};

/// Size of the transition table: `u16` state ids index it without bounds checks.
const TABLE: usize = 1 << 16;
/// Buffers shorter than this are walked in one lane.
const MIN_LANES: usize = 256;
/// Lanes walked in lock step.
const LANES: usize = 4;
/// Bytes each lane takes per step of the lock-step loop (one `u64` load).
const BLOCK: usize = 8;
/// Match states have this bit set in their id; all other states have it clear.
const MATCH_FLAG: u16 = 1 << 15;
/// Longest keyword prefix the automaton matches.
const MAX_PREFIX: usize = 8;
/// Shorter prefixes would send too many positions to the confirmation step.
const MIN_PREFIX: usize = 3;

/// A keyword occurrence: `buf[start..end]` is keyword number `keyword`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hit {
    pub start: usize,
    pub end: usize,
    pub keyword: u32,
}

/// A keyword to look for.
#[derive(Debug, Clone)]
pub(crate) struct Keyword {
    pub bytes: Vec<u8>,
    /// Match these bytes exactly instead of ASCII case-insensitively.
    pub exact: bool,
}

#[derive(Debug)]
pub(crate) struct KeywordFinder {
    keywords: Vec<Keyword>,
    imp: Imp,
}

#[derive(Debug)]
enum Imp {
    Lanes(Box<Lanes>),
    Fallback(AhoCorasick),
}

#[derive(Debug)]
struct Lanes {
    trans: Box<[u16; TABLE]>,
    class: [u8; 256],
    start: u16,
    shift: u32,
    /// For each match state (`(id & !MATCH_FLAG) >> shift`), the prefixes that end there.
    state_prefixes: Vec<Vec<u32>>,
    /// For each prefix: its length and the keywords that begin with it.
    prefixes: Vec<(usize, Vec<u32>)>,
    prefix_len: usize,
}

impl KeywordFinder {
    /// A finder for `keywords` (none may be empty).
    pub(crate) fn new(keywords: Vec<Keyword>) -> KeywordFinder {
        // Building an automaton costs milliseconds at every start: pick the length first
        // from the trie, build once.
        match (MIN_PREFIX..=MAX_PREFIX)
            .rev()
            .find(|&len| Lanes::fits(&keywords, len))
            .and_then(|len| Lanes::build(&keywords, len))
        {
            Some(l) => KeywordFinder {
                keywords,
                imp: Imp::Lanes(Box::new(l)),
            },
            None => KeywordFinder::fallback(keywords),
        }
    }

    /// A finder on the general Aho-Corasick automaton.
    fn fallback(keywords: Vec<Keyword>) -> KeywordFinder {
        let pats: Vec<&[u8]> = keywords.iter().map(|k| k.bytes.as_slice()).collect();
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(pats)
            .expect("an automaton of a few thousand literals always builds");
        KeywordFinder {
            keywords,
            imp: Imp::Fallback(ac),
        }
    }

    /// Whether the fast path is in use (tests check both paths).
    #[cfg(test)]
    fn uses_lanes(&self) -> bool {
        matches!(self.imp, Imp::Lanes(_))
    }

    /// Append every keyword occurrence in `buf` to `out`, ordered by the end of the keyword
    /// prefix (overlapping occurrences included).
    pub(crate) fn find(&self, buf: &[u8], out: &mut Vec<Hit>) {
        match &self.imp {
            Imp::Lanes(l) => l.find(&self.keywords, buf, out),
            Imp::Fallback(ac) => {
                for m in ac.find_overlapping_iter(buf) {
                    let k = m.pattern().as_u32();
                    let kw = &self.keywords[k as usize];
                    if !kw.exact || buf[m.start()..m.end()] == kw.bytes[..] {
                        out.push(Hit {
                            start: m.start(),
                            end: m.end(),
                            keyword: k,
                        });
                    }
                }
            }
        }
    }
}

impl Lanes {
    /// Whether the automaton over the first `len` bytes of each keyword fits the table,
    /// computed from the prefix trie without building it: its states are the trie's nodes, a
    /// state matches when a pattern is a suffix of its string, and every distinct (folded)
    /// byte of the patterns is a class of its own, plus one for all other bytes.
    fn fits(keywords: &[Keyword], len: usize) -> bool {
        let pats: std::collections::HashSet<Vec<u8>> = keywords
            .iter()
            .map(|k| k.bytes[..k.bytes.len().min(len)].to_ascii_lowercase())
            .collect();
        let nodes: std::collections::HashSet<&[u8]> = pats
            .iter()
            .flat_map(|p| (1..=p.len()).map(move |l| &p[..l]))
            .collect();
        let mut seen = [false; 256];
        for p in &pats {
            for &b in p {
                seen[usize::from(b)] = true;
            }
        }
        let distinct = seen.iter().filter(|&&x| x).count();
        let classes = distinct + usize::from(distinct < 256);
        let stride = classes.next_power_of_two();
        let matching = nodes
            .iter()
            .filter(|n| (0..n.len()).any(|i| pats.contains(&n[i..])))
            .count();
        let half = usize::from(MATCH_FLAG) / stride;
        // The start state (the empty string) never matches: keywords are not empty.
        nodes.len() + 1 - matching <= half && matching <= half
    }

    /// The automaton over the first `len` bytes of each keyword, if its table fits.
    fn build(keywords: &[Keyword], len: usize) -> Option<Lanes> {
        let mut index: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut prefixes: Vec<(usize, Vec<u32>)> = Vec::new();
        let mut pats: Vec<Vec<u8>> = Vec::new();
        for (k, kw) in keywords.iter().enumerate() {
            let p = kw.bytes[..kw.bytes.len().min(len)].to_ascii_lowercase();
            let k = u32::try_from(k).ok()?;
            match index.get(&p) {
                Some(&i) => prefixes[i as usize].1.push(k),
                None => {
                    index.insert(p.clone(), u32::try_from(pats.len()).ok()?);
                    prefixes.push((p.len(), vec![k]));
                    pats.push(p);
                }
            }
        }
        let dfa = aho_corasick::dfa::Builder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&pats)
            .ok()?;
        let start = dfa.start_state(Anchored::No).ok()?;
        // Every state reachable from the start, breadth first.
        let mut ids: HashMap<StateID, usize> = HashMap::from([(start, 0)]);
        let mut order = vec![start];
        let mut i = 0;
        while i < order.len() {
            for b in 0..=255u8 {
                let t = dfa.next_state(Anchored::No, order[i], b);
                if let std::collections::hash_map::Entry::Vacant(e) = ids.entry(t) {
                    e.insert(order.len());
                    order.push(t);
                }
            }
            i += 1;
            if order.len() > TABLE {
                return None;
            }
        }
        // Bytes with the same transitions in every state share a class.
        let mut columns: HashMap<Vec<usize>, u8> = HashMap::new();
        let mut class = [0u8; 256];
        for b in 0..=255u8 {
            let col: Vec<usize> = order
                .iter()
                .map(|&s| ids[&dfa.next_state(Anchored::No, s, b)])
                .collect();
            let next = columns.len();
            class[usize::from(b)] = *columns
                .entry(col)
                .or_insert_with(|| u8::try_from(next).expect("at most 256 classes"));
        }
        let shift = columns.len().next_power_of_two().trailing_zeros();
        let stride = 1usize << shift;
        // Renumber: other states from 0, match states from `MATCH_FLAG`, each half of the table.
        let nonmatch = order.iter().filter(|&&s| !dfa.is_match(s)).count();
        let half = usize::from(MATCH_FLAG) / stride;
        if nonmatch > half || order.len() - nonmatch > half {
            return None;
        }
        let mut renum = vec![0usize; order.len()];
        let (mut a, mut m) = (0, half);
        for (j, &s) in order.iter().enumerate() {
            if dfa.is_match(s) {
                renum[j] = m;
                m += 1;
            } else {
                renum[j] = a;
                a += 1;
            }
        }
        let id = |j: usize| u16::try_from(renum[j] * stride).expect("table fits u16 ids");
        let mut trans = Box::new([0u16; TABLE]);
        let mut state_prefixes = vec![Vec::new(); order.len() - nonmatch];
        debug_assert!(!dfa.is_match(start), "no empty keyword");
        for (j, &s) in order.iter().enumerate() {
            let row = usize::from(id(j));
            for b in 0..=255u8 {
                let t = ids[&dfa.next_state(Anchored::No, s, b)];
                trans[row + usize::from(class[usize::from(b)])] = id(t);
            }
            if dfa.is_match(s) {
                state_prefixes[renum[j] - half] = (0..dfa.match_len(s))
                    .map(|x| dfa.match_pattern(s, x).as_u32())
                    .collect();
            }
        }
        Some(Lanes {
            trans,
            class,
            start: id(0),
            shift,
            state_prefixes,
            prefixes,
            prefix_len: len,
        })
    }

    #[inline(always)]
    fn step(&self, s: u16, b: u8) -> u16 {
        self.trans[usize::from(s.wrapping_add(u16::from(self.class[usize::from(b)])))]
    }

    fn find(&self, keywords: &[Keyword], buf: &[u8], out: &mut Vec<Hit>) {
        // Ends (exclusive) of prefix hits and the match state there, per lane.
        let mut ends: [Vec<(usize, u16)>; LANES] = Default::default();
        // Lane k walks `buf[k * seg..(k + 1) * seg]` (the last lane to the end) eight bytes
        // at a time; a block in which any lane passed a match state is walked again, byte by
        // byte, to find where.
        let seg = (buf.len() / LANES) & !(BLOCK - 1);
        if buf.len() < MIN_LANES {
            self.walk(self.start, buf, 0, buf.len(), &mut ends[0]);
        } else {
            let mut st = [self.start; LANES];
            // Lanes 1.. start early enough to see prefixes that cross into their slice, and
            // report only hits that end inside it.
            let warm = self.prefix_len - 1;
            for (k, s) in st.iter_mut().enumerate().skip(1) {
                for &b in &buf[k * seg - warm..k * seg] {
                    *s = self.step(*s, b);
                }
            }
            let word = |k: usize, j: usize| {
                let at = k * seg + j;
                u64::from_le_bytes(buf[at..at + BLOCK].try_into().expect("eight bytes"))
            };
            // Plain locals, not an array: an array of states lives in memory, and reading it
            // back whole after four narrow stores stalls every block.
            let [mut s0, mut s1, mut s2, mut s3] = st;
            let mut j = 0;
            while j < seg {
                let before = [s0, s1, s2, s3];
                let (mut w0, mut w1, mut w2, mut w3) =
                    (word(0, j), word(1, j), word(2, j), word(3, j));
                let (mut m0, mut m1, mut m2, mut m3) = (0u16, 0u16, 0u16, 0u16);
                for _ in 0..BLOCK {
                    // The low byte of each word (`as` truncates on purpose).
                    s0 = self.step(s0, w0 as u8);
                    s1 = self.step(s1, w1 as u8);
                    s2 = self.step(s2, w2 as u8);
                    s3 = self.step(s3, w3 as u8);
                    (w0, w1, w2, w3) = (w0 >> 8, w1 >> 8, w2 >> 8, w3 >> 8);
                    (m0, m1, m2, m3) = (m0 | s0, m1 | s1, m2 | s2, m3 | s3);
                }
                if (m0 | m1 | m2 | m3) & MATCH_FLAG != 0 {
                    for (k, m) in [m0, m1, m2, m3].into_iter().enumerate() {
                        if m & MATCH_FLAG != 0 {
                            let from = k * seg + j;
                            self.walk(before[k], buf, from, from + BLOCK, &mut ends[k]);
                        }
                    }
                }
                j += BLOCK;
            }
            st[3] = s3;
            // The last lane's tail (the buffer length need not divide evenly).
            self.walk(st[3], buf, LANES * seg, buf.len(), &mut ends[3]);
        }
        for lane in &ends {
            for &(end, s) in lane {
                let state = usize::from((s & !MATCH_FLAG) >> self.shift);
                for &p in &self.state_prefixes[state] {
                    let (plen, ref kws) = self.prefixes[p as usize];
                    let start = end - plen;
                    for &k in kws {
                        let kw = &keywords[k as usize];
                        let Some(hay) = buf.get(start..start + kw.bytes.len()) else {
                            continue;
                        };
                        let ok = if kw.exact {
                            hay == kw.bytes.as_slice()
                        } else {
                            hay.eq_ignore_ascii_case(&kw.bytes)
                        };
                        if ok {
                            out.push(Hit {
                                start,
                                end: start + kw.bytes.len(),
                                keyword: k,
                            });
                        }
                    }
                }
            }
        }
    }

    /// One lane from state `s` over `buf[from..to]`, recording match states.
    fn walk(&self, mut s: u16, buf: &[u8], from: usize, to: usize, ends: &mut Vec<(usize, u16)>) {
        for (i, &b) in buf[from..to].iter().enumerate() {
            s = self.step(s, b);
            if s & MATCH_FLAG != 0 {
                ends.push((from + i + 1, s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(s: &str, exact: bool) -> Keyword {
        Keyword {
            bytes: s.as_bytes().to_vec(),
            exact,
        }
    }

    /// The hits `aho-corasick` itself reports (case-folded), then the exact-case filter.
    fn reference(keywords: &[Keyword], buf: &[u8]) -> Vec<Hit> {
        let pats: Vec<&[u8]> = keywords.iter().map(|k| k.bytes.as_slice()).collect();
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(pats)
            .unwrap();
        let mut v: Vec<Hit> = ac
            .find_overlapping_iter(buf)
            .filter(|m| {
                let k = &keywords[m.pattern().as_usize()];
                !k.exact || buf[m.start()..m.end()] == k.bytes[..]
            })
            .map(|m| Hit {
                start: m.start(),
                end: m.end(),
                keyword: m.pattern().as_u32(),
            })
            .collect();
        v.sort();
        v
    }

    fn check(keywords: Vec<Keyword>, buf: &[u8]) {
        let want = reference(&keywords, buf);
        let f = KeywordFinder::new(keywords);
        let mut got = Vec::new();
        f.find(buf, &mut got);
        got.sort();
        assert_eq!(got, want, "buffer of {} bytes", buf.len());
    }

    /// A deterministic pseudo-random byte source (xorshift), no dependency needed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Haystacks built from keyword fragments in random case, at every lane boundary.
    #[test]
    fn same_hits_as_aho_corasick() {
        let words = [
            "akia",
            "ghp_",
            "glpat-",
            "sk",
            "sk-ant-api",
            "pat",
            "password",
            "pass",
            "q~",
            "xoxb-",
            "eyj",
            "-----begin",
            "://",
            "a",
            "aa",
            "aaa",
            "aaaaaaaaaaa",
            "abcdefghijk",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..60 {
            let keywords: Vec<Keyword> = words
                .iter()
                .map(|w| kw(w, rng.next().is_multiple_of(4)))
                .map(|mut k| {
                    if k.exact {
                        k.bytes.make_ascii_uppercase();
                    }
                    k
                })
                .collect();
            let len = [0usize, 3, 100, 4095, 4096, 4099, 10_000, 70_001][round % 8];
            let mut buf = Vec::with_capacity(len + 16);
            while buf.len() < len {
                if rng.next().is_multiple_of(3) {
                    let w = words[(rng.next() % words.len() as u64) as usize].as_bytes();
                    let cut = 1 + (rng.next() as usize) % w.len();
                    for &b in &w[..cut] {
                        buf.push(if rng.next().is_multiple_of(2) {
                            b.to_ascii_uppercase()
                        } else {
                            b
                        });
                    }
                } else {
                    buf.push(b" a_-~:/\nkpsK"[(rng.next() % 12) as usize]);
                }
            }
            buf.truncate(len);
            check(keywords, &buf);
        }
    }

    #[test]
    fn prefixes_cross_lane_boundaries() {
        let keywords = vec![kw("boundary-keyword", false), kw("XY", true)];
        for at in [4090usize, 4095, 4096, 4100, 8190, 8192, 12_285] {
            let mut buf = vec![b'.'; 16_384];
            buf[at..at + 16].copy_from_slice(b"BOUNDARY-keyword");
            buf[at + 20..at + 22].copy_from_slice(b"XY");
            buf[at + 30..at + 32].copy_from_slice(b"xy");
            check(keywords.clone(), &buf);
        }
    }

    #[test]
    fn both_paths_agree_on_large_keyword_sets() {
        let mut rng = Rng(7);
        let keywords: Vec<Keyword> = (0..2000)
            .map(|_| {
                let s: String = (0..10)
                    .map(|_| char::from(b'a' + (rng.next() % 26) as u8))
                    .collect();
                kw(&s, false)
            })
            .collect();
        let mut buf: Vec<u8> = Vec::new();
        for k in keywords.iter().step_by(7) {
            buf.extend_from_slice(&k.bytes);
            buf.push(b' ');
        }
        let want = reference(&keywords, &buf);
        assert!(want.len() >= 286, "{} hits", want.len());
        let mut got = Vec::new();
        KeywordFinder::fallback(keywords.clone()).find(&buf, &mut got);
        got.sort();
        assert_eq!(got, want);
        check(keywords, &buf);
    }

    /// The trie estimate picks the same length a trial build would.
    #[test]
    fn fits_agrees_with_building() {
        let mut rng = Rng(11);
        for n in [10usize, 300, 2000] {
            let keywords: Vec<Keyword> = (0..n)
                .map(|_| {
                    let len = 2 + (rng.next() % 12) as usize;
                    let s: String = (0..len)
                        .map(|_| {
                            char::from(
                                b"abcdefghijklmnopqrstuvwxyz_-.0123456789"
                                    [(rng.next() % 39) as usize],
                            )
                        })
                        .collect();
                    kw(&s, false)
                })
                .collect();
            for len in MIN_PREFIX..=MAX_PREFIX {
                assert_eq!(
                    Lanes::fits(&keywords, len),
                    Lanes::build(&keywords, len).is_some(),
                    "{n} keywords, prefix {len}"
                );
            }
        }
    }

    #[test]
    fn builtin_sized_sets_use_lanes() {
        let keywords: Vec<Keyword> = (0..300)
            .map(|i| kw(&format!("kw{i:03}_x"), false))
            .collect();
        assert!(KeywordFinder::new(keywords).uses_lanes());
    }
}
