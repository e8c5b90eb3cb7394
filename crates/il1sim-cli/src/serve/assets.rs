//! The page and its scripts and style, compiled into the binary (`assets/web/`), so the
//! explorer needs no network and no files beside the binary. The page is plain HTML, CSS and
//! JavaScript written for il1sim (plots and the mechanism diagram are SVG drawn by
//! `plot.js` and `mechanism.js`): no framework, no library, nothing to vendor.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Name, content type and bytes of each asset.
pub const ASSETS: [(&str, &str, &str); 6] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../../../assets/web/index.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../../../assets/web/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../assets/web/app.js"),
    ),
    (
        "plot.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../assets/web/plot.js"),
    ),
    (
        "mechanism.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../assets/web/mechanism.js"),
    ),
    (
        "validation.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../assets/web/validation.js"),
    ),
];

/// Everything from this origin only: the page cannot load (or leak to) anything else.
const CSP: &str =
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
                   script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

fn asset(name: &str) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::CONTENT_SECURITY_POLICY, CSP),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// `/` and `/validation`: the one page (its script shows the view the path names).
pub async fn index() -> Response {
    asset("index.html")
}

pub async fn file(Path(name): Path<String>) -> Response {
    asset(&name)
}
