//! `meshsim certs`: each proxy's SDS `default` certificate chain and key and its `ROOTCA` bundle,
//! written as the files istio-agent serves Envoy (`cert-chain.pem`, `key.pem`, `root-cert.pem`).

use sim::control::Exported;

use sim::clock::SimTime;

use super::config::build_mesh_from;
use super::output::emit_then;
use super::{CertsArgs, EXIT_BAD_INPUT, EXIT_OK};

/// Runs `meshsim certs` and returns the exit code.
pub(super) fn certs(args: CertsArgs) -> i32 {
    let exported = args.config.load().and_then(|(resources, mut faults)| {
        faults.extend(args.faults.iter().cloned());
        let mesh = build_mesh_from(
            "certs",
            resources,
            &faults,
            args.seed,
            args.at,
            start_time(args.at.is_some()),
        )?;
        mesh.control().export_proxy_files(&args.out).map_err(|e| {
            format!(
                "meshsim certs: cannot write under {}: {e}",
                args.out.display()
            )
        })
    });
    let exported = match exported {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    emit_then("certs", &report(&exported), None, EXIT_OK)
}

/// Where the clock starts: the wall-clock time (whole seconds), so the files are valid when
/// `openssl verify` or a test reads them; with `--at` the fixed epoch, so a time-travelled
/// export is reproducible. The sim library never reads the wall clock; this is the one place
/// the CLI hands it in.
fn start_time(at_given: bool) -> SimTime {
    if at_given {
        return SimTime::EPOCH;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(SimTime::EPOCH, |d| SimTime(d.as_secs()))
}

fn report(exported: &[(String, Exported)]) -> String {
    let mut s = String::new();
    let mut written = 0;
    for (proxy, what) in exported {
        match what {
            Exported::Written(dir) => {
                written += 1;
                let dir = dir.to_string_lossy().replace('\\', "/");
                let dir = dir.trim_end_matches('/');
                s.push_str(&format!(
                    "{proxy}: wrote {dir}/{{cert-chain.pem,key.pem (0600),root-cert.pem}}\n"
                ));
            }
            Exported::NoCertificate => s.push_str(&format!(
                "{proxy}: no certificate (SDS `default` is empty), nothing written\n"
            )),
        }
    }
    s.push_str(&format!(
        "{} proxy(ies): {written} written, {} without a certificate\n",
        exported.len(),
        exported.len() - written
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn report_lists_written_and_skipped_proxies() {
        let text = report(&[
            (
                "foo/httpbin".into(),
                Exported::Written(PathBuf::from("out/foo/httpbin")),
            ),
            ("foo/sleep".into(), Exported::NoCertificate),
        ]);
        assert_eq!(
            text,
            "foo/httpbin: wrote out/foo/httpbin/{cert-chain.pem,key.pem (0600),root-cert.pem}\n\
             foo/sleep: no certificate (SDS `default` is empty), nothing written\n\
             2 proxy(ies): 1 written, 1 without a certificate\n"
        );
    }
}
