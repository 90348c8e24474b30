//! The twin PKI a replay runs on: a cluster's secret dumps carry certificates but redacted
//! private keys, so each real certificate gets a simulated twin with the same subject, issuer
//! name, serial, validity and SANs, signed by the twin of the real certificate that signed it
//! (found by name and signature). Proxies then trust the twins of exactly the roots their
//! `ROOTCA` holds, and expiry, a rotated root, a SAN mismatch or a missing certificate replay
//! as they happened. Twin CA keys are P-256 (fast); a twin leaf keeps its real key type, which
//! TLS 1.2 cipher choice reads.

use std::collections::BTreeMap;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use super::ca::to_datetime;
use super::issue::{set_workload_leaf_usages, workload_leaf_params};
use super::keys::{generate_pkcs8, load_key_pair, KeyType};
use super::{fingerprint, key_type, PkiError, TrustBundle, WorkloadCert};
use crate::SimTime;

/// One twin CA: its certificate and what is needed to sign with it.
struct TwinCa {
    der: CertificateDer<'static>,
    params: CertificateParams,
    key_pkcs8: Vec<u8>,
}

/// Twins of every real certificate seen, keyed by the real certificate's SHA-256.
pub struct TwinPki {
    seed: u64,
    cas: BTreeMap<String, TwinCa>,
    /// Real CA certificates (roots and intermediates) by fingerprint, for issuer lookup.
    real_cas: BTreeMap<String, CertificateDer<'static>>,
    /// Twin roots made up for an issuer no dump shows (trusted by no proxy).
    orphans: BTreeMap<String, TwinCa>,
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, PkiError> {
    X509Certificate::from_der(der)
        .map(|(_, c)| c)
        .map_err(|e| PkiError::Parse(format!("not an X.509 certificate: {e}")))
}

/// The rcgen name with the same attributes (type by OID, value as text) in order.
fn same_name(name: &x509_parser::x509::X509Name<'_>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for attr in name.iter_attributes() {
        let oid: Vec<u64> = attr
            .attr_type()
            .iter()
            .map(|arcs| arcs.collect())
            .unwrap_or_default();
        if let Ok(value) = attr.as_str() {
            dn.push(DnType::from_oid(&oid), value);
        }
    }
    dn
}

/// Subject, serial and validity of `cert` as rcgen parameters.
fn same_params(cert: &X509Certificate<'_>) -> Result<CertificateParams, PkiError> {
    let mut p = CertificateParams::default();
    p.distinguished_name = same_name(cert.subject());
    p.serial_number = Some(SerialNumber::from_slice(cert.raw_serial()));
    let secs = |t: i64| SimTime(u64::try_from(t).unwrap_or(0));
    p.not_before = to_datetime(secs(cert.validity().not_before.timestamp()))?;
    p.not_after = to_datetime(secs(cert.validity().not_after.timestamp()))?;
    Ok(p)
}

fn ca_params(cert: &X509Certificate<'_>) -> Result<CertificateParams, PkiError> {
    let mut p = same_params(cert)?;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(p)
}

impl TwinCa {
    fn issuer(&self) -> Result<Issuer<'_, KeyPair>, PkiError> {
        let key = load_key_pair(KeyType::EcdsaP256, &self.key_pkcs8)?;
        Ok(Issuer::from_params(&self.params, key))
    }
}

