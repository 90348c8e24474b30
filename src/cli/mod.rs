//! Argument definitions (clap derive) and dispatch. Exit codes: 0 all expectations hold, 1 an
//! expectation failed, 2 bad input or usage (clap's own usage errors exit 2 as well).

mod certs;
mod check;
mod config;
mod diagnose;
mod diff;
mod explain;
mod ls;
mod matrix;
mod matrix_filter;
mod matrix_json;
mod matrix_svg;
mod metrics;
mod output;
mod probe;
mod progress;
mod run;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use harness::Partition;
use sim::Fault;

/// Exit code: every expectation held.
pub(crate) const EXIT_OK: i32 = 0;
/// Exit code: an expectation failed (for `check`: an error-severity finding).
pub(crate) const EXIT_FAILED: i32 = 1;
/// Exit code: bad input or usage.
pub(crate) const EXIT_BAD_INPUT: i32 = 2;

const MAIN_EXAMPLES: &str = "\
Examples:
  meshsim run                                  run the embedded scenario library
  meshsim run scenarios/ --format junit --output report.xml
  meshsim probe -f scenarios/fixtures/ --from legacy/sleep --to httpbin.foo:8000
  meshsim probe -f scenarios/fixtures/ --from foo/sleep --to httpbin.foo:8000 --fault istiod-down
  meshsim explain -f scenarios/fixtures/ --from legacy/sleep --to httpbin.foo:8000
  meshsim matrix -f scenarios/fixtures/ --handshake --fault istiod-down --at 25h
  meshsim matrix -f scenarios/fixtures/ --format dot | dot -Tsvg > mesh.svg
  meshsim diff -f scenarios/fixtures/ --plus docs/examples/strict.yaml
  meshsim check -f tests/fixtures/istio-samples/ --format sarif > meshsim.sarif
  meshsim certs -f scenarios/fixtures/ --out certs/
  meshsim ls -f scenarios/fixtures/
  meshsim diagnose --resources cluster.yaml --access-log sleep.log --access-log httpbin.log
  meshsim metrics -f scenarios/fixtures/ --fault istiod-down --at 23h

Exit codes: 0 all expectations hold, 1 an expectation failed, 2 bad input or usage.";

/// Simulate Istio mutual TLS in one process: real certificates, real handshakes, Envoy-shaped
/// outcomes.
#[derive(Debug, Parser)]
#[command(name = "meshsim", version, after_help = MAIN_EXAMPLES)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run scenario files or folders (with no path: the embedded scenario library).
    Run(RunArgs),
    /// Send one request through a configuration and print its outcome and findings.
    Probe(ProbeArgs),
    /// Show the decision trace of one request: which resources decided each step, and why.
    Explain(ExplainArgs),
    /// Print the connectivity matrix: every workload to every service port.
    Matrix(MatrixArgs),
    /// Print the flows whose outcome changes between two configurations.
    Diff(DiffArgs),
    /// Report static findings: conflicts, overrides, selectors that match nothing, ...
    Check(CheckArgs),
    /// Write each workload's cert-chain.pem, key.pem and root-cert.pem.
    Certs(CertsArgs),
    /// List what a configuration holds: workloads (sidecar and why), Services, policies.
    Ls(LsArgs),
    /// Diagnose a real cluster's failing requests from what it exports, and replay them.
    Diagnose(DiagnoseArgs),
    /// Print every proxy's and istiod's Prometheus metrics at one virtual instant.
    Metrics(MetricsArgs),
}

/// Report formats of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RunFormat {
    /// One line per scenario, failures in detail, a totals line.
    Human,
    /// One JSON object with every scenario, step and outcome.
    Json,
    /// JUnit XML: a testsuite per file, a testcase per scenario.
    Junit,
}

/// Output formats of commands that print one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Readable text.
    Human,
    /// JSON.
    Json,
}

/// Output formats of `matrix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MatrixFormat {
    /// An aligned table, one row per flow.
    #[value(alias = "human")]
    Table,
    /// `{"flows": [...]}`.
    Json,
    /// Comma-separated values with a header row.
    Csv,
    /// A Graphviz digraph: workloads and service ports, edges coloured by outcome.
    Dot,
    /// An SVG grid: sources × destinations grouped by namespace, cells coloured by outcome.
    Svg,
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CheckFormat {
    /// Readable text.
    Human,
    /// `{"findings": [...]}`.
    Json,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
}

