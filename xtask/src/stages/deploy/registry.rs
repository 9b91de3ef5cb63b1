//! Images to a registry, for a cluster that pulls (`deploy --registry HOST/PATH`): the images
//! the build stage made in the local Docker daemon are tagged `<registry>/<name>:<tag>` and
//! pushed, unless the registry has that tag already (the tag is a content digest, so a tag the
//! registry has is the same image).

use std::time::Duration;

use anyhow::Result;

use crate::error::failure;
use crate::run::{Call, Runner};

/// Does the registry have `remote`? (`docker manifest inspect`, read-only.)
pub fn has(r: &Runner, remote: &str) -> Result<bool> {
    let out = r.run(
        &Call::new("docker")
            .args(["manifest", "inspect", remote])
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(60)),
    )?;
    Ok(out.code == 0)
}

/// Is `image` in the local daemon?
pub fn local(r: &Runner, image: &str) -> Result<bool> {
    let out = r.run(
        &Call::new("docker")
            .args(["image", "inspect", image, "--format", "{{.Id}}"])
            .ok_codes(&[0, 1])
            .timeout(Duration::from_secs(30)),
    )?;
    Ok(out.code == 0)
}

/// `docker tag LOCAL REMOTE` and `docker push REMOTE`.
pub fn push(r: &Runner, local_image: &str, remote: &str) -> Result<()> {
    if !r.dry_run() && !local(r, local_image)? {
        return Err(failure(
            format!("{local_image} is not in the local Docker daemon, so it cannot be pushed"),
            "build it there first: `cargo xtask build --no-cluster`, then deploy again",
        ));
    }
    r.run(
        &Call::new("docker")
            .args(["tag", local_image, remote])
            .mutating(),
    )?;
    r.run(
        &Call::new("docker")
            .args(["push", remote])
            .mutating()
            .timeout(Duration::from_secs(1800))
            .hint(format!(
                "log in to the registry first (`docker login {}`), and check that the path exists",
                remote.split('/').next().unwrap_or(remote)
            )),
    )?;
    Ok(())
}
