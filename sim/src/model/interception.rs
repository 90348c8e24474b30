//! Which connections a pod's sidecar sees: the `traffic.sidecar.istio.io/*` pod annotations that
//! the injection template (`manifests/charts/istio-control/istio-discovery/files/injection-template.yaml`)
//! turns into `istio-iptables` flags (`-b`/`-d` inbound ports, `-i`/`-x` outbound IP ranges,
//! `-q`/`-o` outbound ports), and the rules `istio-iptables` programs from them
//! (`tools/istio-iptables/pkg/capture/run.go`: `handleInboundPortsInclude`, `Run`,
//! `handleOutboundPortsInclude`, `handleOutboundIncludeRules`). Istio 1.22–1.28 alike.
//!
//! Values are checked as the sidecar injector checks them before it renders the template
//! (`validateAnnotations` in `pkg/kube/inject/validate.go`): a malformed one makes the webhook
//! refuse the pod, so meshsim refuses to load it. `includeOutboundPorts` is not checked there;
//! `istio-iptables` hands it to iptables, which rejects a bad port and fails `istio-init`, so the
//! pod never runs: also a load error.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

/// `traffic.sidecar.istio.io/includeInboundPorts` (default `*`).
pub(crate) const INCLUDE_INBOUND_PORTS: &str = "traffic.sidecar.istio.io/includeInboundPorts";
/// `traffic.sidecar.istio.io/excludeInboundPorts`.
pub(crate) const EXCLUDE_INBOUND_PORTS: &str = "traffic.sidecar.istio.io/excludeInboundPorts";
/// `traffic.sidecar.istio.io/includeOutboundIPRanges` (default `*`).
pub(crate) const INCLUDE_OUTBOUND_IP_RANGES: &str =
    "traffic.sidecar.istio.io/includeOutboundIPRanges";
/// `traffic.sidecar.istio.io/excludeOutboundIPRanges`.
pub(crate) const EXCLUDE_OUTBOUND_IP_RANGES: &str =
    "traffic.sidecar.istio.io/excludeOutboundIPRanges";
/// `traffic.sidecar.istio.io/includeOutboundPorts`.
pub(crate) const INCLUDE_OUTBOUND_PORTS: &str = "traffic.sidecar.istio.io/includeOutboundPorts";
/// `traffic.sidecar.istio.io/excludeOutboundPorts`.
pub(crate) const EXCLUDE_OUTBOUND_PORTS: &str = "traffic.sidecar.istio.io/excludeOutboundPorts";
/// `status.sidecar.istio.io/port` (default 15020), always excluded from inbound capture.
pub(crate) const STATUS_PORT: &str = "status.sidecar.istio.io/port";

/// The outbound annotations, for a remedy that restores full outbound capture.
pub(crate) const OUTBOUND_ANNOTATIONS: [&str; 4] = [
    INCLUDE_OUTBOUND_IP_RANGES,
    EXCLUDE_OUTBOUND_IP_RANGES,
    INCLUDE_OUTBOUND_PORTS,
    EXCLUDE_OUTBOUND_PORTS,
];

/// Envoy's Prometheus (15090) and health (15021) ports, which the template always passes to
/// `-d`, before the status port.
const ALWAYS_EXCLUDED_INBOUND: [u16; 2] = [15090, 15021];
const DEFAULT_STATUS_PORT: u16 = 15020;

/// An include list of ports: `*` (every port) or the ports written (possibly none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortList {
    /// `*`.
    All,
    /// The listed ports; empty means none.
    Ports(BTreeSet<u16>),
}

impl PortList {
    fn contains(&self, port: u16) -> bool {
        match self {
            PortList::All => true,
            PortList::Ports(p) => p.contains(&port),
        }
    }
}

/// An IP prefix as Go's `netip.ParsePrefix` reads it (`10.96.0.0/12`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    /// The address as written (host bits may be set).
    pub addr: IpAddr,
    /// The prefix length.
    pub len: u8,
}

impl Cidr {
    /// Parses `ADDR/LEN` exactly (no spaces, a prefix length without leading zeros).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, len) = text.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        if len.is_empty() || (len.len() > 1 && len.starts_with('0')) {
            return None;
        }
        let len: u8 = len.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (len <= max).then_some(Cidr { addr, len })
    }

    /// Whether `ip` is inside the prefix (never across address families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// `includeOutboundIPRanges`: `*` (everything) or the prefixes written (possibly none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpRanges {
    /// `*`.
    All,
    /// The listed prefixes; empty means none.
    Cidrs(Vec<Cidr>),
}

/// A pod's traffic capture, as `istio-iptables` programs it from the annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interception {
    /// `includeInboundPorts` (`-b`), default `*`.
    pub include_inbound_ports: PortList,
    /// `excludeInboundPorts` plus 15090, 15021 and the status port (`-d`).
    pub exclude_inbound_ports: BTreeSet<u16>,
    /// `includeOutboundIPRanges` (`-i`), default `*`.
    pub include_outbound_ip_ranges: IpRanges,
    /// `excludeOutboundIPRanges` (`-x`).
    pub exclude_outbound_ip_ranges: Vec<Cidr>,
    /// `includeOutboundPorts` (`-q`): captured whatever the IP ranges say.
    pub include_outbound_ports: BTreeSet<u16>,
    /// `excludeOutboundPorts` (`-o`).
    pub exclude_outbound_ports: BTreeSet<u16>,
}

