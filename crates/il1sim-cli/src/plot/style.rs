//! What every figure shares: its width, title strip, font family and bundled font, the
//! tallest PNG, the colour palette, and the error text of a rendering failure.

use plotters::coord::Shift;
use plotters::prelude::*;

/// Figure width in pixels.
pub(super) const WIDTH: u32 = 1200;
/// Height of the strip holding the overall figure title.
pub(super) const TITLE_HEIGHT: u32 = 44;
/// Font family used for every piece of text.
pub(super) const FONT: &str = "sans-serif";
/// The font of all text in PNG figures: DejaVu Sans 2.37 (licence in
/// `assets/fonts/DejaVuSans-LICENSE.txt`). Bold and italic text use it too.
pub(super) static FONT_BYTES: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
/// Tallest PNG rendered, in pixels (a 1200 × 32768 RGB buffer is 118 MB).
pub(super) const PNG_MAX_HEIGHT: u32 = 32_768;

/// Line colours (matplotlib's "tab10" palette), assigned by series index and
/// reused cyclically.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Convert a plotters error into the `String` error of this module.
pub(super) fn err<E: std::fmt::Display>(e: E) -> String {
    format!("plot rendering failed: {e}")
}

/// Colour of series / regimen `i`.
pub(super) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Draw a `WIDTH` × `height` figure with `draw` as SVG (the PNG twin is
/// `raster::render_png`).
pub(super) fn render_svg<F>(height: u32, draw: F) -> Result<String, String>
where
    F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
{
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        draw(&root)?;
    }
    Ok(svg)
}
