//! Pod IPs: one deterministic address per workload, computed once per configuration so the data
//! path (which puts them on connections and access logs) and the analysis path (which feeds them
//! to `ipBlocks`) see the same address for the same pod.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use crate::model::Resources;

/// Each workload's pod IP: its position in namespace/name order inside `10.244.0.0/16`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodIps {
    /// By namespace, then name: a lookup borrows both (the data path and the matrix look
    /// addresses up per request and per flow).
    by_workload: BTreeMap<String, BTreeMap<String, IpAddr>>,
}

impl PodIps {
    /// The addresses for `res`.
    pub fn build(res: &Resources) -> PodIps {
        let mut ids: Vec<(String, String)> = res
            .workloads
            .iter()
            .map(|w| (w.meta.namespace.clone(), w.meta.name.clone()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut by_workload: BTreeMap<String, BTreeMap<String, IpAddr>> = BTreeMap::new();
        for (n, (namespace, name)) in ids.into_iter().enumerate() {
            let third = u8::try_from(n / 250).unwrap_or(u8::MAX);
            // n % 250 + 2 is at most 251.
            let fourth = u8::try_from(n % 250 + 2).unwrap_or(u8::MAX);
            by_workload
                .entry(namespace)
                .or_default()
                .insert(name, IpAddr::V4(Ipv4Addr::new(10, 244, third, fourth)));
        }
        PodIps { by_workload }
    }

    /// The pod IP of `namespace/name` (`0.0.0.0` for a workload the configuration lacks).
    pub fn get(&self, namespace: &str, name: &str) -> IpAddr {
        self.by_workload
            .get(namespace)
            .and_then(|by_name| by_name.get(name))
            .copied()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}
