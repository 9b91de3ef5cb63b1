//! Images to a registry, for a cluster that pulls (`deploy --registry HOST/PATH`): the images
//! the build stage made in the local Docker daemon are tagged `<registry>/<name>:<tag>` and
//! pushed, unless the registry has that tag already (the tag is a content digest, so a tag the
//! registry has is the same image).

use std::collections::BTreeMap;

use anyhow::Result;

use crate::ctx::Ctx;
use crate::error::failure;
use crate::project::images::every_desired_image;
use crate::run::Runner;
use crate::tools::docker;

/// Image key → the reference the pods run (with the registry in front when one is set).
pub type References = BTreeMap<String, String>;
/// (local `name:tag`, registry reference) of each image the registry lacks.
pub type ToPush = Vec<(String, String)>;

impl super::DeployStage {
    /// The references the pods run and the images the registry lacks.
    pub(super) fn images(&self, cx: &Ctx) -> Result<(References, ToPush)> {
        let desired = every_desired_image(cx, &self.config)?;
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
    docker::manifest_exists(r, remote)
}

/// `docker tag LOCAL REMOTE` and `docker push REMOTE`, once the image is in the local daemon.
pub fn push(r: &Runner, local_image: &str, remote: &str) -> Result<()> {
    if !r.dry_run() && !docker::image_exists(r, local_image)? {
        return Err(failure(
            format!("{local_image} is not in the local Docker daemon, so it cannot be pushed"),
            "build it there first: `cargo xtask build --no-cluster`, then deploy again",
        ));
    }
    docker::tag_and_push(r, local_image, remote)
}
