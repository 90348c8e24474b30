//! The connectivity matrix through the data path (`matrix --handshake`): the analysis path's
//! flows, each sent as one real exchange on the mesh as it is now.

use super::{Mesh, MeshError};
use crate::analysis::{flow_requests, Analyzer, Flow};

/// The matrix through the data path: one real exchange per flow on `mesh` as it is now. Codes
/// still come from the configuration analysis of the mesh's current resources.
///
/// Memory stays flat with the number of flows: each flow is one (source, destination port)
/// pair, sent once, so no pooled connection could be reused by a later flow, and the pool is
/// emptied after each one instead of holding every flow's TLS connection to the end.
pub fn matrix_handshake(mesh: &mut Mesh) -> Result<Vec<Flow>, MeshError> {
    let res = mesh.resources().clone();
    let analyzer = Analyzer::new(&res);
    let mut flows = Vec::new();
    for req in flow_requests(&res) {
        let outcome = mesh
            .request(&req)?
            .into_first()
            .ok_or_else(|| MeshError("no outcome".into()))?;
        mesh.pool.clear();
        let codes = analyzer.predict(&req).map(|p| p.codes).unwrap_or_default();
        flows.push(Flow {
            from: req.from.to_string(),
            to: req.to.to_string(),
            status: outcome.status,
            mtls: outcome.mtls,
            response_flags: outcome.response_flags,
            tls_error: outcome.tls_error,
            codes,
        });
    }
    Ok(flows)
}