impl Default for Interception {
    /// The default install: every inbound port but Istio's own, every outbound address.
    fn default() -> Self {
        Interception {
            include_inbound_ports: PortList::All,
            exclude_inbound_ports: ALWAYS_EXCLUDED_INBOUND
                .into_iter()
                .chain([DEFAULT_STATUS_PORT])
                .collect(),
            include_outbound_ip_ranges: IpRanges::All,
            exclude_outbound_ip_ranges: Vec::new(),
            include_outbound_ports: BTreeSet::new(),
            exclude_outbound_ports: BTreeSet::new(),
        }
    }
}

/// Why a pod's interception annotations cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterceptionError {
    /// The injector's `parsePorts`/`parsePort` rejects an entry of a port list.
    Port {
        /// The annotation.
        annotation: &'static str,
        /// Its whole value.
        value: String,
        /// The entry that is not a port.
        entry: String,
    },
    /// The injector's `validateCIDRList` (`netip.ParsePrefix`) rejects an entry.
    Cidr {
        /// The annotation.
        annotation: &'static str,
        /// Its whole value.
        value: String,
        /// The entry that is not a prefix.
        entry: String,
    },
    /// `istio-iptables` hands an `includeOutboundPorts` entry to iptables, which rejects it.
    IptablesPort {
        /// Its whole value.
        value: String,
        /// The entry iptables rejects.
        entry: String,
    },
}

impl fmt::Display for InterceptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterceptionError::Port {
                annotation,
                value,
                entry,
            } => write!(
                f,
                "invalid value '{value}' for annotation '{annotation}': {} invalid: failed parsing port '{entry}' (the sidecar injector refuses the pod)",
                short_name(annotation)
            ),
            InterceptionError::Cidr {
                annotation,
                value,
                entry,
            } => write!(
                f,
                "invalid value '{value}' for annotation '{annotation}': {} invalid: failed parsing cidr '{entry}' (the sidecar injector refuses the pod)",
                short_name(annotation)
            ),
            InterceptionError::IptablesPort { value, entry } => write!(
                f,
                "annotation '{INCLUDE_OUTBOUND_PORTS}' value '{value}': iptables rejects port '{entry}', so istio-init fails and the pod never starts"
            ),
        }
    }
}

impl std::error::Error for InterceptionError {}

impl InterceptionError {
    /// The annotation at fault.
    pub fn annotation(&self) -> &'static str {
        match self {
            InterceptionError::Port { annotation, .. }
            | InterceptionError::Cidr { annotation, .. } => annotation,
            InterceptionError::IptablesPort { .. } => INCLUDE_OUTBOUND_PORTS,
        }
    }
}

/// The name `validate.go` uses in its messages (`includeIPRanges`, `excludeInboundPorts`, ...).
fn short_name(annotation: &str) -> &'static str {
    match annotation {
        INCLUDE_INBOUND_PORTS => "includeInboundPorts",
        EXCLUDE_INBOUND_PORTS => "excludeInboundPorts",
        INCLUDE_OUTBOUND_IP_RANGES => "includeIPRanges",
        EXCLUDE_OUTBOUND_IP_RANGES => "excludeIPRanges",
        STATUS_PORT => "statusPort",
        _ => "excludeOutboundPorts",
    }
}

/// `parsePorts`: the whole value trimmed, then comma-separated entries, each trimmed and read as
/// a 16-bit unsigned number; an empty value is an empty list, an empty entry is an error.
fn parse_ports(annotation: &'static str, value: &str) -> Result<BTreeSet<u16>, InterceptionError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(BTreeSet::new());
    }
    trimmed
        .split(',')
        .map(|entry| {
            entry
                .trim()
                .parse::<u16>()
                .map_err(|_| InterceptionError::Port {
                    annotation,
                    value: value.to_string(),
                    entry: entry.to_string(),
                })
        })
        .collect()
}

/// `validateCIDRList`: comma-separated, untrimmed, each a prefix; an empty value is no prefix.
fn parse_cidrs(annotation: &'static str, value: &str) -> Result<Vec<Cidr>, InterceptionError> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|entry| {
            Cidr::parse(entry).ok_or_else(|| InterceptionError::Cidr {
                annotation,
                value: value.to_string(),
                entry: entry.to_string(),
            })
        })
        .collect()
}

