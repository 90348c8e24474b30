//! One [`Prediction`] reused across many flows: a matrix predicts a million flows, and
//! allocating each one's details, codes, principal and SNI (and freeing them, often on another
//! thread) cost more than deciding most of them.

use crate::vocab::details::VIA_UPSTREAM;
use crate::vocab::Status;

use super::Prediction;

/// Strings a [`Prediction`] gave back when it was reset, handed out again for the next flow's
/// principal and SNI.
#[derive(Debug, Default)]
pub(crate) struct Spare {
    strings: Vec<String>,
}

impl Spare {
    /// Keeps `text`'s buffer for later.
    fn keep(&mut self, text: Option<String>) {
        self.strings.extend(text);
    }

    /// `text` in a kept buffer when there is one.
    pub(crate) fn text(&mut self, text: &str) -> String {
        let mut out = self.strings.pop().unwrap_or_default();
        out.clear();
        out.push_str(text);
        out
    }
}

impl Prediction {
    /// What a flow starts from: a 200 through the upstream, nothing else known yet.
    pub(crate) fn fresh() -> Prediction {
        Prediction {
            status: Status::Http(200),
            response_flags: Vec::new(),
            details: VIA_UPSTREAM.into(),
            mtls: false,
            tls_error: None,
            peer_principal: None,
            codes: Vec::new(),
            client_tls: None,
            server_roots: None,
            server_mode: None,
            sni: None,
            trace: Vec::new(),
        }
    }

    /// Makes this [`Prediction::fresh`] again, keeping its buffers (its strings in `spare`).
    pub(crate) fn reset(&mut self, spare: &mut Spare) {
        spare.keep(self.peer_principal.take());
        spare.keep(self.sni.take());
        let mut details = std::mem::take(&mut self.details);
        details.clear();
        details.push_str(VIA_UPSTREAM);
        // Every field named, so a new one cannot be forgotten here.
        *self = Prediction {
            status: Status::Http(200),
            response_flags: cleared(&mut self.response_flags),
            details,
            mtls: false,
            tls_error: None,
            peer_principal: None,
            codes: cleared(&mut self.codes),
            client_tls: None,
            server_roots: None,
            server_mode: None,
            sni: None,
            trace: cleared(&mut self.trace),
        };
    }

    /// Sets the response-code details, in the buffer already held.
    pub(crate) fn set_details(&mut self, text: &str) {
        self.details.clear();
        self.details.push_str(text);
    }
}

/// `v`'s buffer, emptied (`v` is left without one).
fn cleared<T>(v: &mut Vec<T>) -> Vec<T> {
    let mut v = std::mem::take(v);
    v.clear();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::FindingCode;

    #[test]
    fn a_reset_prediction_is_a_fresh_one_and_keeps_its_strings() {
        let mut p = Prediction::fresh();
        p.status = Status::Http(403);
        p.set_details("rbac_access_denied_matched_policy[none]");
        p.codes.push(FindingCode::NoAllowPolicyMatched);
        p.peer_principal = Some("cluster.local/ns/a/sa/b".into());
        p.sni = Some("outbound_.80_._.b.a.svc.cluster.local".into());
        p.mtls = true;
        let mut spare = Spare::default();
        p.reset(&mut spare);
        assert_eq!(p, Prediction::fresh());
        assert_eq!(spare.strings.len(), 2);
        assert_eq!(spare.text("x"), "x");
        assert_eq!(spare.strings.len(), 1);
    }
}
