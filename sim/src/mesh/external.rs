//! Certificates from outside the mesh, for DestinationRule SIMPLE/MUTUAL: the client material a
//! `MUTUAL` rule names by file path, and the "system roots" a SIMPLE/MUTUAL rule without
//! `caCertificates` verifies against. Neither chains to the mesh root, which is the point: a
//! STRICT server rejects such a client (`TLSV1_ALERT_UNKNOWN_CA`) and such roots do not verify a
//! mesh server certificate.

use crate::vocab::SpiffeId;
use std::time::Duration;

use crate::pki::{CertificateAuthority, KeyType, TrustBundle, WorkloadCert};
use crate::policy::ServerRoots;
use crate::proxy::ClientMaterial;
use crate::SimTime;

/// The outside CA, built on first use (its RSA key costs a little).
#[derive(Debug, Default)]
pub(super) struct ExternalPki {
    ca: Option<CertificateAuthority>,
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
}
