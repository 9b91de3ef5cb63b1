//! The desktop's default browser: `xdg-open` on Linux and the BSDs, `open` on macOS,
//! `explorer` on Windows.

use std::time::Duration;

use anyhow::Result;

use crate::run::{Call, Runner};

/// The program that hands a URL to the default browser on this OS.
pub fn opener() -> &'static str {
    if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    }
}

/// Opens `url` in the default browser (the opener returns at once; the browser keeps running).
pub fn open(r: &Runner, url: &str) -> Result<()> {
    // explorer exits 1 even when it opened the page.
    let codes: &[i32] = if cfg!(windows) { &[0, 1] } else { &[0] };
    r.run(
        &Call::new(opener())
            .arg(url)
            .ok_codes(codes)
            .timeout(Duration::from_secs(20))
            .hint("open the URL in a browser yourself"),
    )?;
    Ok(())
}