impl Interception {
    /// Reads the annotations of a pod (template), as the injector validates them and the
    /// template passes them on (an absent annotation takes the install's default).
    pub fn from_annotations(
        annotations: &BTreeMap<String, String>,
    ) -> Result<Interception, InterceptionError> {
        let get = |name: &str| annotations.get(name).map(String::as_str);
        let mut out = Interception::default();
        if let Some(v) = get(INCLUDE_INBOUND_PORTS) {
            out.include_inbound_ports = if v == "*" {
                PortList::All
            } else {
                PortList::Ports(parse_ports(INCLUDE_INBOUND_PORTS, v)?)
            };
        }
        // excludeInboundPort (the template function) appends the status port, which the
        // injector validates as one port.
        let status = match get(STATUS_PORT) {
            Some(v) => {
                let port = v
                    .trim()
                    .parse::<u16>()
                    .map_err(|_| InterceptionError::Port {
                        annotation: STATUS_PORT,
                        value: v.to_string(),
                        entry: v.to_string(),
                    })?;
                (port != 0).then_some(port)
            }
            None => Some(DEFAULT_STATUS_PORT),
        };
        out.exclude_inbound_ports = ALWAYS_EXCLUDED_INBOUND.into_iter().chain(status).collect();
        if let Some(v) = get(EXCLUDE_INBOUND_PORTS) {
            out.exclude_inbound_ports
                .extend(parse_ports(EXCLUDE_INBOUND_PORTS, v)?);
        }
        if let Some(v) = get(INCLUDE_OUTBOUND_IP_RANGES) {
            out.include_outbound_ip_ranges = if v == "*" {
                IpRanges::All
            } else {
                IpRanges::Cidrs(parse_cidrs(INCLUDE_OUTBOUND_IP_RANGES, v)?)
            };
        }
        if let Some(v) = get(EXCLUDE_OUTBOUND_IP_RANGES) {
            out.exclude_outbound_ip_ranges = parse_cidrs(EXCLUDE_OUTBOUND_IP_RANGES, v)?;
        }
        if let Some(v) = get(EXCLUDE_OUTBOUND_PORTS) {
            out.exclude_outbound_ports = parse_ports(EXCLUDE_OUTBOUND_PORTS, v)?;
        }
        if let Some(v) = get(INCLUDE_OUTBOUND_PORTS) {
            // Not validated by the injector; `config.Split` drops empty entries and iptables
            // reads each as `--dport`.
            out.include_outbound_ports = v
                .split(',')
                .filter(|e| !e.is_empty())
                .map(|entry| {
                    entry
                        .trim()
                        .parse::<u16>()
                        .map_err(|_| InterceptionError::IptablesPort {
                            value: v.to_string(),
                            entry: entry.to_string(),
                        })
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(out)
    }

    /// Whether a connection arriving on container port `port` goes through the sidecar
    /// (`handleInboundPortsInclude`: `*` redirects all but the excluded ports; a list redirects
    /// only its ports, and exclusions do not apply to it; an empty list redirects nothing).
    pub fn captures_inbound(&self, port: u16) -> bool {
        match &self.include_inbound_ports {
            PortList::All => !self.exclude_inbound_ports.contains(&port),
            list => list.contains(port),
        }
    }

    /// Why inbound port `port` is not captured, in one line; `None` when it is.
    pub fn inbound_bypass(&self, port: u16) -> Option<String> {
        if self.captures_inbound(port) {
            return None;
        }
        Some(match &self.include_inbound_ports {
            PortList::All => format!("port {port} is in excludeInboundPorts"),
            PortList::Ports(p) if p.is_empty() => {
                "includeInboundPorts is empty: no inbound port is captured".to_string()
            }
            PortList::Ports(_) => format!("port {port} is not in includeInboundPorts"),
        })
    }

    /// Whether the application's connection to `ip:port` is redirected to the sidecar, in
    /// ISTIO_OUTPUT's order: excluded ports return, excluded ranges return, included ports
    /// redirect, then the included ranges (`*`: everything) redirect; the rest leaves directly.
    /// `ip` is only read when a range decides (`None`: an address meshsim does not know).
    pub fn outbound_bypass(&self, ip: Option<IpAddr>, port: u16) -> Option<String> {
        if self.exclude_outbound_ports.contains(&port) {
            return Some(format!("port {port} is in excludeOutboundPorts"));
        }
        if let Some(ip) = ip {
            if let Some(c) = self
                .exclude_outbound_ip_ranges
                .iter()
                .find(|c| c.contains(ip))
            {
                return Some(format!("{ip} is in excludeOutboundIPRanges ({c})"));
            }
        }
        if self.include_outbound_ports.contains(&port) {
            return None;
        }
        match &self.include_outbound_ip_ranges {
            IpRanges::All => None,
            IpRanges::Cidrs(c) if ip.is_some_and(|ip| c.iter().any(|c| c.contains(ip))) => None,
            IpRanges::Cidrs(c) if c.is_empty() => Some(
                "includeOutboundIPRanges is empty: no outbound address is captured".to_string(),
            ),
            IpRanges::Cidrs(_) => Some(format!(
                "{} is not in includeOutboundIPRanges",
                ip.map(|i| i.to_string())
                    .unwrap_or_else(|| "the address".into())
            )),
        }
    }

    /// Whether deciding an outbound connection needs its destination address (some range is set).
    pub fn reads_outbound_address(&self) -> bool {
        !self.exclude_outbound_ip_ranges.is_empty()
            || !matches!(self.include_outbound_ip_ranges, IpRanges::All)
    }
}
