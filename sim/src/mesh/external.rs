//! Certificates from outside the mesh, for DestinationRule SIMPLE/MUTUAL: the client material a
//! `MUTUAL` rule names by file path, the "system roots" a SIMPLE/MUTUAL rule without
//! `caCertificates` verifies against, and the certificates of servers outside the mesh that
//! speak TLS (ServiceEntry hosts a rule originates TLS to). None chains to the mesh root, which
//! is the point: a STRICT server rejects such a client (`TLSV1_ALERT_UNKNOWN_CA`), such roots do
//! not verify a mesh server certificate, and a mesh client (`ISTIO_MUTUAL`) does not verify an
//! outside server.

use crate::vocab::SpiffeId;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::pki::{CertificateAuthority, KeyType, TrustBundle, WorkloadCert};
use crate::policy::ServerRoots;
use crate::proxy::ClientMaterial;
use crate::SimTime;

/// The outside CA, built on first use (its RSA key costs a little).
#[derive(Debug, Default)]
pub(super) struct ExternalPki {
    ca: Option<CertificateAuthority>,
    /// Server certificates by host, reissued when the mesh's time leaves their validity.
    servers: BTreeMap<String, WorkloadCert>,
}

impl ExternalPki {
    fn ca(&mut self, seed: u64) -> Result<&mut CertificateAuthority, String> {
        if self.ca.is_none() {
            let ca = CertificateAuthority::self_signed(
                seed ^ 0x6578_7465_726e_616c,
                "external.example",
                SimTime::EPOCH,
            )
            .map_err(|e| format!("external CA: {e}"))?;
            self.ca = Some(ca);
        }
        Ok(self.ca.as_mut().expect("just built"))
    }

    /// The bundle a SIMPLE/MUTUAL rule verifies the server with ([`ServerRoots`], chosen by the
    /// policy layer): `None` when verification is off (`insecureSkipVerify`), the mesh bundle
    /// when `caCertificates` is the mesh root, the outside roots otherwise (Istio verifies
    /// against the OS roots when `caCertificates` is empty).
    pub(super) fn server_ca(
        &mut self,
        seed: u64,
        roots: ServerRoots,
        mesh_bundle: &TrustBundle,
    ) -> Result<Option<TrustBundle>, String> {
        match roots {
            ServerRoots::Unverified => Ok(None),
            ServerRoots::MeshBundle => Ok(Some(mesh_bundle.clone())),
            ServerRoots::Outside => Ok(Some(self.ca(seed)?.root_bundle())),
        }
    }

    /// The client certificate a MUTUAL rule's files hold: issued by the outside CA to the
    /// caller's identity, so only its issuer is wrong.
    pub(super) fn client_material(
        &mut self,
        seed: u64,
        identity: &SpiffeId,
        now: SimTime,
    ) -> Result<ClientMaterial, String> {
        let cert: WorkloadCert = self
            .ca(seed)?
            .issue_workload(
                identity,
                KeyType::EcdsaP256,
                Duration::from_secs(30 * 86400),
                now,
                "external-client",
            )
            .map_err(|e| format!("external client certificate: {e}"))?;
        Ok(ClientMaterial { cert })
    }

    /// The certificate a server outside the mesh presents for `host`: issued by the outside CA
    /// to the DNS name, valid for 90 days (a public CA's usual lifetime) from when it was first
    /// needed.
    pub(super) fn server_certificate(
        &mut self,
        seed: u64,
        host: &str,
        now: SimTime,
    ) -> Result<WorkloadCert, String> {
        if let Some(cert) = self.servers.get(host) {
            if cert.not_before <= now && now <= cert.not_after {
                return Ok(cert.clone());
            }
        }
        let cert = self
            .ca(seed)?
            .issue_server(
                host,
                KeyType::EcdsaP256,
                Duration::from_secs(90 * 86400),
                now,
            )
            .map_err(|e| format!("certificate of the server {host}: {e}"))?;
        self.servers.insert(host.to_string(), cert.clone());
        Ok(cert)
    }
}
