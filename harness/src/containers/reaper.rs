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

use super::engine::{label_filter, owner_alive, OWNER_LABEL, RUN_LABEL};

/// Removes every container, then every volume and network, labelled `wcc.run=<run>`. Returns how
/// many containers were removed.
pub(crate) async fn remove_run(docker: &Docker, run: &str) -> usize {
    let filter = label_filter(&[(RUN_LABEL, Some(run))]);
    remove_matching(docker, &filter, |_| true)
        .await
        .containers
        .len()
}

/// The names of what a sweep removed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Removed {
    pub(crate) containers: Vec<String>,
    pub(crate) networks: Vec<String>,
    pub(crate) volumes: Vec<String>,
}

async fn remove_matching(
    docker: &Docker,
    filter: &std::collections::HashMap<String, Vec<String>>,
    doomed: impl Fn(&std::collections::HashMap<String, String>) -> bool,
) -> Removed {
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(filter)
        .build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .unwrap_or_default();
    // (id, name without the leading '/')
    let doomed_containers: Vec<(String, String)> = containers
        .into_iter()
        .filter(|c| doomed(&c.labels.clone().unwrap_or_default()))
        .filter_map(|c| {
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string());
            let id = c.id?;
            Some((id.clone(), name.unwrap_or(id)))
        })
        .collect();
    let removed_containers = join_all(doomed_containers.into_iter().map(|(id, name)| async move {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        docker
            .remove_container(&id, Some(options))
            .await
            .ok()
            .map(|()| name)
    }))
    .await
    .into_iter()
    .flatten()
    .collect();

    let options = ListVolumesOptionsBuilder::new().filters(filter).build();
    let volumes = docker
        .list_volumes(Some(options))
        .await
        .ok()
        .and_then(|v| v.volumes)
        .unwrap_or_default();
    let removed_volumes = join_all(volumes.iter().filter(|v| doomed(&v.labels)).map(|v| async {
        docker
            .remove_volume(&v.name, None::<RemoveVolumeOptions>)
            .await
            .ok()
            .map(|()| v.name.clone())
    }))
    .await
    .into_iter()
    .flatten()
    .collect();

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
    let removed_networks = join_all(
        names
            .iter()
            .map(|n| async move { docker.remove_network(n).await.ok().map(|()| n.clone()) }),
    )
    .await
    .into_iter()
    .flatten()
    .collect();
    Removed {
        containers: removed_containers,
        networks: removed_networks,
        volumes: removed_volumes,
    }
}

/// Removes what runs of dead owners left. Returns how many containers were removed.
pub(crate) async fn sweep(docker: &Docker) -> usize {
    sweep_dead_owners(docker).await.containers.len()
}

async fn sweep_dead_owners(docker: &Docker) -> Removed {
    let filter = label_filter(&[(OWNER_LABEL, None)]);
    remove_matching(docker, &filter, |labels| {
        labels
            .get(OWNER_LABEL)
            .is_none_or(|owner| !owner_alive(owner))
    })
    .await
}

/// Removes what runs of dead owners left, from synchronous code (a thread with its own runtime);
/// the names of what was removed, or why the engine was not checked.
pub(crate) fn sweep_detailed() -> Result<Removed, String> {
    super::engine::availability()?;
    std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start an async runtime: {e}"))?;
        runtime.block_on(async {
            let docker = super::engine::connect().await.map_err(|e| e.to_string())?;
            Ok(sweep_dead_owners(&docker).await)
        })
    })
    .join()
    .map_err(|_| "the Docker sweep panicked".to_string())?
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