impl TwinPki {
    /// Twins for every root and chain certificate of `dumps` (each a chain and its roots).
    pub fn build<'a>(
        seed: u64,
        dumps: impl IntoIterator<Item = (&'a [CertificateDer<'static>], &'a [CertificateDer<'static>])>,
    ) -> Result<TwinPki, PkiError> {
        let mut pki = TwinPki {
            seed,
            cas: BTreeMap::new(),
            real_cas: BTreeMap::new(),
            orphans: BTreeMap::new(),
        };
        let dumps: Vec<_> = dumps.into_iter().collect();
        for (chain, roots) in &dumps {
            for der in roots.iter().chain(chain.iter().skip(1)) {
                pki.real_cas.insert(fingerprint(der), der.clone());
            }
        }
        let fps: Vec<String> = pki.real_cas.keys().cloned().collect();
        for fp in fps {
            pki.twin_ca(&fp, 0)?;
        }
        Ok(pki)
    }

    /// The real CA certificate that issued `cert`: same name, and its key verifies the
    /// signature (a rotated root keeps its name); by name alone when none verifies.
    fn real_issuer(&self, cert: &X509Certificate<'_>) -> Option<String> {
        let by_name: Vec<(&String, X509Certificate<'_>)> = self
            .real_cas
            .iter()
            .filter_map(|(fp, der)| parse(der).ok().map(|c| (fp, c)))
            .filter(|(_, c)| c.subject().as_raw() == cert.issuer().as_raw())
            .collect();
        by_name
            .iter()
            .find(|(_, c)| cert.verify_signature(Some(c.public_key())).is_ok())
            .or(by_name.first())
            .map(|(fp, _)| (*fp).clone())
    }

    /// The twin of the real CA certificate with fingerprint `fp`, made on first use.
    fn twin_ca(&mut self, fp: &str, depth: usize) -> Result<(), PkiError> {
        if self.cas.contains_key(fp) {
            return Ok(());
        }
        let der = self
            .real_cas
            .get(fp)
            .cloned()
            .ok_or_else(|| PkiError::Certificate(format!("no real CA {fp}")))?;
        let cert = parse(&der)?;
        let params = ca_params(&cert)?;
        let key_pkcs8 = generate_pkcs8(KeyType::EcdsaP256, self.seed, &format!("twin-ca-{fp}"))?;
        let key = load_key_pair(KeyType::EcdsaP256, &key_pkcs8)?;
        let self_signed = cert.subject().as_raw() == cert.issuer().as_raw()
            && cert.verify_signature(None).is_ok();
        let twin_der = if self_signed || depth > 8 {
            params.self_signed(&key)
        } else {
            let issuer_fp = self.issuer_twin(&cert, depth)?;
            let issuer = self.ca(&issuer_fp).issuer()?;
            params.signed_by(&key, &issuer)
        }
        .map_err(|e| PkiError::Certificate(format!("twin of [{}]: {e}", cert.subject())))?
        .der()
        .clone();
        self.cas.insert(
            fp.to_string(),
            TwinCa {
                der: twin_der,
                params,
                key_pkcs8,
            },
        );
        Ok(())
    }

    /// The key under which the twin of `cert`'s issuer is stored: a real CA's fingerprint, or
    /// `orphan:<issuer name>` for an issuer no dump shows.
    fn issuer_twin(
        &mut self,
        cert: &X509Certificate<'_>,
        depth: usize,
    ) -> Result<String, PkiError> {
        if let Some(fp) = self.real_issuer(cert) {
            self.twin_ca(&fp, depth + 1)?;
            return Ok(fp);
        }
        let name = cert.issuer().to_string();
        let key = format!("orphan:{name}");
        if !self.orphans.contains_key(&key) {
            let mut params = ca_params(cert)?;
            params.distinguished_name = same_name(cert.issuer());
            let key_pkcs8 = generate_pkcs8(KeyType::EcdsaP256, self.seed, &key)?;
            let kp = load_key_pair(KeyType::EcdsaP256, &key_pkcs8)?;
            let der = params
                .self_signed(&kp)
                .map_err(|e| PkiError::Certificate(format!("twin of [{name}]: {e}")))?
                .der()
                .clone();
            self.orphans.insert(
                key.clone(),
                TwinCa {
                    der,
                    params,
                    key_pkcs8,
                },
            );
        }
        Ok(key)
    }

    fn ca(&self, key: &str) -> &TwinCa {
        self.cas
            .get(key)
            .or_else(|| self.orphans.get(key))
            .unwrap_or_else(|| unreachable!("twin {key} is made before use"))
    }

    /// The twins of `roots`, in order (a root without a twin is left out).
    pub fn bundle(&self, roots: &[CertificateDer<'static>]) -> TrustBundle {
        TrustBundle::from_roots(
            roots
                .iter()
                .filter_map(|r| self.cas.get(&fingerprint(r)).map(|t| t.der.clone()))
                .collect(),
        )
    }

    /// The twin of a proxy's real `chain`: the leaf with the same SANs, serial, validity and
    /// issuer name, signed by the twin of its issuer; intermediates replaced by their twins.
    /// `purpose` names the leaf's key (one per proxy).
    pub fn chain(
        &mut self,
        chain: &[CertificateDer<'static>],
        purpose: &str,
    ) -> Result<Option<WorkloadCert>, PkiError> {
        let Some(leaf_der) = chain.first() else {
            return Ok(None);
        };
        let leaf = parse(leaf_der)?;
        let mut params = same_params(&leaf)?;
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = leaf.subject_alternative_name() {
            for n in &ext.value.general_names {
                match n {
                    GeneralName::URI(u) => {
                        sans.push(SanType::URI((*u).to_string().try_into().map_err(|e| {
                            PkiError::Certificate(format!("URI SAN {u:?}: {e}"))
                        })?))
                    }
                    GeneralName::DNSName(d) => {
                        sans.push(SanType::DnsName((*d).to_string().try_into().map_err(
                            |e| PkiError::Certificate(format!("DNS SAN {d:?}: {e}")),
                        )?))
                    }
                    _ => {}
                }
            }
        }
        params.subject_alt_names = sans;
        set_workload_leaf_usages(&mut params);
        let kt = key_type(leaf_der).unwrap_or(KeyType::EcdsaP256);
        // One RSA key per process and seed: generating one costs about half a second.
        let key_purpose = match kt {
            KeyType::EcdsaP256 => format!("twin-leaf-{purpose}"),
            KeyType::Rsa2048 => "twin-leaf-rsa".to_string(),
        };
        let key_pkcs8 = generate_pkcs8(kt, self.seed, &key_purpose)?;
        let key = load_key_pair(kt, &key_pkcs8)?;
        let issuer_key = self.issuer_twin(&leaf, 0)?;
        let twin_leaf = {
            let issuer = self.ca(&issuer_key).issuer()?;
            params
                .signed_by(&key, &issuer)
                .map_err(|e| PkiError::Certificate(format!("twin workload certificate: {e}")))?
                .der()
                .clone()
        };
        let mut twin_chain = vec![twin_leaf];
        for inter in chain.iter().skip(1) {
            let fp = fingerprint(inter);
            self.twin_ca(&fp, 0)?;
            twin_chain.push(self.ca(&fp).der.clone());
        }
        let info = super::inspect(leaf_der)?;
        Ok(Some(WorkloadCert {
            chain: twin_chain,
            key_pkcs8,
            not_before: info.not_before,
            not_after: info.not_after,
            spiffe: info.spiffe,
        }))
    }
}

#[cfg(test)]
mod tests;

impl TwinPki {
    /// A healthy certificate for `spiffe` under the twin of `root` (valid from a minute before
    /// `at` for 24h): what a replay gives a proxy whose secrets were not shown, so it neither
    /// fails nor passes for reasons the artifacts do not show.
    pub fn assumed_healthy(
        &mut self,
        spiffe: &crate::vocab::SpiffeId,
        root: &CertificateDer<'static>,
        at: SimTime,
    ) -> Result<Option<WorkloadCert>, PkiError> {
        let fp = fingerprint(root);
        if !self.real_cas.contains_key(&fp) {
            return Ok(None);
        }
        self.twin_ca(&fp, 0)?;
        let uri = spiffe.to_string();
        let mut params = workload_leaf_params(SanType::URI(
            uri.clone()
                .try_into()
                .map_err(|e| PkiError::Certificate(format!("URI SAN {uri:?}: {e}")))?,
        ));
        let not_before = at.offset(-60);
        let not_after = at.plus(std::time::Duration::from_secs(86400));
        params.not_before = to_datetime(not_before)?;
        params.not_after = to_datetime(not_after)?;
        let key_pkcs8 = generate_pkcs8(
            KeyType::EcdsaP256,
            self.seed,
            &format!("twin-assumed-{uri}"),
        )?;
        let key = load_key_pair(KeyType::EcdsaP256, &key_pkcs8)?;
        let der = {
            let issuer = self.ca(&fp).issuer()?;
            params
                .signed_by(&key, &issuer)
                .map_err(|e| PkiError::Certificate(format!("assumed certificate: {e}")))?
                .der()
                .clone()
        };
        Ok(Some(WorkloadCert {
            chain: vec![der],
            key_pkcs8,
            not_before,
            not_after,
            spiffe: Some(spiffe.clone()),
        }))
    }
}
