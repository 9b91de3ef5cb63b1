//! Images to a registry, for a cluster that pulls (`deploy --registry HOST/PATH`): the images
//! the build stage made in the local Docker daemon are tagged `<registry>/<name>:<tag>` and
//! pushed, unless the registry has that tag already (the tag is a content digest, so a tag the
//! registry has is the same image).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;

use crate::ctx::Ctx;
use crate::error::failure;
use crate::project::images::desired_images;
use crate::run::{Call, Runner};

/// Image key → the reference the pods run (with the registry in front when one is set).
pub type References = BTreeMap<String, String>;
/// (local `name:tag`, registry reference) of each image the registry lacks.
pub type ToPush = Vec<(String, String)>;

impl super::DeployStage {
    /// The references the pods run and the images the registry lacks.
    pub(super) fn images(&self, cx: &Ctx) -> Result<(References, ToPush)> {
        let keys: Vec<(String, crate::config::Image)> = self
            .config
            .images
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let desired = desired_images(cx, &self.config, &keys)?;
        let mut images = BTreeMap::new();
        let mut to_push = Vec::new();
        for want in desired.images {
            let remote = self.image_ref(&want.image);
            if self.opts.registry.is_some() {
                let present = has(&cx.runner, &remote)?;
                cx.ui.detail(&format!("registry has {remote}: {present}"));
                if !present {
                    to_push.push((want.image.clone(), remote.clone()));
                }
            }
            images.insert(want.key, remote);
        }
        Ok((images, to_push))
    }
}

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
