//! `doctor` (being written).

use anyhow::Result;

use crate::ctx::Ctx;
use crate::flags;

pub fn run(_cx: &Ctx, _f: &flags::Doctor) -> Result<i32> {
    super::not_yet("doctor")
}
