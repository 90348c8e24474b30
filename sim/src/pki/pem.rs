//! PEM export: the three files a workload would have under `./etc/certs` (`cert-chain.pem`,
//! `key.pem`, `root-cert.pem`, `pkg/security/security.go` `DefaultCertChainFilePath`), so
//! openssl, curl or a real Envoy can use meshsim's certificates.

use std::fs;
use std::io;
use std::path::Path;

use super::{TrustBundle, WorkloadCert};

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One PEM block (`-----BEGIN <label>-----`, base64 in 64-column lines).
pub(crate) fn pem_block(label: &str, der: &[u8]) -> String {
    let body = base64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Concatenated `CERTIFICATE` blocks.
pub(crate) fn certs_pem<'a>(ders: impl IntoIterator<Item = &'a [u8]>) -> String {
    ders.into_iter()
        .map(|d| pem_block("CERTIFICATE", d))
        .collect()
}

impl WorkloadCert {
    /// `cert-chain.pem`: the leaf, then intermediates.
    pub fn chain_pem(&self) -> String {
        certs_pem(self.chain.iter().map(|c| c.as_ref()))
    }

    /// `key.pem`: the PKCS#8 private key.
    pub fn key_pem(&self) -> String {
        pem_block("PRIVATE KEY", &self.key_pkcs8)
    }
}

impl TrustBundle {
    /// `root-cert.pem`: every root, as `istio-ca-root-cert` holds them.
    pub fn to_pem(&self) -> String {
        certs_pem(self.roots.iter().map(|c| c.as_ref()))
    }
}

/// Writes `cert-chain.pem`, `key.pem` (mode 0600) and `root-cert.pem` into `dir`, creating it.
pub fn write_workload_files(
    dir: &Path,
    cert: &WorkloadCert,
    bundle: &TrustBundle,
) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join("cert-chain.pem"), cert.chain_pem())?;
    write_private(&dir.join("key.pem"), cert.key_pem().as_bytes())?;
    fs::write(dir.join("root-cert.pem"), bundle.to_pem())?;
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its old mode on open; make it private either way.
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(data)
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    fs::write(path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want, "{input}");
        }
    }
}
