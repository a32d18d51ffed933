//! Removes Docker resources of runs whose owner process is gone.
//!
//! Processes of a lattice die with the test process (`PR_SET_PDEATHSIG`); containers do not. Every
//! container, network and volume carries `wcc.run=<lattice>` and `wcc.owner=<pid>:<start time>`;
//! at each lattice start and exit whatever belongs to an owner that no longer runs is removed
//! (containers first, then volumes and networks).
use std::collections::BTreeSet;

use futures::future::join_all;
use testcontainers::bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptions,
};
use testcontainers::bollard::Docker;

use super::engine::{owner_alive, OWNER_LABEL, RUN_LABEL};
use super::lattice::label_filter;

/// Removes every container, then every volume and network, labelled `wcc.run=<run>`. Returns how
/// many containers were removed.
pub(crate) async fn remove_run(docker: &Docker, run: &str) -> usize {
    let filter = label_filter(&[(RUN_LABEL, Some(run))]);
    remove_matching(docker, &filter, |_| true).await
}

async fn remove_matching(
    docker: &Docker,
    filter: &std::collections::HashMap<String, Vec<String>>,
    doomed: impl Fn(&std::collections::HashMap<String, String>) -> bool,
) -> usize {
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(filter)
        .build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .unwrap_or_default();
    let ids: Vec<String> = containers
        .into_iter()
        .filter(|c| doomed(&c.labels.clone().unwrap_or_default()))
        .filter_map(|c| c.id)
        .collect();
    let removed = join_all(ids.iter().map(|id| async move {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        docker.remove_container(id, Some(options)).await.is_ok()
    }))
    .await
    .into_iter()
    .filter(|ok| *ok)
    .count();

    let options = ListVolumesOptionsBuilder::new().filters(filter).build();
    let volumes = docker
        .list_volumes(Some(options))
        .await
        .ok()
        .and_then(|v| v.volumes)
        .unwrap_or_default();
    join_all(
        volumes
            .iter()
            .filter(|v| doomed(&v.labels))
            .map(|v| docker.remove_volume(&v.name, None::<RemoveVolumeOptions>)),
    )
    .await;

    let options = ListNetworksOptionsBuilder::new().filters(filter).build();
    let networks = docker
        .list_networks(Some(options))
        .await
        .unwrap_or_default();
    let names: BTreeSet<String> = networks
        .into_iter()
        .filter(|n| doomed(&n.labels.clone().unwrap_or_default()))
        .filter_map(|n| n.name)
        .collect();
    join_all(names.iter().map(|n| docker.remove_network(n))).await;
    removed
}

/// Removes what runs of dead owners left. Returns how many containers were removed.
pub(crate) async fn sweep(docker: &Docker) -> usize {
    let filter = label_filter(&[(OWNER_LABEL, None)]);
    remove_matching(docker, &filter, |labels| {
        labels
            .get(OWNER_LABEL)
            .is_none_or(|owner| !owner_alive(owner))
    })
    .await
}

/// Removes the containers that runs of dead owners left (labels `wcc.owner`), from synchronous code (a
/// thread with its own runtime); returns how many; 0 when no engine answers.
pub fn sweep_blocking() -> usize {
    if super::engine::availability().is_err() {
        return 0;
    }
    std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async {
            let docker = super::engine::connect().await.ok()?;
            Some(sweep(&docker).await)
        })
    })
    .join()
    .ok()
    .flatten()
    .unwrap_or(0)
}
