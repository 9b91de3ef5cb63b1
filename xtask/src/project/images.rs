//! The images as the tree wants them: each one's `name:tag` from the digest of its own inputs,
//! and the size budget every image is held to (the `build` stage's gate and `verify --static`).

use anyhow::Result;

use crate::config::{Config, Image};
use crate::ctx::Ctx;
use crate::digest;
use crate::report::GateResult;

/// How long tags are: 12 hex digits of the SHA-256 (48 bits) like short Docker IDs.
const TAG_LEN: usize = 12;

/// One image as the tree wants it.
#[derive(Debug, Clone)]
pub struct DesiredImage {
    pub key: String,
    /// `name:tag`.
    pub image: String,
    /// The full digest the tag is cut from.
    pub digest: String,
    pub inputs: digest::Inputs,
}

/// The images' `name:tag` from the digest of each image's own inputs.
pub struct Desired {
    pub images: Vec<DesiredImage>,
    /// How many distinct files went into the digests.
    pub inputs: usize,
}

/// Each image's tag: the shared `build.inputs`, the image's own `inputs`, the Dockerfile, its
/// target and the build args.
pub fn desired_images(cx: &Ctx, config: &Config, images: &[(String, Image)]) -> Result<Desired> {
    let args: Vec<String> = config
        .build
        .args
        .iter()
        .map(|(k, v)| format!("--build-arg {k}={v}"))
        .collect();
    let mut out = Vec::new();
    let mut all = std::collections::BTreeSet::new();
    for (key, img) in images {
        let mut wanted = config.build.inputs.clone();
        wanted.extend(img.inputs.iter().cloned());
        let (mut files, missing) = digest::input_files(&cx.root, &wanted)?;
        for m in &missing {
            cx.ui.detail(&format!(
                "{key}: build input {} does not exist (skipped)",
                m.display()
            ));
        }
        files.push(config.build.dockerfile.clone());
        files.extend(config.buildkit_dockerfile(&cx.root));
        files.sort();
        files.dedup();
        let mut parts = vec![format!("--target {}", img.target)];
        parts.extend(args.iter().cloned());
        let inputs = digest::Inputs::read(&cx.root, &files, &parts)?;
        let digest = inputs.digest();
        all.extend(files);
        out.push(DesiredImage {
            key: key.clone(),
            image: format!("{}:{}", img.name, &digest[..TAG_LEN]),
            digest,
            inputs,
        });
    }
    Ok(Desired {
        images: out,
        inputs: all.len(),
    })
}

/// [`desired_images`] of every image in the configuration.
pub fn every_desired_image(cx: &Ctx, config: &Config) -> Result<Desired> {
    let images: Vec<(String, Image)> = config
        .images
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    desired_images(cx, config, &images)
}

/// Size against budget; a failure says by how much (MB = 10^6 bytes, like `docker images`).
pub fn size_gate(bytes: u64, budget_mb: u64) -> GateResult {
    let mb = bytes as f64 / 1e6;
    let budget = budget_mb as f64;
    if mb <= budget {
        GateResult::Pass(format!("{mb:.1} MB of {budget_mb} MB"))
    } else {
        let over = mb - budget;
        GateResult::Fail {
            detail: format!(
                "{mb:.1} MB is {over:.1} MB ({:.0}%) over the {budget_mb} MB budget",
                over / budget.max(1.0) * 100.0
            ),
            help: "shrink the image (see `docker history <image>`), or raise `budget_mb` for this image in deploy/pipeline.toml".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_gate_says_by_how_much() {
        assert!(matches!(size_gate(99_000_000, 100), GateResult::Pass(_)));
        match size_gate(152_300_000, 150) {
            GateResult::Fail { detail, .. } => {
                assert_eq!(detail, "152.3 MB is 2.3 MB (2%) over the 150 MB budget")
            }
            GateResult::Pass(p) => panic!("passed: {p}"),
        }
    }
}
