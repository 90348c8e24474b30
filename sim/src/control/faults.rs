//! Faults as state changes of istiod, the CA and the agents. A fault never decides an outcome:
//! the proxies' handshakes read the resulting certificates and bundles.

use super::{ControlError, ControlPlane};
use crate::pki::{TrustBundle, WorkloadCert};
use crate::{Fault, SimTime};

impl ControlPlane {
    /// Applies a fault at `now`. Conditions present when pods start (RBAC, missing service
    /// account, rate limit) affect CSRs still pending at `now`; events that happen to a running
    /// mesh (outage, rotation, expiry, a broken agent) first let pending CSRs complete.
    pub fn apply_fault(&mut self, fault: &Fault, now: SimTime) -> Result<(), ControlError> {
        let now = now.max(self.now);
        match fault {
            Fault::IstiodRbacDenied => self.istiod.rbac_denied = true,
            Fault::CsrRateLimit { per_second } => self.istiod.csr_rate_limit = Some(*per_second),
            Fault::DeleteServiceAccount { namespace, name } => {
                self.set_service_account_exists(namespace, name, false)
            }
            Fault::ClockSkew {
                workload,
                offset_secs,
            } => {
                for id in self.proxies_of(workload)? {
                    if let Some(a) = self.agents.get_mut(&id) {
                        a.clock_offset = *offset_secs;
                    }
                }
            }
            Fault::TlsParams { workload, params } => {
                for id in self.proxies_of(workload)? {
                    if let Some(a) = self.agents.get_mut(&id) {
                        a.tls = Some(params.clone());
                    }
                }
            }
            Fault::IstiodDown => {
                self.advance_to(now);
                self.istiod.up = false;
            }
            Fault::MissingCert { workload } => {
                self.advance_to(now);
                for id in self.proxies_of(workload)? {
                    if let Some(a) = self.agents.get_mut(&id) {
                        let bundle = TrustBundle::clone(&a.bundle);
                        a.set_credentials(None, bundle);
                        a.stalled = true;
                        a.next_csr = None;
                    }
                }
            }
            Fault::ExpiredCert { workload } => {
                self.advance_to(now);
                for id in self.proxies_of(workload)? {
                    let cert = self.expired_cert_for(&id, now)?;
                    if let Some(a) = self.agents.get_mut(&id) {
                        let bundle = TrustBundle::clone(&a.bundle);
                        a.set_credentials(Some(cert), bundle);
                        a.issued += 1;
                        a.stalled = true;
                        a.next_csr = None;
                    }
                }
            }
            Fault::RotateRoot { restart } => {
                self.advance_to(now);
                let mut restarted = Vec::new();
                for w in restart {
                    restarted.extend(self.proxies_of(w)?);
                }
                self.ca.rotate_root(now)?;
                self.distributed = self.ca.root_bundle();
                for id in restarted {
                    self.restart_proxy(&id, now);
                }
            }
            Fault::PluginCa { trust_bundle } => {
                // `cacerts` is read when istiod starts: every pod starts against it.
                self.advance_to(now);
                let previous = self.distributed.clone();
                self.ca.use_plugin_ca(now)?;
                self.distributed = if *trust_bundle {
                    self.ca.root_bundle()
                } else {
                    previous
                };
                let ids: Vec<String> = self.agents.keys().cloned().collect();
                for id in ids {
                    self.restart_proxy(&id, now);
                }
            }
            Fault::ExpireCaCert => {
                self.advance_to(now);
                self.ca.expire_signing_cert(now)?;
            }
            Fault::ExpireRoot => {
                self.advance_to(now);
                self.expire_root(now)?;
            }
        }
        self.advance_to(now);
        Ok(())
    }

    /// A certificate for the proxy that expired an hour before `now`, as if the agent had last
    /// renewed a full TTL earlier and then stopped.
    fn expired_cert_for(&mut self, id: &str, now: SimTime) -> Result<WorkloadCert, ControlError> {
        let (spiffe, issued) = match self.agents.get(id) {
            Some(a) => (a.spiffe.clone(), a.issued),
            None => return Err(ControlError::UnknownProxy(id.to_string())),
        };
        let back = self.ttl.as_secs() as i64 + 3600;
        let purpose = self.key_purpose(id, issued);
        let cert = self.ca.issue_workload(
            &spiffe,
            self.key_type,
            self.ttl,
            now.offset(-back),
            &purpose,
        )?;
        Ok(cert)
    }

    /// The root (and in plug-in mode the intermediate) reach notAfter at `now`. Every proxy
    /// holds that same root, now expired; every leaf was clamped to it (Istio clamps notAfter
    /// to the signer's), so they are re-issued expired at the root's notAfter.
    fn expire_root(&mut self, now: SimTime) -> Result<(), ControlError> {
        let expired = self.ca.expire_root(now)?;
        let bundle = TrustBundle::from_roots(vec![expired]);
        self.distributed = bundle.clone();
        let signer_end = self.ca.signing_not_after();
        let ids: Vec<String> = self.agents.keys().cloned().collect();
        for id in ids {
            let Some(a) = self.agents.get(&id) else {
                continue;
            };
            let cert = match &a.cert {
                Some(_) => {
                    let (spiffe, issued) = (a.spiffe.clone(), a.issued);
                    let purpose = self.key_purpose(&id, issued);
                    let at = signer_end.offset(-(self.ttl.as_secs() as i64) / 2);
                    Some(
                        self.ca
                            .issue_workload(&spiffe, self.key_type, self.ttl, at, &purpose)?,
                    )
                }
                None => None,
            };
            if let Some(a) = self.agents.get_mut(&id) {
                let had_cert = cert.is_some();
                if had_cert {
                    a.issued += 1;
                }
                a.set_credentials(cert, bundle.clone());
                // An expired certificate is past its rotation time: the agent tries at once.
                if had_cert && !a.stalled {
                    a.next_csr = Some(now);
                }
            }
        }
        Ok(())
    }
}
