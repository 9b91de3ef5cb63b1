//! `status` (being written).

use anyhow::Result;

use crate::ctx::Ctx;
use crate::flags;

pub fn run(_cx: &Ctx, _f: &flags::Status) -> Result<i32> {
    super::not_yet("status")
}