/// `check --fail-on`: the least severity that fails the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    /// Exit 1 when a finding has severity error.
    Error,
    /// Exit 1 when a finding has severity error or warning.
    Warning,
}

/// Application protocol of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProtocolArg {
    /// HTTP/1.1.
    Http,
    /// Raw TCP (the service echoes).
    Tcp,
}

const RUN_EXAMPLES: &str = "\
Examples:
  meshsim run                                      the embedded scenario library
  meshsim run scenarios/peer-authentication/      every scenario file in a folder
  meshsim run scenarios/baseline/strict-sidecar-to-sidecar-uses-mtls.yaml --format json
  meshsim run scenarios/ --filter strict --format junit --output junit.xml
  meshsim run scenarios/ --partition 2/4           the second of four CI shards
  meshsim run scenarios/control-plane/ --metrics-out metrics/ --metrics-interval 5m

A scenario file is a YAML file whose top level has `name:` or `steps:`; other YAML files in a
folder (fixtures) are skipped. Exit codes: 0 all pass, 1 an expectation failed, 2 bad input.";

/// `meshsim run`.
#[derive(Debug, Args)]
#[command(after_help = RUN_EXAMPLES)]
pub(crate) struct RunArgs {
    /// Scenario files or folders; with none, the scenario library embedded in this binary.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub release: ReleaseArg,
    /// Run only scenarios whose file path or name contains this text.
    #[arg(long, value_name = "SUBSTR")]
    pub filter: Option<String>,
    /// Run shard K of N (1-based) of the sorted, filtered list, like nextest's count:K/N.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<Partition>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = RunFormat::Human)]
    pub format: RunFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// List the selected scenarios instead of running them.
    #[arg(long)]
    pub list: bool,
    /// Also print the embedded library's loader warnings (its scenarios set unmodelled fields
    /// on purpose, so they are hidden by default; warnings of your own files always print).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Record each scenario's metrics into DIR: DIR/STEM/steps/NN.prom after every step and
    /// DIR/STEM/input_series.yaml (promtool `input_series`) sampled every --metrics-interval.
    #[arg(long, value_name = "DIR")]
    pub metrics_out: Option<PathBuf>,
    /// With --metrics-out: the sampling interval across clock moves.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = sim::clock::parse_duration, requires = "metrics_out")]
    pub metrics_interval: std::time::Duration,
    /// With --metrics-out: a promtool test file whose test groups are named after scenario file
    /// stems; written to DIR with each group's interval and input_series filled in (repeatable).
    #[arg(long, value_name = "FILE", requires = "metrics_out")]
    pub promtool_tests: Vec<PathBuf>,
}

const PROBE_EXAMPLES: &str = "\
Examples:
  meshsim probe -f scenarios/fixtures/ --from legacy/sleep --to httpbin.foo:8000 --path /headers
  meshsim probe -f scenarios/fixtures/ --from foo/sleep --to httpbin.foo:8000 --format json
  meshsim probe -f scenarios/fixtures/ --from foo/sleep --to httpbin:8000 --fault rotate-root
  meshsim probe -f scenarios/fixtures/ --from foo/sleep --to httpbin:8000 --fault istiod-down
  meshsim probe -f scenarios/fixtures/ --from foo/sleep --to httpbin:8000 --at 25h

-f takes files or folders of YAML (multi-document, `kind: List`), or a scenario file (e.g.
scenarios/certificates/expired-server-certificate.yaml), whose include/resources/mesh/faults
are then the configuration. Faults are applied at time zero; then
the clock advances by --at. Exit code 0 when the request was simulated (whatever its status),
2 on bad input.";

/// `meshsim probe`.
#[derive(Debug, Args)]
#[command(after_help = PROBE_EXAMPLES)]
pub(crate) struct ProbeArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

const EXPLAIN_EXAMPLES: &str = "\
Examples:
  meshsim explain -f scenarios/fixtures/ --from legacy/sleep --to httpbin.foo:8000
  meshsim explain -f scenarios/fixtures/ --from foo/sleep --to httpbin.foo:8000 --format json
  meshsim explain -f scenarios/fixtures/ --from foo/sleep --to httpbin:8000 --fault istiod-down

