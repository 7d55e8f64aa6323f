//! The page, compiled into the binary: no build step, nothing read from disk at run time.

pub struct Asset {
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const INDEX: Asset = Asset {
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("../assets/index.html"),
};
const SCRIPT: Asset = Asset {
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../assets/app.js"),
};
const STYLE: Asset = Asset {
    content_type: "text/css; charset=utf-8",
    body: include_bytes!("../assets/style.css"),
};
/// The page links it; `/favicon.ico`, where a browser or a bookmark looks unasked, is the same
/// picture, so neither is ever a 404.
const ICON: Asset = Asset {
    content_type: "image/svg+xml",
    body: include_bytes!("../assets/favicon.svg"),
};

/// The asset served at `path`, if any.
pub fn find(path: &str) -> Option<&'static Asset> {
    match path {
        "/" | "/index.html" => Some(&INDEX),
        "/app.js" => Some(&SCRIPT),
        "/style.css" => Some(&STYLE),
        "/favicon.svg" | "/favicon.ico" => Some(&ICON),
        _ => None,
    }
}

/// Bytes of the whole page, its icon included, for the record.
pub fn page_bytes() -> usize {
    INDEX.body.len() + SCRIPT.body.len() + STYLE.body.len() + ICON.body.len()
}
