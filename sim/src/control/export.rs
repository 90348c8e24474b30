//! `meshsim certs`: every proxy's SDS `default` and `ROOTCA` written as the files a workload
//! would mount (`cert-chain.pem`, `key.pem`, `root-cert.pem`).

use std::io;
use std::path::{Path, PathBuf};

use super::ControlPlane;
use crate::pki::write_workload_files;

/// What `export_proxy_files` did for one proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exported {
    /// Files written into this directory.
    Written(PathBuf),
    /// The proxy holds no certificate (SDS `default` is empty), so nothing was written.
    NoCertificate,
}

impl ControlPlane {
    /// Writes each proxy's files under `out/<proxy id>/` (`out/NS/WORKLOAD/`), in proxy order.
    pub fn export_proxy_files(&self, out: &Path) -> io::Result<Vec<(String, Exported)>> {
        let mut done = Vec::new();
        for proxy in self.proxies() {
            let (cert, bundle) = self.credentials(proxy);
            let result = match cert {
                Some(cert) => {
                    let dir = proxy
                        .split('/')
                        .filter(|part| !part.is_empty() && *part != "." && *part != "..")
                        .fold(out.to_path_buf(), |d, part| d.join(part));
                    write_workload_files(&dir, cert, bundle)?;
                    Exported::Written(dir)
                }
                None => Exported::NoCertificate,
            };
            done.push((proxy.to_string(), result));
        }
        Ok(done)
    }
}