The trace is the analysis path's: for each step of the request flow (destination, source
sidecar, outbound TLS, inbound mTLS, authorization) the resources or defaults that decided it.
The observed outcome is the data path's, with --fault and --at applied as for probe; the
prediction assumes healthy certificates, so a fault can make the two differ. Exit code 0 when
the request was simulated, 2 on bad input.";

/// `meshsim explain`: the same arguments as `probe`.
#[derive(Debug, Args)]
#[command(after_help = EXPLAIN_EXAMPLES)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// The configuration a command reads: `-f` inputs, the Istio release, and `-n` for objects that
/// name no namespace.
#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// Files or folders of Kubernetes/Istio YAML, or a scenario file.
    #[arg(short = 'f', long = "file", value_name = "PATH", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub release: ReleaseArg,
    #[command(flatten)]
    pub namespace: NamespaceArg,
}

/// The configuration and the request shared by `probe` and `explain`.
#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The caller: NAMESPACE/WORKLOAD (a Deployment's or a Pod's name).
    #[arg(long, value_name = "NS/WL")]
    pub from: String,
    /// The destination as a client writes it: svc, svc.ns or svc.ns.svc.cluster.local, with :PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub to: String,
    /// HTTP path.
    #[arg(long, default_value = "/")]
    pub path: String,
    /// HTTP method.
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// Extra request header, "NAME: VALUE" (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Application protocol [default: the destination port's: tcp for a port Istio treats as
    /// TCP (tcp-*, mysql, port 3306...), http otherwise].
    #[arg(long, value_enum)]
    pub protocol: Option<ProtocolArg>,
    /// Inject a fault before the request: TYPE[:KEY=VALUE[,KEY=VALUE]...] (repeatable), e.g.
    /// expired-cert:workload=foo/httpbin, istiod-down, rotate-root:restart=foo/httpbin.
    #[arg(long = "fault", value_name = "SPEC", value_parser = harness::suggest::parse_fault_spec)]
    pub faults: Vec<Fault>,
    /// Advance the virtual clock by this much before the request (e.g. 25h, 30d).
    #[arg(long, value_name = "DURATION", value_parser = sim::clock::parse_duration)]
    pub at: Option<std::time::Duration>,
    /// Seed for every random choice of the mesh.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

const MATRIX_EXAMPLES: &str = "\
Examples:
  meshsim matrix -f scenarios/fixtures/
  meshsim matrix -f scenarios/fixtures/ --handshake --format json
  meshsim matrix -f scenarios/fixtures/ --format csv > flows.csv
  meshsim matrix -f scenarios/fixtures/ --format svg > matrix.svg
  meshsim matrix -f scenarios/fixtures/ --handshake --fault istiod-down --at 25h
  meshsim matrix -f scenarios/fixtures/ --from 'legacy/*' --only denied
  meshsim matrix -f scenarios/fixtures/ --summary

One flow per (workload with replicas, Service port). By default the analysis path predicts each
flow from the configuration alone; --handshake sends each through the data path (real
handshakes), where --fault and --at apply (they are rejected without --handshake). In dot and
svg output green is 2xx over mTLS, blue 2xx in plaintext, orange 403, red other failures.
--from/--to take `*` patterns; --summary counts flows by outcome and codes. Exit code 0 when the
matrix was computed, 2 on bad input.";

/// `meshsim matrix`.
#[derive(Debug, Args)]
#[command(after_help = MATRIX_EXAMPLES)]
pub(crate) struct MatrixArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Send every flow through the data path (real handshakes) instead of the analysis path.
    #[arg(long)]
    pub handshake: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = MatrixFormat::Table)]
    pub format: MatrixFormat,
    /// With --handshake: inject a fault first (repeatable), as for `probe`.
    #[arg(long = "fault", value_name = "SPEC", value_parser = harness::suggest::parse_fault_spec)]
    pub faults: Vec<Fault>,
    /// With --handshake: advance the virtual clock first (e.g. 25h).
    #[arg(long, value_name = "DURATION", value_parser = sim::clock::parse_duration)]
    pub at: Option<std::time::Duration>,
    /// Seed for every random choice of the mesh (with --handshake).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only flows from these sources: a NS/WORKLOAD pattern, `*` matching any run (foo/*).
    #[arg(long, value_name = "PATTERN")]
    pub from: Option<String>,
    /// Only flows to these Service ports: a SVC.NS:PORT pattern (httpbin.*:8000).
    #[arg(long, value_name = "PATTERN")]
    pub to: Option<String>,
    /// Only flows that succeed (allowed) or that do not (denied, for any reason).
    #[arg(long, value_enum)]
    pub only: Option<matrix_filter::Only>,
    /// Count the flows by outcome and codes instead of listing them (table or json).
    #[arg(long)]
    pub summary: bool,
}

