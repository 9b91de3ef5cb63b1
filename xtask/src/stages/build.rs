//! `build` (being written).

use anyhow::Result;

use crate::ctx::Ctx;
use crate::flags;

pub fn run(_cx: &Ctx, _f: &flags::Build) -> Result<i32> {
    super::not_yet("build")
}
