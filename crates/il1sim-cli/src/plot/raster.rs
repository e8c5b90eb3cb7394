//! PNG output: plotters' bitmap backend with text set in the bundled font, and the PNG
//! encoding of the pixels.

use super::style::WIDTH;
use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

/// Draw a `WIDTH` × `height` figure with `draw` on a [`Raster`] that sets
/// text in `font`, and encode it as PNG.
pub(super) fn render_png<F>(
    font: &FontRef<'static>,
    height: u32,
    draw: F,
) -> Result<Vec<u8>, String>
where
    F: FnOnce(&DrawingArea<Raster<'_>, Shift>) -> Result<(), String>,
{
    let mut pixels = vec![0u8; WIDTH as usize * height as usize * 3];
    {
        let root = Raster {
            bitmap: BitMapBackend::with_buffer(&mut pixels, (WIDTH, height)),
            font: font.clone(),
        }
        .into_drawing_area();
        draw(&root)?;
    }
    encode_png(&pixels, WIDTH, height)
}

/// Encode an 8-bit RGB pixel buffer, row by row from the top, as PNG.
pub(super) fn encode_png(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let png_err = |e: png::EncodingError| format!("PNG encoding failed: {e}");
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(png_err)?;
    writer.write_image_data(pixels).map_err(png_err)?;
    writer.finish().map_err(png_err)?;
    Ok(bytes)
}

/// plotters' bitmap backend with text drawn from [`super::style::FONT_BYTES`].
///
/// Without a font feature plotters cannot rasterise text, and its `ab_glyph`
/// feature drops each glyph's side bearing (uneven letter spacing) and scales
/// text smaller than the SVG's. This backend measures and draws text itself:
/// `size` pixels per em as in the SVG, kerned, anti-aliased, anchored and
/// rotated as plotters asks. Everything else goes to the bitmap backend.
pub(super) struct Raster<'a> {
    bitmap: BitMapBackend<'a>,
    font: FontRef<'static>,
}

/// Error type of [`Raster`].
type RasterError = DrawingErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>;

/// Lay out `text` in `font` at `size` pixels per em: the scaled font, the
/// glyphs with their kerned pen positions, and the advance width of the text.
pub(super) fn shape<'f>(
    font: &'f FontRef<'static>,
    text: &str,
    size: f64,
) -> (
    ab_glyph::PxScaleFont<&'f FontRef<'static>>,
    Vec<(ab_glyph::GlyphId, f32)>,
    f32,
) {
    let units_per_em = font.units_per_em().unwrap_or(2048.0);
    let font = font.as_scaled(PxScale::from(
        size as f32 * font.height_unscaled() / units_per_em,
    ));
    let mut glyphs = Vec::with_capacity(text.len());
    let mut x = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(previous) = previous {
            x += font.kern(previous, id);
        }
        glyphs.push((id, x));
        x += font.h_advance(id);
        previous = Some(id);
    }
    (font, glyphs, x)
}

impl DrawingBackend for Raster<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.bitmap.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), RasterError> {
        self.bitmap.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), RasterError> {
        self.bitmap.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), RasterError> {
        self.bitmap.draw_pixel(point, color)
    }

    fn draw_line<S: plotters_backend::BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), RasterError> {
        self.bitmap.draw_line(from, to, style)
    }

    fn draw_rect<S: plotters_backend::BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), RasterError> {
        self.bitmap.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), RasterError> {
        let (font, _, width) = shape(&self.font, text, style.size());
        let height = font.ascent() - font.descent();
        Ok((width.ceil() as u32, height.ceil() as u32))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), RasterError> {
        let colour = style.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let (font, glyphs, width) = shape(&self.font, text, style.size());
        let height = font.ascent() - font.descent();
        // Top left corner of the text box relative to the anchor point,
        // before rotation; the baseline lies `ascent` below the top.
        let left = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let top = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let baseline = top + font.ascent();
        let transform = style.transform();
        for &(id, x) in &glyphs {
            let glyph = id.with_scale_and_position(font.scale, point(left + x, baseline));
            let Some(outline) = font.outline_glyph(glyph) else {
                continue; // e.g. a space
            };
            // Pixel offsets of the glyph's bounding box (whole numbers).
            let bounds = outline.px_bounds();
            let (x0, y0) = (bounds.min.x as i32, bounds.min.y as i32);
            let bitmap = &mut self.bitmap;
            let mut result = Ok(());
            outline.draw(|gx, gy, coverage| {
                if coverage <= 0.0 || result.is_err() {
                    return;
                }
                let (dx, dy) = transform.transform(x0 + gx as i32, y0 + gy as i32);
                let pixel = (pos.0.saturating_add(dx), pos.1.saturating_add(dy));
                let shade = BackendColor {
                    alpha: colour.alpha * f64::from(coverage.min(1.0)),
                    rgb: colour.rgb,
                };
                result = bitmap.draw_pixel(pixel, shade);
            });
            result?;
        }
        Ok(())
    }
}