const DIFF_EXAMPLES: &str = "\
Examples:
  meshsim diff -f scenarios/fixtures/ --against tests/fixtures/istio-samples/
  meshsim diff -f scenarios/fixtures/ --plus docs/examples/strict.yaml    base plus a change
  meshsim diff -f scenarios/fixtures/ --plus docs/examples/strict.yaml --exit-code
  meshsim diff -f scenarios/fixtures/ --plus docs/examples/strict.yaml --handshake --format json

Compares the connectivity matrix of the old configuration (-f) with the new one: --against NEW
(a whole configuration), or --plus CHANGE (-f's configuration with CHANGE applied on top as
kubectl apply does: same kind, namespace and name replaced). Prints flows whose status, mtls or
codes change, and flows that appear or disappear, then the changes grouped: breaks (success to
failure) apart from fixes, by cause code and source namespace. The exit code is 0 whenever both
configurations load, changes or not, unless --exit-code (then 1 when any flow changes, like
git diff --exit-code); 2 on bad input.";

/// `meshsim diff`.
#[derive(Debug, Args)]
#[command(after_help = DIFF_EXAMPLES)]
pub(crate) struct DiffArgs {
    /// The old configuration: files or folders of YAML.
    #[arg(short = 'f', long = "file", value_name = "OLD", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// The new configuration: files or folders of YAML.
    #[arg(long, value_name = "NEW", num_args = 1.., required_unless_present = "plus", conflicts_with = "plus")]
    pub against: Vec<PathBuf>,
    /// A change applied on top of -f's configuration, as kubectl apply (same kind, namespace and
    /// name replaced): the new configuration is base plus change.
    #[arg(long, value_name = "CHANGE", num_args = 1..)]
    pub plus: Vec<PathBuf>,
    /// Exit 1 when any flow changes (like git diff --exit-code), 0 when none does.
    #[arg(long)]
    pub exit_code: bool,
    #[command(flatten)]
    pub release: ReleaseArg,
    #[command(flatten)]
    pub namespace: NamespaceArg,
    /// Compare data-path outcomes (real handshakes) instead of the analysis path.
    #[arg(long)]
    pub handshake: bool,
    /// Output format (json: {"changes": [{"from", "to", "before", "after"}]}).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Seed for every random choice of the meshes (with --handshake).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

const CHECK_EXAMPLES: &str = "\
Examples:
  meshsim check -f scenarios/fixtures/
  meshsim check -f scenarios/fixtures/ --format json
  meshsim check -f tests/fixtures/istio-samples/ --format sarif > meshsim.sarif
  meshsim check -f tests/fixtures/istio-samples/ --fail-on warning
  meshsim check -n foo -f tests/fixtures/istio-samples/httpbin.yaml

Findings come from the configuration alone: PeerAuthentication conflicts, selectors that match
nothing, STRICT overridden below the mesh, DestinationRules whose host or subsets match nothing,
DestinationRule TLS that breaks flows, loader warnings (unknown fields, skipped kinds, replaced
objects). SARIF results point at the file and line of the resource the evidence names. Exit code
0 when no finding reaches --fail-on (default error), 1 when one does, 2 on bad input (every file
that cannot be loaded is listed).";

/// `meshsim check`.
#[derive(Debug, Args)]
#[command(after_help = CHECK_EXAMPLES)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Exit 1 when a finding has this severity or a higher one.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
}

