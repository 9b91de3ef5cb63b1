//! Static files compiled into the binary and served under content-hashed names, so they can be
//! cached for a year and still change with every release.

use std::sync::LazyLock;

/// One embedded file.
pub struct Asset {
    /// The hashed file name, such as `app.3f2a….css`.
    pub name: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// The embedded files, hashed once on first use.
pub static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    vec![
        asset(
            "app",
            "css",
            "text/css; charset=utf-8",
            include_bytes!("../assets/app.css"),
        ),
        asset(
            "app",
            "js",
            "text/javascript; charset=utf-8",
            include_bytes!("../assets/app.js"),
        ),
        asset(
            "icon",
            "svg",
            "image/svg+xml",
            include_bytes!("../assets/icon.svg"),
        ),
    ]
});

/// The URL paths templates link to.
pub struct AssetUrls {
    pub css: String,
    pub js: String,
    pub icon: String,
}

pub static URLS: LazyLock<AssetUrls> = LazyLock::new(|| {
    let url = |i: usize| format!("/assets/{}", ASSETS[i].name);
    AssetUrls {
        css: url(0),
        js: url(1),
        icon: url(2),
    }
});

/// The asset named `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

fn asset(stem: &str, ext: &str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
    Asset {
        name: format!("{stem}.{:016x}.{ext}", fnv1a(bytes)),
        content_type,
        bytes,
    }
}

/// FNV-1a, 64 bit: stable across builds and Rust versions, enough to tell file versions apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let css = find(URLS.css.trim_start_matches("/assets/")).unwrap();
        assert!(css.name.starts_with("app.") && css.name.ends_with(".css"));
        assert!(find("app.css").is_none());
    }
}
