//! Fuzz entry point for the untrusted-bytes path (request body → decision → response).

use crate::policy::{Enforcement, Exemptions, Violation, decide, exemption_reason};
use crate::review::{parse_review, response_body};

/// Parses `data` as an AdmissionReview and runs everything the server does with it that does
/// not need a policy engine (exemptions, the ignore annotation, the decision, the response).
/// Must never panic. The lead's `fuzz/` crate calls this; a unit test runs it on mutated inputs.
pub fn fuzz_admission_review(data: &[u8]) {
    let Ok(req) = parse_review(data) else { return };
    let ex = Exemptions {
        namespaces: ["kube-system".to_owned()].into(),
        users: ["admin".to_owned()].into(),
        groups: ["system:masters".to_owned()].into(),
    };
    let _ = exemption_reason(&ex, &req);
    let v = Violation {
        rule_id: "r".into(),
        message: req.name.clone(),
        enforcement: Enforcement::Deny,
    };
    let w = Violation {
        enforcement: Enforcement::Warn,
        ..v.clone()
    };
    let d = decide(&req, vec![v, w]);
    let body = response_body(&req.uid, d.allowed, d.message.as_deref(), &d.warnings);
    debug_assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
    let _ = crate::audit::object_ref(&req);
}

#[cfg(test)]
mod tests {
    use super::*;

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % (n.max(1) as u64)).unwrap()
        }
    }

    const SEEDS: &[&str] = &[
        r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"kube-system","name":"p","userInfo":{"username":"admin","groups":["system:masters"]},"object":{"metadata":{"annotations":{"shipgate.dev/ignore":"r because; x"}}},"dryRun":true}}"#,
        r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"é","kind":{"kind":"Namespace"},"operation":"DELETE","name":"kube-system","oldObject":{"metadata":{"annotations":{"shipgate.dev/ignore":"\n;\n"}}}}}"#,
        r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":[]}"#,
    ];

    #[test]
    fn fuzz_target_survives_mutated_inputs() {
        let mut rng = XorShift(0x5eed_1234_abcd_ef01);
        let dict: &[&[u8]] = &[
            b"{",
            b"}",
            b"[",
            b"]",
            b"\"",
            b":",
            b",",
            b"null",
            b"\\u0000",
            b"\xff",
            b"1e999",
            b"\"uid\"",
            b"\"request\"",
        ];
        for i in 0..5000 {
            let mut data = SEEDS[i % SEEDS.len()].as_bytes().to_vec();
            for _ in 0..=rng.below(4) {
                let pos = rng.below(data.len() + 1);
                match rng.below(5) {
                    0 if !data.is_empty() => {
                        let p = pos.min(data.len() - 1);
                        data[p] = u8::try_from(rng.below(256)).unwrap();
                    }
                    1 => data.truncate(pos),
                    2 => {
                        let tok = dict[rng.below(dict.len())];
                        data.splice(pos..pos, tok.iter().copied());
                    }
                    3 if !data.is_empty() => {
                        let end = (pos + rng.below(16)).min(data.len());
                        data.drain(pos.min(end)..end);
                    }
                    _ => {
                        let a = rng.below(data.len() + 1);
                        let chunk: Vec<u8> = data[a.min(pos)..a.max(pos)].to_vec();
                        data.extend_from_slice(&chunk);
                    }
                }
            }
            fuzz_admission_review(&data);
        }
        for s in SEEDS {
            fuzz_admission_review(s.as_bytes());
        }
    }
}