const CERTS_EXAMPLES: &str = "\
Examples:
  meshsim certs -f scenarios/fixtures/ --out certs/
  openssl verify -CAfile certs/foo/httpbin/root-cert.pem certs/foo/httpbin/cert-chain.pem
  meshsim certs -f scenarios/fixtures/ --out certs/ --fault rotate-root --at 13h

Writes DIR/NAMESPACE/WORKLOAD/cert-chain.pem, key.pem (mode 0600) and root-cert.pem for every
proxy, as istio-agent would hand them to Envoy over SDS (`default` and `ROOTCA`). A proxy that
holds no certificate (e.g. istiod down at start) is listed and skipped. Exit code 0 when the
files were written, 2 on bad input or when a file cannot be written.";

/// `meshsim certs`.
#[derive(Debug, Args)]
#[command(after_help = CERTS_EXAMPLES)]
pub(crate) struct CertsArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Directory to write NAMESPACE/WORKLOAD/{cert-chain,key,root-cert}.pem into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Inject a fault first (repeatable), as for `probe`.
    #[arg(long = "fault", value_name = "SPEC", value_parser = harness::suggest::parse_fault_spec)]
    pub faults: Vec<Fault>,
    /// Advance the virtual clock first (e.g. 13h).
    #[arg(long, value_name = "DURATION", value_parser = sim::clock::parse_duration)]
    pub at: Option<std::time::Duration>,
    /// Seed for every random choice of the mesh.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

const LS_EXAMPLES: &str = "\
Examples:
  meshsim ls -f scenarios/fixtures/
  meshsim ls -n foo -f tests/fixtures/istio-samples/httpbin.yaml --format json

Lists what meshsim read: each workload with its replicas, service account, and whether it gets
a sidecar and why (the namespace or pod label that decided); each Service with its ports,
selector and the workloads behind it; each PeerAuthentication, DestinationRule and
AuthorizationPolicy with whom it applies to and what it sets. Exit code 0 when the
configuration loads, 2 on bad input.";

/// `meshsim ls`.
#[derive(Debug, Args)]
#[command(after_help = LS_EXAMPLES)]
pub(crate) struct LsArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

const DIAGNOSE_EXAMPLES: &str = "\
Examples:
  meshsim diagnose --resources cluster.yaml --access-log sleep.log --access-log httpbin.log
  meshsim diagnose --resources dump/ --access-log s.log --secret sleep-5b7f9-qz7tm.foo=s.json
  meshsim diagnose --resources dump/ --access-log s.log --from foo/sleep --to httpbin.foo:8000
  meshsim diagnose --resources cluster.yaml --istiod-log istiod.log --at 2026-03-10T08:00:00Z

On the cluster: `kubectl get ns,sa,svc,deploy,rs,pod,endpoints,cm,peerauthentication,
destinationrule,authorizationpolicy -A -o yaml > cluster.yaml`, `istioctl proxy-config secret
POD.NAMESPACE -o json > sleep.json` and `kubectl logs POD -c istio-proxy > sleep.log` for the pods
involved, `kubectl logs -n istio-system deploy/istiod > istiod.log` (docs/real-clusters.md).
Without --from/--to every failing request the access logs show is diagnosed (pods are matched
by IP against the dump's pods). Each flow is then replayed in the simulator: the mesh rebuilt
from the dump at the incident time, each proxy holding a twin of the certificates its secret
dump shows (same names, SANs and validity, simulated keys). The replay says whether it shows the
logged symptom, then applies the first finding's remedy and sends the flow again. Exit code 0
when diagnosed (whatever was found), 2 on bad input (stderr names the file, the line and what
was expected).";

/// `meshsim diagnose`.
#[derive(Debug, Args)]
#[command(after_help = DIAGNOSE_EXAMPLES)]
pub(crate) struct DiagnoseArgs {
    /// `kubectl get ... -A -o yaml` output (kind: List): files or folders.
    #[arg(long, value_name = "PATH", required = true, num_args = 1..)]
    pub resources: Vec<PathBuf>,
    /// `istioctl proxy-config secret POD.NAMESPACE -o json` output, as POD.NAMESPACE=FILE
    /// (repeatable).
    #[arg(long = "secret", value_name = "POD.NAMESPACE=FILE")]
    pub secrets: Vec<String>,
    /// `kubectl logs POD -c istio-proxy` output: Istio's default text or JSON access log, mixed
    /// with Envoy's and istio-agent's own lines (repeatable).
    #[arg(long = "access-log", value_name = "FILE")]
    pub access_logs: Vec<PathBuf>,
    /// `kubectl logs -n istio-system deploy/istiod` output (repeatable).
    #[arg(long = "istiod-log", value_name = "FILE")]
    pub istiod_logs: Vec<PathBuf>,
    /// The incident time, RFC 3339 [default: the newest timestamp in the logs].
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// Diagnose only this caller (with --to): NAMESPACE/WORKLOAD.
    #[arg(long, value_name = "NS/WORKLOAD", requires = "to")]
    pub from: Option<String>,
    /// Diagnose only this destination (with --from): HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", requires = "from")]
    pub to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Seed for the replay's simulated keys.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

const METRICS_EXAMPLES: &str = "\
Examples:
  meshsim metrics -f scenarios/fixtures/
  meshsim metrics -f scenarios/fixtures/ --fault istiod-down --at 23h
  meshsim metrics -f scenarios/fixtures/ --fault csr-rate-limit:per_second=1

Prints the Prometheus text format (0.0.4) of istiod's CA metrics, each istio-agent's CSR counters
and certificate expiry, each sidecar's Envoy TLS stats and Istio's standard metrics, as Istio and
Envoy name them (docs/metrics.md), after the faults at time zero and the clock moved by --at.
Every series carries the target labels namespace and pod. No request is sent, so the traffic
counters appear in `run --metrics-out` recordings. Exit code 0 when printed, 2 on bad input.";

/// `meshsim metrics`.
#[derive(Debug, Args)]
#[command(after_help = METRICS_EXAMPLES)]
pub(crate) struct MetricsArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Inject a fault first (repeatable), as for `probe`.
    #[arg(long = "fault", value_name = "SPEC", value_parser = harness::suggest::parse_fault_spec)]
    pub faults: Vec<Fault>,
    /// Advance the virtual clock first (e.g. 23h).
    #[arg(long, value_name = "DURATION", value_parser = sim::clock::parse_duration)]
    pub at: Option<std::time::Duration>,
    /// Seed for every random choice of the mesh.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `-n/--namespace`, shared by every command that reads `-f`.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct NamespaceArg {
    /// The namespace of objects in -f manifests that name none, as `kubectl apply -n` takes it:
    /// an object naming another namespace is then an error [default: default]. A scenario
    /// file's own objects and includes are not affected.
    #[arg(short = 'n', long = "namespace", value_name = "NS", value_parser = parse_namespace)]
    pub namespace: Option<String>,
}

/// A namespace name as the API server accepts it: a lowercase DNS-1123 label.
fn parse_namespace(text: &str) -> Result<String, String> {
    if sim::vocab::is_dns1123_label(text) && !text.bytes().any(|b| b.is_ascii_uppercase()) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a namespace name: a lowercase DNS-1123 label (1-63 of a-z, 0-9 and \
             `-`, alphanumeric at both ends)"
        ))
    }
}

/// `--istio-version`, shared by every command that builds a mesh.
#[derive(Debug, Clone, Copy, Default, Args)]
pub(crate) struct ReleaseArg {
    /// The Istio release whose rules to follow: 1.22 to 1.28 [default: the configuration's
    /// `mesh: {istioVersion: ...}`, else 1.28]. Given, it wins over a scenario file's; for `run`
    /// it applies to the scenarios that do not set one.
    #[arg(long = "istio-version", value_name = "X.Y")]
    pub istio_version: Option<sim::vocab::IstioRelease>,
}

/// Runs the chosen subcommand and returns the process exit code.
pub(crate) fn dispatch(cli: Cli) -> i32 {
    match cli.command {
        Command::Run(a) => run::run(a),
        Command::Probe(a) => probe::probe(a),
        Command::Explain(a) => explain::explain(a),
        Command::Matrix(a) => matrix::matrix(a),
        Command::Diff(a) => diff::diff(a),
        Command::Check(a) => check::check(a),
        Command::Certs(a) => certs::certs(a),
        Command::Ls(a) => ls::ls(a),
        Command::Diagnose(a) => diagnose::diagnose_cmd(a),
        Command::Metrics(a) => metrics::metrics(a),
    }
}
