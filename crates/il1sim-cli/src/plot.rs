//! Time-course figures, as SVG and as PNG.
//!
//! [`timecourse_svg`] and [`timecourse_png`] render several observables (one
//! [`Panel`] each) for several regimens (one [`Series`] per regimen in every
//! panel) as one figure; both draw through the same code, generic over the
//! plotters drawing backend, so the two formats show the same figure. Colours
//! are assigned by position: series `i` of every panel and dose marks `i`
//! share colour `i`, so one legend at the top of the figure serves all panels.
//!
//! The SVG emits text as `<text>` elements, left to the viewer's sans-serif
//! font. The PNG draws text itself (see [`Raster`]) with DejaVu Sans compiled
//! into the binary (`assets/fonts/`), so no system font or fontconfig is
//! needed at run time.

use std::ops::Range;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

/// Figure width in pixels.
const WIDTH: u32 = 1200;
/// Height of one row of panels in pixels.
const PANEL_HEIGHT: u32 = 300;
/// Height of the strip holding the overall figure title.
const TITLE_HEIGHT: u32 = 44;
/// Number of panel columns.
const COLUMNS: usize = 2;
/// About how many labelled ticks the time axis gets.
const X_TICKS: u32 = 10;
/// About how many labelled ticks a linear y axis gets.
const Y_TICKS: u32 = 7;
/// Font family used for every piece of text.
const FONT: &str = "sans-serif";
/// The font of all text in PNG figures: DejaVu Sans 2.37 (licence in
/// `assets/fonts/DejaVuSans-LICENSE.txt`). Bold and italic text use it too.
static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
/// Tallest PNG rendered, in pixels (a 1200 × 32768 RGB buffer is 118 MB).
const PNG_MAX_HEIGHT: u32 = 32_768;

/// Values (and times) whose magnitude exceeds this are treated like
/// non-finite values: they could not be padded or tick-marked without
/// overflowing.
const MAX_ABS: f64 = 1e200;
/// On a logarithmic panel, values more than this many decades below the
/// panel's maximum are skipped, so that the axis range stays representable.
const LOG_MAX_DECADES: i32 = 250;
/// On a logarithmic panel, values below this are skipped (see
/// [`LOG_MAX_DECADES`]); keeps the padded range clear of subnormal numbers.
const LOG_MIN_VALUE: f64 = 1e-290;

/// Fraction of the plot height taken by all dose-mark rows together.
const DOSE_BAND_TOTAL: f64 = 0.2;
/// Maximum fraction of the plot height taken by one regimen's dose marks.
const DOSE_BAND_MAX: f64 = 0.05;

/// Legend font size in pixels.
const LEGEND_FONT: u32 = 15;
/// Font size of the legend note in pixels.
const NOTE_FONT: u32 = 13;
/// Height of one row of legend entries.
const LEGEND_ROW_HEIGHT: u32 = 24;
/// Extra height below the legend.
const LEGEND_PADDING: u32 = 8;
/// Width of the line sample in front of a legend label.
const LEGEND_SWATCH: i32 = 28;
/// Horizontal gap between legend items.
const LEGEND_GAP: i32 = 26;
/// Left / right margin of the legend.
const LEGEND_MARGIN: i32 = 16;
/// Legend note explaining the dose marks, shown when there are any.
const DOSE_NOTE: &str = "short ticks at the bottom of each panel: dose times";

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

/// One line on a panel (one regimen).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Regimen name, shown in the legend.
    pub label: String,
    /// `(time in days, value)` pairs, in time order. Points that cannot be
    /// drawn (see [`timecourse_svg`]) break the line.
    pub points: Vec<(f64, f64)>,
}

/// One panel: an observable against time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    /// Panel caption, e.g. the observable's name.
    pub title: String,
    /// Y-axis label including the unit, e.g. `"CRP (mg/L)"`.
    pub y_label: String,
    /// One line per regimen; series `i` gets colour `i`.
    pub series: Vec<Series>,
    /// Logarithmic y axis. Falls back to a linear axis when the panel has no
    /// positive finite value.
    pub log_y: bool,
}

/// Dose times (days) of one regimen, drawn as small tick marks at the bottom
/// of every panel, in that regimen's colour.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DoseMarks {
    /// Regimen name; used in the legend when no series at the same index has
    /// a label.
    pub label: String,
    /// Dose times in days.
    pub times_days: Vec<f64>,
}

/// Render a multi-panel figure as an SVG document string.
///
/// Panels are laid out in a grid of two columns (one column when there is a
/// single panel) with as many rows as needed, each row 300 px high in a
/// 1200 px wide figure. The overall `title` sits at the top, followed by one
/// legend naming the regimens in their colours (wrapped onto several lines
/// when needed).
///
/// Every panel shows its title, its y-axis label and the x-axis label
/// `"time (days)"`. All panels share the time axis, from 0 (or the earliest
/// negative time) to the latest time of any series. The y axis spans the
/// panel's data with 5 % padding; a flat series gets a range of ±10 % around
/// its value (±1 around zero); a flat series on a logarithmic axis gets a
/// factor of two each way, and the padding is applied in log space.
///
/// Series `i` of every panel is drawn in colour `i`. `doses[i]` is drawn in
/// the same colour `i` (matched by position, not by label), as short
/// vertical ticks in a band at the bottom of every panel, one row of ticks
/// per regimen so that simultaneous doses of different regimens stay
/// visible. Dose times outside the time axis are not drawn.
///
/// Points with a NaN or infinite coordinate, or with a magnitude above
/// 1e200, are skipped; so are zero and negative values on a logarithmic
/// panel (and positive values more than 250 decades below the panel's
/// maximum). A skipped point breaks the line; an isolated point is drawn as a
/// dot.
///
/// # Errors
///
/// Returns a message if plotters fails to render the figure, or if the
/// figure would be too tall for plotters' `i32` pixel coordinates (millions
/// of panels).
pub fn timecourse_svg(
    title: &str,
    panels: &[Panel],
    doses: &[DoseMarks],
) -> Result<String, String> {
    let figure = Figure::new(title, panels, doses)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, figure.height)).into_drawing_area();
        figure.draw(&root)?;
    }
    Ok(svg)
}

/// Render the same figure as [`timecourse_svg`] as an encoded PNG image
/// (8-bit RGB, 1200 px wide, text in DejaVu Sans).
///
/// The bytes depend only on the arguments: rendering the same figure twice
/// gives identical files.
///
/// # Errors
///
/// As [`timecourse_svg`]; also if the image would be taller than 32768
/// pixels (about 200 panels) or PNG encoding fails.
pub fn timecourse_png(
    title: &str,
    panels: &[Panel],
    doses: &[DoseMarks],
) -> Result<Vec<u8>, String> {
    let figure = Figure::new(title, panels, doses)?;
    let height = figure.height;
    if height > PNG_MAX_HEIGHT {
        return Err(format!(
            "figure too tall for a PNG ({} panels, {height} px)",
            panels.len()
        ));
    }
    render_png(&figure.font, height, |root| figure.draw(root))
}

/// Draw a `WIDTH` × `height` figure with `draw` on a [`Raster`] that sets
/// text in `font`, and encode it as PNG.
fn render_png<F>(font: &FontRef<'static>, height: u32, draw: F) -> Result<Vec<u8>, String>
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

/// One target of a target-attainment figure: a grouped horizontal bar chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttainmentChart {
    /// Target name, the panel's caption.
    pub target: String,
    /// Regimen names, shown in the legend; regimen `i` gets colour `i`, as
    /// series `i` of the time-course figures.
    pub regimens: Vec<String>,
    /// One row of bars per group, top to bottom (overall first, then strata).
    pub groups: Vec<AttainmentGroup>,
}

/// One row of an [`AttainmentChart`]: the attainment of every regimen in one
/// group of subjects.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttainmentGroup {
    /// Row label, e.g. `"overall"` or `"renal: CrCl 30-59"`.
    pub label: String,
    /// Per regimen (by position): `(attained, evaluated)`, or `None` if no
    /// subject of the group was evaluated for that regimen.
    pub values: Vec<Option<(u64, u64)>>,
}

/// Render a target-attainment figure as an SVG document string.
///
/// The overall `title` sits at the top, then one legend naming the regimens
/// in their colours (the regimen names of the first chart that names each
/// position). Below, one panel per chart, stacked in one column, each as
/// high as its rows need: a grouped horizontal bar chart captioned with the
/// target, one row per group in the given order, one bar per regimen in the
/// regimen's colour (regimen `i` in colour `i`, the palette of
/// [`timecourse_svg`]), its length the probability of attainment
/// `attained / evaluated` on an x axis from 0 to 1, and its value written
/// at its end as a whole percentage with the number evaluated, e.g.
/// `"82% (n=341)"` (`"<1%"` and `">99%"` rather than a rounded 0 % or 100 %
/// that is not exact). A regimen with nothing evaluated in a shown group
/// gets no bar, only `"n=0"`.
///
/// Groups with nothing evaluated for any regimen are left out; a chart with
/// no group left says so in its panel. A thin line separates consecutive
/// rows whose labels differ in the part before `": "` (e.g. the renal strata
/// from the weight strata).
///
/// # Errors
///
/// Returns a message if plotters fails to render the figure, or if the
/// figure would be too tall for plotters' `i32` pixel coordinates.
pub fn attainment_svg(title: &str, charts: &[AttainmentChart]) -> Result<String, String> {
    let figure = AttainmentFigure::new(title, charts)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, figure.height)).into_drawing_area();
        figure.draw(&root)?;
    }
    Ok(svg)
}

/// Render the same figure as [`attainment_svg`] as an encoded PNG image
/// (8-bit RGB, 1200 px wide, text in DejaVu Sans). The bytes depend only on
/// the arguments.
///
/// # Errors
///
/// As [`attainment_svg`]; also if the image would be taller than 32768
/// pixels or PNG encoding fails.
pub fn attainment_png(title: &str, charts: &[AttainmentChart]) -> Result<Vec<u8>, String> {
    let figure = AttainmentFigure::new(title, charts)?;
    let height = figure.height;
    if height > PNG_MAX_HEIGHT {
        return Err(format!(
            "figure too tall for a PNG ({} charts, {height} px)",
            charts.len()
        ));
    }
    render_png(&figure.font, height, |root| figure.draw(root))
}

/// Encode an 8-bit RGB pixel buffer, row by row from the top, as PNG.
fn encode_png(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
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

/// A laid-out figure, ready to be drawn on any plotters backend.
struct Figure<'a> {
    title: &'a str,
    panels: &'a [Panel],
    doses: &'a [DoseMarks],
    legend_rows: Vec<LegendRow>,
    columns: usize,
    rows: usize,
    legend_height: u32,
    /// Height of the whole figure in pixels (the width is [`WIDTH`]).
    height: u32,
    x_axis: Axis,
    /// The bundled font, parsed: measures legend text, draws PNG text.
    font: FontRef<'static>,
}

impl<'a> Figure<'a> {
    /// Lay out the figure (see [`timecourse_svg`]).
    fn new(title: &'a str, panels: &'a [Panel], doses: &'a [DoseMarks]) -> Result<Self, String> {
        let font = FontRef::try_from_slice(FONT_BYTES)
            .map_err(|e| format!("bundled font unusable: {e}"))?;
        let legend_rows = layout_legend(&font, legend_entries(panels, doses), !doses.is_empty());
        let columns = panels.len().clamp(1, COLUMNS);
        let rows = panels.len().div_ceil(columns);
        let (legend_height, height) = figure_heights(legend_rows.len(), rows)
            .ok_or_else(|| format!("figure too tall ({} panels)", panels.len()))?;
        let (x0, x1) = time_range(panels, doses);
        Ok(Figure {
            title,
            panels,
            doses,
            legend_rows,
            columns,
            rows,
            legend_height,
            height,
            x_axis: Axis::linear(x0, x1, X_TICKS),
            font,
        })
    }

    /// Draw the figure on `root`, a `WIDTH` × `height` drawing area.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let (title_area, rest) = root.split_vertically(TITLE_HEIGHT);
        let (legend_area, grid_area) = rest.split_vertically(self.legend_height);
        draw_title(&title_area, self.title)?;
        draw_legend(&legend_area, &self.legend_rows)?;
        if self.rows > 0 {
            let cells = grid_area.split_evenly((self.rows, self.columns));
            for (panel, cell) in self.panels.iter().zip(&cells) {
                draw_panel(cell, panel, &self.x_axis, self.doses)?;
            }
        }
        root.present().map_err(err)
    }
}

/// plotters' bitmap backend with text drawn from [`FONT_BYTES`].
///
/// Without a font feature plotters cannot rasterise text, and its `ab_glyph`
/// feature drops each glyph's side bearing (uneven letter spacing) and scales
/// text smaller than the SVG's. This backend measures and draws text itself:
/// `size` pixels per em as in the SVG, kerned, anti-aliased, anchored and
/// rotated as plotters asks. Everything else goes to the bitmap backend.
struct Raster<'a> {
    bitmap: BitMapBackend<'a>,
    font: FontRef<'static>,
}

/// Error type of [`Raster`].
type RasterError = DrawingErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>;

/// Lay out `text` in `font` at `size` pixels per em: the scaled font, the
/// glyphs with their kerned pen positions, and the advance width of the text.
fn shape<'f>(
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

/// Convert a plotters error into the `String` error of this module.
fn err<E: std::fmt::Display>(e: E) -> String {
    format!("plot rendering failed: {e}")
}

/// Heights in pixels of the legend strip and of the whole figure, or `None`
/// if the figure would not fit plotters' `i32` pixel coordinates.
fn figure_heights(legend_rows: usize, panel_rows: usize) -> Option<(u32, u32)> {
    let legend = u32::try_from(legend_rows)
        .ok()?
        .checked_mul(LEGEND_ROW_HEIGHT)?
        .checked_add(LEGEND_PADDING)?;
    let panels = u32::try_from(panel_rows).ok()?.checked_mul(PANEL_HEIGHT)?;
    let total = TITLE_HEIGHT.checked_add(legend)?.checked_add(panels)?;
    i32::try_from(total).ok()?;
    Some((legend, total))
}

/// Colour of series / regimen `i`.
fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

// ---------------------------------------------------------------------------
// Data ranges
// ---------------------------------------------------------------------------

/// Whether a point can be drawn (and counts towards the axis ranges).
/// `y_floor` is the smallest drawable y value: `-MAX_ABS` on a linear axis,
/// a positive bound on a logarithmic one.
fn usable(x: f64, y: f64, y_floor: f64) -> bool {
    x.is_finite() && y.is_finite() && x.abs() <= MAX_ABS && y <= MAX_ABS && y >= y_floor
}

/// Split a series into runs of consecutive usable points.
fn segments(points: &[(f64, f64)], y_floor: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for &(x, y) in points {
        if usable(x, y, y_floor) {
            current.push((x, y));
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Minimum and maximum of some values.
fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// The shared time axis: from `min(0, earliest time)` to the latest time of
/// any series (or of any dose when no series has a positive time).
fn time_range(panels: &[Panel], doses: &[DoseMarks]) -> (f64, f64) {
    let data_times = panels
        .iter()
        .flat_map(|p| &p.series)
        .flat_map(|s| &s.points)
        .filter(|&&(x, y)| usable(x, y, -MAX_ABS))
        .map(|&(x, _)| x);
    let (lo, mut hi) = min_max(data_times).unwrap_or((0.0, 0.0));
    if hi <= 0.0 {
        let dose_times = doses
            .iter()
            .flat_map(|d| d.times_days.iter().copied())
            .filter(|t| t.is_finite() && t.abs() <= MAX_ABS);
        if let Some((_, dose_hi)) = min_max(dose_times) {
            hi = hi.max(dose_hi);
        }
    }
    let lo = lo.min(0.0);
    if hi - lo <= 1e-9 * lo.abs().max(hi.abs()) {
        hi = lo + 1.0;
    }
    (lo, hi)
}

/// The y values of a panel that will be drawn with the given floor.
fn panel_y_values(panel: &Panel, y_floor: f64) -> impl Iterator<Item = f64> + '_ {
    panel
        .series
        .iter()
        .flat_map(|s| &s.points)
        .filter(move |&&(x, y)| usable(x, y, y_floor))
        .map(|&(_, y)| y)
}

/// Linear y range with 5 % padding; a (near-)flat range becomes ±10 % of its
/// value, or ±1 around zero.
fn linear_y_range(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    if span <= 1e-9 * lo.abs().max(hi.abs()) {
        let mid = 0.5 * (lo + hi);
        let half = if mid.abs() > 1e-200 {
            0.1 * mid.abs()
        } else {
            1.0
        };
        (mid - half, mid + half)
    } else {
        (lo - 0.05 * span, hi + 0.05 * span)
    }
}

/// Logarithmic y range for positive `lo <= hi`, padded by 5 % in log space;
/// a flat range is widened by a factor of two each way. The result lies
/// within 1e-300..1e300.
fn log_y_range(lo: f64, hi: f64) -> (f64, f64) {
    let (a, b) = (lo.log10(), hi.log10());
    let (a, b) = if b - a < 1e-9 {
        (a - std::f64::consts::LOG10_2, b + std::f64::consts::LOG10_2)
    } else {
        let pad = 0.05 * (b - a);
        (a - pad, b + pad)
    };
    (10f64.powf(a.max(-300.0)), 10f64.powf(b.min(300.0)))
}

// ---------------------------------------------------------------------------
// Axes and tick labels
// ---------------------------------------------------------------------------

/// A linear or logarithmic axis with precomputed tick positions.
///
/// plotters' own logarithmic axis only labels powers of ten (so a range
/// within one decade gets no label at all), and its linear axis does not
/// tell the label formatter the tick spacing; this type does both.
#[derive(Debug, Clone)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    /// Labelled ticks (bold grid lines).
    ticks: Vec<f64>,
    /// Light grid lines.
    minor: Vec<f64>,
    /// How tick values are written.
    format: TickFormat,
}

/// How the tick labels of an [`Axis`] are written.
#[derive(Debug, Clone, Copy)]
enum TickFormat {
    /// Ticks are multiples of `step` (a power of ten times 1, 2 or 5): show
    /// as many digits as the spacing needs, in scientific notation if asked.
    Step { step: f64, scientific: bool },
    /// Ticks are 1, 2, 3 or 5 times a power of ten: write each one on its own.
    Mantissa,
}

impl Axis {
    /// Linear axis over `lo..hi` with about `target` labelled ticks.
    fn linear(lo: f64, hi: f64, target: u32) -> Self {
        Self::stepped(lo, hi, target, false)
    }

    /// Axis over `lo..hi` with about `target` labelled ticks at round linear
    /// steps, mapped linearly or logarithmically.
    fn stepped(lo: f64, hi: f64, target: u32, log: bool) -> Self {
        let step = nice_step((hi - lo) / f64::from(target));
        // Scientific notation for tiny steps and for long labels.
        let scientific = !plain_magnitude(step) || lo.abs().max(hi.abs()) >= 1e6;
        Axis {
            lo,
            hi,
            log,
            ticks: multiples(lo, hi, step),
            minor: multiples(lo, hi, step / 2.0),
            format: TickFormat::Step { step, scientific },
        }
    }

    /// Logarithmic axis over `lo..hi` (both positive): ticks at 1, 2, 3, 5
    /// times powers of ten (fewer as the range grows), or at round linear
    /// steps when the range is within one decade.
    fn log(lo: f64, hi: f64) -> Self {
        let decades = (hi / lo).log10();
        if decades < 1.0 {
            return Self::stepped(lo, hi, 5, true);
        }
        let (mantissas, stride): (&[f64], i32) = if decades <= 1.5 {
            (&[1.0, 2.0, 3.0, 5.0], 1)
        } else if decades <= 3.0 {
            (&[1.0, 2.0, 5.0], 1)
        } else {
            (&[1.0], (decades / 8.0).ceil() as i32)
        };
        let all_mantissas: &[f64] = if decades <= 6.0 {
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
        } else {
            &[1.0]
        };
        // The range lies within 1e-300..1e300 (see `log_y_range`), so the
        // exponents fit an i32 comfortably.
        let exponents = lo.log10().floor() as i32..=hi.log10().ceil() as i32;
        let in_range = |v: &f64| (lo..=hi).contains(v);
        let ticks = exponents
            .clone()
            .filter(|e| e.rem_euclid(stride) == 0)
            .flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e)))
            .filter(in_range)
            .collect();
        let minor = exponents
            .flat_map(|e| all_mantissas.iter().map(move |m| m * 10f64.powi(e)))
            .filter(in_range)
            .collect();
        Axis {
            lo,
            hi,
            log: true,
            ticks,
            minor,
            format: TickFormat::Mantissa,
        }
    }

    /// Position of `v` as a fraction of the axis length (0 at `lo`).
    fn fraction(&self, v: f64) -> f64 {
        if self.log {
            (v / self.lo).ln() / (self.hi / self.lo).ln()
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    /// The value at fraction `f` of the axis length (0 at `lo`).
    fn value_at(&self, f: f64) -> f64 {
        if self.log {
            self.lo * (self.hi / self.lo).powf(f)
        } else {
            self.lo + (self.hi - self.lo) * f
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = self.fraction(*value);
        // Everything drawn lies on the axis; keep stray values near it so
        // that the pixel arithmetic cannot overflow.
        let f = if f.is_nan() { 0.0 } else { f.clamp(-1.0, 2.0) };
        let length = f64::from(limit.1) - f64::from(limit.0);
        limit.0.saturating_add((length * f + 1e-3).floor() as i32)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl TickFormat {
    /// The label of tick value `v`.
    fn label(self, v: f64) -> String {
        match self {
            TickFormat::Step { step, scientific } => {
                let step_exp = exponent(step);
                if !scientific {
                    let decimals = (-step_exp).clamp(0, 12) as usize;
                    format!("{v:.decimals$}")
                } else if v == 0.0 {
                    "0".to_owned()
                } else {
                    let digits = (exponent(v) - step_exp).clamp(0, 12) as usize;
                    scientific_label(v, digits)
                }
            }
            TickFormat::Mantissa => {
                if plain_magnitude(v) {
                    let decimals = (-exponent(v)).clamp(0, 12) as usize;
                    format!("{v:.decimals$}")
                } else {
                    scientific_label(v, 0)
                }
            }
        }
    }
}

/// Whether `v` is written without an exponent.
fn plain_magnitude(v: f64) -> bool {
    (1e-3..1e5).contains(&v.abs())
}

/// Decimal exponent of `v`: 0 for 1..10, -1 for 0.1..1 (robust to `log10`
/// rounding just below an integer); 0 for zero and non-finite values.
fn exponent(v: f64) -> i32 {
    let e = (v.abs().log10() + 1e-9).floor();
    if e.is_finite() {
        e.clamp(-400.0, 400.0) as i32
    } else {
        0
    }
}

/// The smallest power of ten times 1, 2 or 5 that is at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let base = 10f64.powi(exponent(raw));
    let m = raw / base;
    let factor = if m <= 1.0 + 1e-9 {
        1.0
    } else if m <= 2.0 + 1e-9 {
        2.0
    } else if m <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    factor * base
}

/// The multiples of `step` within `lo..=hi`, give or take rounding (none if
/// there would be unreasonably many, or `step` is degenerate).
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let (first, last) = ((lo / step - 1e-9).ceil(), (hi / step + 1e-9).floor());
    if !(first.is_finite() && last.is_finite()) || last - first > 1000.0 {
        return Vec::new();
    }
    // The casts saturate (the axis ranges built here keep |first| far below
    // 2^63 anyway), and the check above bounds the count.
    (first as i64..=last as i64)
        .map(|k| k as f64 * step)
        .collect()
}

/// `v` in scientific notation with at most `digits` decimals in the
/// mantissa, trailing zeros removed: `1.50e3` becomes `1.5e3`.
fn scientific_label(v: f64, digits: usize) -> String {
    let s = format!("{v:.digits$e}");
    match s.split_once('e') {
        Some((mantissa, exp)) if mantissa.contains('.') => {
            let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
            format!("{mantissa}e{exp}")
        }
        _ => s,
    }
}

// ---------------------------------------------------------------------------
// Title and legend
// ---------------------------------------------------------------------------

/// One regimen in the legend.
struct LegendEntry {
    label: String,
    colour: RGBColor,
    swatch: Swatch,
}

/// The sample drawn in front of a legend label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swatch {
    /// A line, for time courses.
    Line,
    /// A filled block, for bars.
    Bar,
}

/// Something shown in the legend.
enum LegendItem {
    /// A coloured line sample and its label.
    Entry(LegendEntry),
    /// A grey explanatory note.
    Note(&'static str),
}

/// One legend line: items with their x offsets in pixels.
type LegendRow = Vec<(i32, LegendItem)>;

/// Legend entries: one per series index (labelled by the first non-empty
/// series label at that index, else by the dose regimen's label) and per dose
/// regimen.
fn legend_entries(panels: &[Panel], doses: &[DoseMarks]) -> Vec<LegendEntry> {
    let n = panels
        .iter()
        .map(|p| p.series.len())
        .max()
        .unwrap_or(0)
        .max(doses.len());
    (0..n)
        .map(|i| {
            let series_label = panels
                .iter()
                .filter_map(|p| p.series.get(i))
                .map(|s| s.label.trim())
                .find(|l| !l.is_empty());
            let dose_label = doses
                .get(i)
                .map(|d| d.label.trim())
                .filter(|l| !l.is_empty());
            let label = series_label
                .or(dose_label)
                .map_or_else(|| format!("series {}", i + 1), str::to_owned);
            LegendEntry {
                label,
                colour: colour(i),
                swatch: Swatch::Line,
            }
        })
        .collect()
}

/// Width in pixels of `text` in the bundled font at `size` pixels per em:
/// exact for the PNG, and an estimate for the SVG (whose text is set in the
/// viewer's sans-serif font).
fn text_width(font: &FontRef<'static>, text: &str, size: u32) -> i32 {
    let (_, _, width) = shape(font, text, f64::from(size));
    width.ceil() as i32
}

/// Width in pixels of one legend item.
fn item_width(font: &FontRef<'static>, item: &LegendItem) -> i32 {
    match item {
        LegendItem::Entry(e) => LEGEND_SWATCH + 6 + text_width(font, &e.label, LEGEND_FONT),
        LegendItem::Note(n) => text_width(font, n, NOTE_FONT),
    }
}

/// Wrap the legend items into rows that fit the figure width.
fn layout_legend(
    font: &FontRef<'static>,
    entries: Vec<LegendEntry>,
    dose_note: bool,
) -> Vec<LegendRow> {
    let notes = dose_note.then_some(LegendItem::Note(DOSE_NOTE));
    let items = entries.into_iter().map(LegendItem::Entry).chain(notes);
    let max_x = WIDTH as i32 - LEGEND_MARGIN;
    let mut rows = Vec::new();
    let mut row = LegendRow::new();
    let mut x = LEGEND_MARGIN;
    for item in items {
        let width = item_width(font, &item);
        if !row.is_empty() && x + width > max_x {
            rows.push(std::mem::take(&mut row));
            x = LEGEND_MARGIN;
        }
        row.push((x, item));
        x += width + LEGEND_GAP;
    }
    if !row.is_empty() {
        rows.push(row);
    }
    rows
}

/// Draw the figure title centred in its strip.
fn draw_title<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<(), String> {
    if title.is_empty() {
        return Ok(());
    }
    let style = TextStyle::from((FONT, 24).into_font().style(FontStyle::Bold))
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Center));
    let (w, h) = area.dim_in_pixel();
    let centre = (w as i32 / 2, h as i32 / 2 + 2);
    area.draw(&Text::new(title, centre, style)).map_err(err)
}

/// Draw the legend rows.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: &[LegendRow],
) -> Result<(), String> {
    let label_style = TextStyle::from((FONT, LEGEND_FONT).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let note_style = TextStyle::from((FONT, NOTE_FONT).into_font().style(FontStyle::Italic))
        .color(&RGBColor(90, 90, 90))
        .pos(Pos::new(HPos::Left, VPos::Center));
    let row_height = LEGEND_ROW_HEIGHT as i32;
    for (r, row) in rows.iter().enumerate() {
        let y = row_height * r as i32 + row_height / 2 + 4;
        for &(x, ref item) in row {
            match item {
                LegendItem::Entry(e) => {
                    match e.swatch {
                        Swatch::Line => {
                            let swatch = vec![(x, y), (x + LEGEND_SWATCH, y)];
                            area.draw(&PathElement::new(swatch, e.colour.stroke_width(3)))
                                .map_err(err)?;
                        }
                        Swatch::Bar => {
                            let corners = [(x, y - 6), (x + LEGEND_SWATCH, y + 6)];
                            area.draw(&Rectangle::new(corners, e.colour.filled()))
                                .map_err(err)?;
                        }
                    }
                    let at = (x + LEGEND_SWATCH + 6, y);
                    area.draw(&Text::new(e.label.as_str(), at, label_style.clone()))
                        .map_err(err)?;
                }
                LegendItem::Note(note) => {
                    area.draw(&Text::new(*note, (x, y), note_style.clone()))
                        .map_err(err)?;
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Panels
// ---------------------------------------------------------------------------

/// Draw one panel, on a logarithmic y axis if asked for and possible.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    x_axis: &Axis,
    doses: &[DoseMarks],
) -> Result<(), String> {
    let positive_max = panel_y_values(panel, LOG_MIN_VALUE).reduce(f64::max);
    let (y_axis, y_floor) = match positive_max {
        Some(max) if panel.log_y => {
            let y_floor = (max * 10f64.powi(-LOG_MAX_DECADES)).max(LOG_MIN_VALUE);
            let (lo, hi) = min_max(panel_y_values(panel, y_floor)).unwrap_or((max, max));
            let (lo, hi) = log_y_range(lo, hi);
            (Axis::log(lo, hi), y_floor)
        }
        _ => {
            let (lo, hi) = min_max(panel_y_values(panel, -MAX_ABS)).unwrap_or((0.0, 1.0));
            let (lo, hi) = linear_y_range(lo, hi);
            (Axis::linear(lo, hi, Y_TICKS), -MAX_ABS)
        }
    };
    let (x_format, y_format) = (x_axis.format, y_axis.format);
    let (x0, x1) = (x_axis.lo, x_axis.hi);
    // Dose-mark rows, from the bottom: a fraction of the plot height each.
    let dose_row = (DOSE_BAND_TOTAL / doses.len().max(1) as f64).min(DOSE_BAND_MAX);
    let dose_rows: Vec<(f64, f64)> = (0..doses.len())
        .map(|k| {
            let k = k as f64;
            (
                y_axis.value_at(dose_row * k),
                y_axis.value_at(dose_row * (k + 0.85)),
            )
        })
        .collect();

    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 17))
        .margin(8)
        .margin_right(22)
        .x_label_area_size(40)
        .y_label_area_size(74)
        .build_cartesian_2d(x_axis.clone(), y_axis)
        .map_err(err)?;

    chart
        .configure_mesh()
        .x_desc("time (days)")
        .y_desc(panel.y_label.as_str())
        .x_label_formatter(&|v| x_format.label(*v))
        .y_label_formatter(&|v| y_format.label(*v))
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()
        .map_err(err)?;

    for (k, (dose, &(bottom, top))) in doses.iter().zip(&dose_rows).enumerate() {
        let style = colour(k).stroke_width(2);
        let marks = dose
            .times_days
            .iter()
            .copied()
            .filter(|t| (x0..=x1).contains(t))
            .map(|t| PathElement::new(vec![(t, bottom), (t, top)], style));
        chart.draw_series(marks).map_err(err)?;
    }

    for (i, series) in panel.series.iter().enumerate() {
        let style = colour(i).stroke_width(2);
        for segment in segments(&series.points, y_floor) {
            if let [point] = segment[..] {
                let dot = Circle::new(point, 3, style.filled());
                chart.draw_series(std::iter::once(dot)).map_err(err)?;
            } else {
                chart
                    .draw_series(LineSeries::new(segment, style))
                    .map_err(err)?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Target-attainment charts
// ---------------------------------------------------------------------------

/// Thickness of one bar of an attainment chart in pixels (when the panel's
/// plotting area comes out at its planned height).
const BAR_THICKNESS: u32 = 16;
/// Space between two rows of bars in pixels.
const BAR_ROW_GAP: u32 = 14;
/// Height of an attainment panel apart from its rows: margins, caption and
/// x axis.
const BAR_PANEL_CHROME: u32 = 90;
/// Font size of the row (group) labels in pixels.
const GROUP_FONT: u32 = 13;
/// Font size of the value labels at the bar ends in pixels.
const VALUE_FONT: u32 = 12;
/// Gap between a bar's end and its value label in pixels.
const VALUE_GAP: i32 = 5;
/// Widest row-label area in pixels; longer labels run off the left edge.
const MAX_LABEL_WIDTH: i32 = 420;
/// Note in a panel with no group to show.
const NO_SUBJECTS: &str = "no subjects evaluated";

/// A laid-out attainment figure, ready to be drawn on any plotters backend.
struct AttainmentFigure<'a> {
    title: &'a str,
    /// Each chart with the groups it shows and its panel height in pixels.
    panels: Vec<(&'a AttainmentChart, Vec<&'a AttainmentGroup>, u32)>,
    legend_rows: Vec<LegendRow>,
    legend_height: u32,
    /// Height of the whole figure in pixels (the width is [`WIDTH`]).
    height: u32,
    /// Width of the row-label area left of the bars, the same in every panel.
    label_width: u32,
    /// Room right of the x axis's end for the value labels.
    value_width: u32,
    /// The bundled font, parsed: measures text, draws PNG text.
    font: FontRef<'static>,
}

/// `(attained, evaluated)` if anything was evaluated.
fn evaluated(value: Option<(u64, u64)>) -> Option<(u64, u64)> {
    value.filter(|&(_, e)| e > 0)
}

/// Number of bars per row of a chart: one per regimen (named or with values).
fn bar_count(chart: &AttainmentChart) -> usize {
    chart
        .groups
        .iter()
        .map(|g| g.values.len())
        .fold(chart.regimens.len(), usize::max)
}

/// The probability of attainment (clamped to 0..=1) and its label, e.g.
/// `"82% (n=341)"`, for `attained` of `evaluated > 0` subjects. A rounded
/// 0 % or 100 % that is not exact is written `"<1%"` or `">99%"`.
fn attainment_value(attained: u64, evaluated: u64) -> (f64, String) {
    let attained = attained.min(evaluated);
    let p = attained as f64 / evaluated as f64;
    let percent = (100.0 * p).round();
    let shown = if attained > 0 && percent < 1.0 {
        "<1%".to_owned()
    } else if attained < evaluated && percent > 99.0 {
        ">99%".to_owned()
    } else {
        format!("{percent:.0}%")
    };
    (p, format!("{shown} (n={evaluated})"))
}

/// Label of a regimen with nothing evaluated in a shown group.
const NONE_EVALUATED: &str = "n=0";

impl<'a> AttainmentFigure<'a> {
    /// Lay out the figure (see [`attainment_svg`]).
    fn new(title: &'a str, charts: &'a [AttainmentChart]) -> Result<Self, String> {
        let font = FontRef::try_from_slice(FONT_BYTES)
            .map_err(|e| format!("bundled font unusable: {e}"))?;
        let too_tall = || format!("figure too tall ({} charts)", charts.len());

        let bars = charts.iter().map(bar_count).max().unwrap_or(0);
        let entries = (0..bars)
            .map(|i| {
                let label = charts
                    .iter()
                    .filter_map(|c| c.regimens.get(i))
                    .map(|l| l.trim())
                    .find(|l| !l.is_empty())
                    .map_or_else(|| format!("regimen {}", i + 1), str::to_owned);
                LegendEntry {
                    label,
                    colour: colour(i),
                    swatch: Swatch::Bar,
                }
            })
            .collect();
        let legend_rows = layout_legend(&font, entries, false);
        let legend_height = u32::try_from(legend_rows.len())
            .ok()
            .and_then(|n| n.checked_mul(LEGEND_ROW_HEIGHT))
            .and_then(|h| h.checked_add(LEGEND_PADDING))
            .ok_or_else(too_tall)?;

        let mut height = TITLE_HEIGHT
            .checked_add(legend_height)
            .ok_or_else(too_tall)?;
        let mut panels = Vec::with_capacity(charts.len());
        let mut label_width = 0;
        let mut value_width = text_width(&font, NONE_EVALUATED, VALUE_FONT);
        for chart in charts {
            let groups: Vec<&AttainmentGroup> = chart
                .groups
                .iter()
                .filter(|g| g.values.iter().any(|&v| evaluated(v).is_some()))
                .collect();
            for group in &groups {
                label_width = label_width.max(text_width(&font, &group.label, GROUP_FONT));
                for &(a, e) in group.values.iter().filter_map(|v| v.as_ref()) {
                    if e > 0 {
                        let (_, label) = attainment_value(a, e);
                        value_width = value_width.max(text_width(&font, &label, VALUE_FONT));
                    }
                }
            }
            let pitch = u32::try_from(bar_count(chart).max(1))
                .ok()
                .and_then(|n| n.checked_mul(BAR_THICKNESS))
                .and_then(|h| h.checked_add(BAR_ROW_GAP));
            let panel_height = u32::try_from(groups.len().max(1))
                .ok()
                .zip(pitch)
                .and_then(|(rows, pitch)| rows.checked_mul(pitch))
                .and_then(|h| h.checked_add(BAR_PANEL_CHROME))
                .ok_or_else(too_tall)?;
            height = height.checked_add(panel_height).ok_or_else(too_tall)?;
            panels.push((chart, groups, panel_height));
        }
        i32::try_from(height).map_err(|_| too_tall())?;
        Ok(AttainmentFigure {
            title,
            panels,
            legend_rows,
            legend_height,
            height,
            label_width: (label_width + 16).clamp(40, MAX_LABEL_WIDTH) as u32,
            value_width: (value_width + VALUE_GAP + 12) as u32,
            font,
        })
    }

    /// Draw the figure on `root`, a `WIDTH` × `height` drawing area.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let (title_area, rest) = root.split_vertically(TITLE_HEIGHT);
        let (legend_area, mut rest) = rest.split_vertically(self.legend_height);
        draw_title(&title_area, self.title)?;
        draw_legend(&legend_area, &self.legend_rows)?;
        for (chart, groups, panel_height) in &self.panels {
            let (panel, below) = rest.split_vertically(*panel_height);
            draw_attainment_panel(&panel, chart, groups, self.label_width, self.value_width)?;
            rest = below;
        }
        root.present().map_err(err)
    }
}

/// Draw one attainment panel: `groups` (those of `chart` to show) as rows of
/// bars, top to bottom.
fn draw_attainment_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &AttainmentChart,
    groups: &[&AttainmentGroup],
    label_width: u32,
    value_width: u32,
) -> Result<(), String> {
    let x_axis = Axis::linear(0.0, 1.0, 10);
    let x_format = x_axis.format;
    let rows = groups.len().max(1);
    // The rows are laid out in pixels below; the y axis only spans them.
    let y_axis = Axis {
        lo: 0.0,
        hi: rows as f64,
        log: false,
        ticks: Vec::new(),
        minor: Vec::new(),
        format: TickFormat::Step {
            step: 1.0,
            scientific: false,
        },
    };
    let mut cc = ChartBuilder::on(area)
        .caption(&chart.target, (FONT, 17))
        .margin(8)
        .margin_right(value_width)
        .x_label_area_size(40)
        .y_label_area_size(label_width)
        .build_cartesian_2d(x_axis, y_axis)
        .map_err(err)?;
    cc.configure_mesh()
        .disable_y_mesh()
        .x_desc("probability of attainment")
        .x_label_formatter(&|v| x_format.label(*v))
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()
        .map_err(err)?;

    // The plotting area in the panel's pixel coordinates.
    let (base_x, base_y) = area.get_base_pixel();
    let (_, y_pixels) = cc.plotting_area().get_pixel_range();
    let x_at = |p: f64| cc.backend_coord(&(p, 0.0)).0 - base_x;
    let (left, right) = (x_at(0.0), x_at(1.0));
    let (top, bottom) = (y_pixels.start - base_y, y_pixels.end - base_y);
    let pitch = f64::from(bottom - top) / rows as f64;

    let grey = RGBColor(110, 110, 110);
    if groups.is_empty() {
        let style = TextStyle::from((FONT, GROUP_FONT).into_font().style(FontStyle::Italic))
            .color(&grey)
            .pos(Pos::new(HPos::Center, VPos::Center));
        let centre = ((left + right) / 2, (top + bottom) / 2);
        return area
            .draw(&Text::new(NO_SUBJECTS, centre, style))
            .map_err(err);
    }

    let label_style = TextStyle::from((FONT, GROUP_FONT).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    let value_style = TextStyle::from((FONT, VALUE_FONT).into_font())
        .color(&RGBColor(40, 40, 40))
        .pos(Pos::new(HPos::Left, VPos::Center));
    let bars = bar_count(chart).max(1);
    // Whole pixels, so that every bar is equally thick.
    let bar = ((pitch - f64::from(BAR_ROW_GAP)).max(0.5 * pitch) / bars as f64)
        .floor()
        .max(1.0);
    let block = |label: &str| label.split_once(": ").map_or(label, |(b, _)| b).to_owned();
    let separator_left = left - label_width as i32 + 8;
    for (k, group) in groups.iter().enumerate() {
        let row_top = f64::from(top) + pitch * k as f64;
        if k > 0 && block(&group.label) != block(&groups[k - 1].label) {
            let y = row_top.round() as i32;
            let line = PathElement::new(vec![(separator_left, y), (right, y)], grey);
            area.draw(&line).map_err(err)?;
        }
        let centre = (row_top + 0.5 * pitch).round() as i32;
        area.draw(&Text::new(
            group.label.as_str(),
            (left - 8, centre),
            label_style.clone(),
        ))
        .map_err(err)?;
        let first = (row_top + 0.5 * (pitch - bar * bars as f64)).round();
        for i in 0..bars {
            let y0 = (first + bar * i as f64) as i32;
            let y1 = ((first + bar * (i + 1) as f64) as i32 - 1).max(y0);
            let y_mid = (y0 + y1 + 1) / 2;
            match group.values.get(i).copied().and_then(evaluated) {
                Some((a, e)) => {
                    let (p, label) = attainment_value(a, e);
                    let end = x_at(p);
                    area.draw(&Rectangle::new([(left, y0), (end, y1)], colour(i).filled()))
                        .map_err(err)?;
                    let at = (end + VALUE_GAP, y_mid);
                    area.draw(&Text::new(label, at, value_style.clone()))
                        .map_err(err)?;
                }
                None => {
                    let at = (left + VALUE_GAP, y_mid);
                    let style = value_style.clone().color(&grey);
                    area.draw(&Text::new(NONE_EVALUATED, at, style))
                        .map_err(err)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            label: label.to_owned(),
            points,
        }
    }

    fn decay(scale: f64) -> Vec<(f64, f64)> {
        (0..=56)
            .map(|d| {
                let t = f64::from(d) * 0.5;
                (t, scale * (-0.1 * t).exp())
            })
            .collect()
    }

    fn example() -> (Vec<Panel>, Vec<DoseMarks>) {
        let panels = vec![
            Panel {
                title: "Drug concentration".into(),
                y_label: "C (mg/L)".into(),
                series: vec![
                    series("50 mg q2w", decay(10.0)),
                    series("100 mg q4w", decay(20.0)),
                ],
                log_y: true,
            },
            Panel {
                title: "C-reactive protein".into(),
                y_label: "CRP (mg/L)".into(),
                series: vec![
                    series("50 mg q2w", decay(5.0)),
                    series("100 mg q4w", decay(4.0)),
                ],
                log_y: false,
            },
            Panel {
                title: "IL-1β".into(),
                y_label: "IL-1 (pg/mL)".into(),
                series: vec![series("50 mg q2w", vec![(0.0, 1.0), (28.0, 1.0)])],
                log_y: false,
            },
        ];
        let doses = vec![
            DoseMarks {
                label: "50 mg q2w".into(),
                times_days: vec![0.0, 14.0, 28.0],
            },
            DoseMarks {
                label: "100 mg q4w".into(),
                times_days: vec![0.0, 28.0],
            },
        ];
        (panels, doses)
    }

    #[test]
    fn svg_contains_titles_labels_and_legend() {
        let (panels, doses) = example();
        let svg = timecourse_svg("Anakinra regimens", &panels, &doses).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.trim_end().ends_with("</svg>"));
        for text in [
            "Anakinra regimens",
            "Drug concentration",
            "C-reactive protein",
            "IL-1β",
            "time (days)",
            "CRP (mg/L)",
            "C (mg/L)",
            "50 mg q2w",
            "100 mg q4w",
            DOSE_NOTE,
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
        assert_eq!(svg.matches("time (days)").count(), panels.len());
    }

    #[test]
    fn colours_are_consistent_across_panels_and_doses() {
        let (panels, doses) = example();
        let svg = timecourse_svg("t", &panels, &doses).unwrap();
        for i in 0..2 {
            let RGBColor(r, g, b) = colour(i);
            let hex = format!("#{r:02X}{g:02X}{b:02X}");
            // Legend swatch, two panels' lines and the dose ticks at least.
            assert!(
                svg.matches(&hex).count() >= 4,
                "colour {hex} used too little"
            );
        }
    }

    #[test]
    fn text_is_escaped() {
        let panel = Panel {
            title: "a < b & c".into(),
            y_label: "y".into(),
            series: vec![series("<regimen>", vec![(0.0, 1.0), (1.0, 2.0)])],
            log_y: false,
        };
        let svg = timecourse_svg("x & y", &[panel], &[]).unwrap();
        assert!(svg.contains("a &lt; b &amp; c"));
        assert!(svg.contains("&lt;regimen&gt;"));
        assert!(svg.contains("x &amp; y"));
    }

    #[test]
    fn empty_inputs_do_not_error() {
        let svg = timecourse_svg("", &[], &[]).unwrap();
        assert!(svg.starts_with("<svg"));

        let svg = timecourse_svg("only title", &[], &[]).unwrap();
        assert!(svg.contains("only title"));

        let empty = Panel {
            title: "empty".into(),
            y_label: "y".into(),
            series: vec![],
            log_y: false,
        };
        let empty_series = Panel {
            title: "empty series".into(),
            y_label: "y".into(),
            series: vec![series("", vec![])],
            log_y: true,
        };
        let svg = timecourse_svg("t", &[empty, empty_series], &[]).unwrap();
        assert!(svg.contains("empty series"));
        assert!(
            svg.contains("series 1"),
            "unlabelled series gets a default label"
        );
    }

    #[test]
    fn single_point_and_flat_series_do_not_error() {
        let panels = vec![
            Panel {
                title: "single".into(),
                y_label: "y".into(),
                series: vec![series("a", vec![(3.0, 2.0)])],
                log_y: false,
            },
            Panel {
                title: "flat zero".into(),
                y_label: "y".into(),
                series: vec![series("a", vec![(0.0, 0.0), (5.0, 0.0)])],
                log_y: false,
            },
            Panel {
                title: "flat log".into(),
                y_label: "y".into(),
                series: vec![series("a", vec![(0.0, 7.0), (5.0, 7.0)])],
                log_y: true,
            },
            Panel {
                title: "single at t=0".into(),
                y_label: "y".into(),
                series: vec![series("a", vec![(0.0, -4.0)])],
                log_y: false,
            },
        ];
        let svg = timecourse_svg("t", &panels, &[]).unwrap();
        assert!(svg.contains("<circle"), "a lone point is drawn as a dot");
    }

    #[test]
    fn non_finite_and_log_non_positive_values_are_skipped() {
        let nan_panel = Panel {
            title: "nan".into(),
            y_label: "y".into(),
            series: vec![
                series(
                    "a",
                    vec![
                        (0.0, 1.0),
                        (1.0, f64::NAN),
                        (2.0, f64::INFINITY),
                        (f64::NAN, 3.0),
                        (3.0, 2.0),
                        (4.0, f64::NEG_INFINITY),
                        (5.0, 1e300),
                        (6.0, -1e300),
                    ],
                ),
                series("all nan", vec![(f64::NAN, f64::NAN); 3]),
            ],
            log_y: false,
        };
        let log_zero = Panel {
            title: "log with zeros".into(),
            y_label: "y".into(),
            series: vec![series(
                "a",
                vec![(0.0, 0.0), (1.0, 10.0), (2.0, -1.0), (3.0, 100.0)],
            )],
            log_y: true,
        };
        let log_nothing_positive = Panel {
            title: "log nothing positive".into(),
            y_label: "y".into(),
            series: vec![series("a", vec![(0.0, 0.0), (1.0, -2.0), (2.0, f64::NAN)])],
            log_y: true,
        };
        let doses = [DoseMarks {
            label: "d".into(),
            times_days: vec![f64::NAN, -1.0, 0.0, 1.0, 1e9, f64::INFINITY],
        }];
        let svg =
            timecourse_svg("t", &[nan_panel, log_zero, log_nothing_positive], &doses).unwrap();
        assert!(!svg.contains("NaN"));
        assert!(!svg.contains("inf"));
    }

    #[test]
    fn extreme_magnitudes_do_not_error() {
        let cases = [
            (1e-300, 2e-300, false),
            (1e-300, 2e-300, true),
            (5e-324, 1e-320, false),
            (5e-324, 1e-320, true),
            (1e150, 1e150, false),
            (1e16, 1e16 + 2.0, false),
            (1.0, 1.0 + 1e-15, false),
            (1.0, 1.0 + 1e-15, true),
            (-1e200, 1e200, false),
            (1e-150, 1e150, true),
            (1e-300, 1e200, true),
            (f64::MIN_POSITIVE, f64::MAX, true),
        ];
        for (a, b, log_y) in cases {
            let panel = Panel {
                title: "p".into(),
                y_label: "y".into(),
                series: vec![series("a", vec![(0.0, a), (1e-6, b)])],
                log_y,
            };
            timecourse_svg("t", &[panel], &[]).unwrap();
        }
    }

    #[test]
    fn many_regimens_wrap_the_legend() {
        let series: Vec<Series> = (0..14)
            .map(|i| Series {
                label: format!("regimen number {i} with a long name"),
                points: decay(f64::from(i) + 1.0),
            })
            .collect();
        let panel = Panel {
            title: "many".into(),
            y_label: "y".into(),
            series,
            log_y: false,
        };
        let svg = timecourse_svg("t", &[panel], &[]).unwrap();
        assert!(svg.contains("regimen number 13 with a long name"));
    }

    #[test]
    fn ranges() {
        assert_eq!(linear_y_range(0.0, 10.0), (-0.5, 10.5));
        assert_eq!(linear_y_range(0.0, 0.0), (-1.0, 1.0));
        let (lo, hi) = linear_y_range(5.0, 5.0);
        assert!((lo - 4.5).abs() < 1e-12 && (hi - 5.5).abs() < 1e-12);
        let (lo, hi) = log_y_range(10.0, 10.0);
        assert!((lo - 5.0).abs() < 1e-9 && (hi - 20.0).abs() < 1e-9);
        let (lo, hi) = log_y_range(1e-2, 1e2);
        assert!(lo < 1e-2 && lo > 1e-3 && hi > 1e2 && hi < 1e3);
        let panels = [Panel {
            title: String::new(),
            y_label: String::new(),
            series: vec![series("a", vec![(1.0, 1.0), (28.0, 2.0)])],
            log_y: false,
        }];
        assert_eq!(time_range(&panels, &[]), (0.0, 28.0));
        assert_eq!(time_range(&[], &[]), (0.0, 1.0));
    }

    fn labels(axis: &Axis) -> Vec<String> {
        axis.ticks.iter().map(|&v| axis.format.label(v)).collect()
    }

    #[test]
    fn linear_ticks() {
        assert_eq!(
            labels(&Axis::linear(0.0, 28.0, 10)),
            ["0", "5", "10", "15", "20", "25"]
        );
        assert_eq!(
            labels(&Axis::linear(-0.1, 2.1, 6)),
            ["0.0", "0.5", "1.0", "1.5", "2.0"]
        );
        assert_eq!(
            labels(&Axis::linear(2.7, 3.3, 6)),
            ["2.7", "2.8", "2.9", "3.0", "3.1", "3.2", "3.3"]
        );
        assert_eq!(
            labels(&Axis::linear(-1.0, 1.05e6, 6)),
            ["0", "2e5", "4e5", "6e5", "8e5", "1e6"]
        );
        assert_eq!(labels(&Axis::linear(1234.0, 1234.5, 6))[1], "1234.1");
        assert_eq!(
            labels(&Axis::linear(0.0, 5e5, 6)),
            ["0", "1e5", "2e5", "3e5", "4e5", "5e5"]
        );
        assert_eq!(labels(&Axis::linear(1e7, 1.0005e7, 5))[1], "1.0001e7");
        assert_eq!(labels(&Axis::linear(0.0, 3e4, 6))[1], "5000");
        assert_eq!(labels(&Axis::linear(0.0, 3e-4, 6))[3], "1.5e-4");
        assert_eq!(
            labels(&Axis::linear(100.0, 900.0, 6)),
            ["200", "400", "600", "800"]
        );
        let axis = Axis::linear(0.0, 10.0, 5);
        assert_eq!(axis.map(&5.0, (0, 100)), 50);
        assert_eq!(axis.map(&f64::NAN, (0, 100)), 0);
        assert_eq!(axis.map(&1e300, (0, 100)), 200);
        assert!((axis.value_at(0.25) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn log_ticks() {
        assert_eq!(
            labels(&Axis::log(0.9, 600.0)),
            ["1", "2", "5", "10", "20", "50", "100", "200", "500"]
        );
        assert_eq!(
            labels(&Axis::log(0.04, 0.6)),
            ["0.05", "0.1", "0.2", "0.3", "0.5"]
        );
        // Within one decade: round linear steps.
        assert_eq!(labels(&Axis::log(2.0, 8.0)), ["2", "4", "6", "8"]);
        assert_eq!(labels(&Axis::log(2.1e-6, 2.9e-6))[0], "2.2e-6");
        // Many decades: every other power of ten.
        assert_eq!(
            labels(&Axis::log(1e-6, 2e6)),
            ["1e-6", "1e-4", "0.01", "1", "100", "10000", "1e6"]
        );
        let axis = Axis::log(1.0, 100.0);
        assert_eq!(axis.map(&10.0, (100, 0)), 50);
        assert_eq!(axis.map(&0.0, (100, 0)), 200);
        assert!((axis.value_at(0.5) - 10.0).abs() < 1e-9);
    }

    /// Decode a PNG into (width, height, RGB pixels).
    fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        pixels.truncate(info.buffer_size());
        (info.width, info.height, pixels)
    }

    #[test]
    fn png_is_a_valid_image_of_the_expected_size() {
        let (panels, doses) = example();
        let png = timecourse_png("Anakinra regimens", &panels, &doses).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{:?}", &png[..8]);
        let (width, height, pixels) = decode_png(&png);
        // Title strip, one legend row, two rows of panels (three panels).
        let expected = TITLE_HEIGHT + LEGEND_ROW_HEIGHT + LEGEND_PADDING + 2 * PANEL_HEIGHT;
        assert_eq!((width, height), (WIDTH, expected));
        assert_eq!(pixels.len(), (WIDTH * expected * 3) as usize);

        let rgb = |x: u32, y: u32| {
            let i = ((y * WIDTH + x) * 3) as usize;
            (pixels[i], pixels[i + 1], pixels[i + 2])
        };
        // White background, dark text in the title strip (so the bundled
        // font was used), and both regimen colours drawn.
        assert_eq!(rgb(0, 0), (255, 255, 255));
        let title_ink = (0..TITLE_HEIGHT)
            .flat_map(|y| (0..WIDTH).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let (r, g, b) = rgb(x, y);
                r < 100 && g < 100 && b < 100
            })
            .count();
        assert!(
            title_ink > 200,
            "title text missing ({title_ink} dark pixels)"
        );
        for i in 0..2 {
            let RGBColor(r, g, b) = colour(i);
            let count = pixels.chunks_exact(3).filter(|p| p == &[r, g, b]).count();
            assert!(count > 500, "colour {i} drawn on only {count} pixels");
        }
    }

    #[test]
    fn png_is_deterministic_and_handles_edge_cases() {
        let (panels, doses) = example();
        let a = timecourse_png("t", &panels, &doses).unwrap();
        let b = timecourse_png("t", &panels, &doses).unwrap();
        assert!(a == b, "same figure, different PNG bytes");

        let (w, h, _) = decode_png(&timecourse_png("", &[], &[]).unwrap());
        assert_eq!((w, h), (WIDTH, TITLE_HEIGHT + LEGEND_PADDING));
        let odd = Panel {
            title: "a < b & c — IL-1β (µg/mL)".into(),
            y_label: "y".into(),
            series: vec![series("", vec![(0.0, f64::NAN), (1.0, 0.0), (2.0, 1e300)])],
            log_y: true,
        };
        timecourse_png("t", &[odd], &[]).unwrap();

        let many = vec![Panel::default(); 250];
        let e = timecourse_png("t", &many, &[]).unwrap_err();
        assert!(e.contains("too tall"), "{e}");
        timecourse_svg("t", &many, &[]).unwrap();
    }

    fn group(label: &str, values: Vec<Option<(u64, u64)>>) -> AttainmentGroup {
        AttainmentGroup {
            label: label.to_owned(),
            values,
        }
    }

    fn attainment_example() -> Vec<AttainmentChart> {
        let regimens = vec![
            "100 mg daily".to_owned(),
            "100 mg every other day".to_owned(),
        ];
        vec![
            AttainmentChart {
                target: "occupancy at trough >= 0.95".into(),
                regimens: regimens.clone(),
                groups: vec![
                    group("overall", vec![Some((280, 341)), Some((41, 341))]),
                    group("renal: CrCl >= 90", vec![Some((100, 120)), Some((0, 120))]),
                    group("renal: CrCl < 15", vec![None, None]),
                    group("weight: 50-69 kg", vec![Some((3, 3)), Some((1, 3))]),
                ],
            },
            AttainmentChart {
                target: "CRP < 10 mg/L on day 28".into(),
                regimens,
                groups: vec![
                    group("overall", vec![Some((341, 341)), Some((340, 341))]),
                    group("age: < 2 y", vec![Some((0, 0)), Some((0, 0))]),
                    group("age: >= 65 y", vec![Some((49, 49)), None]),
                ],
            },
        ]
    }

    #[test]
    fn attainment_values_are_labelled() {
        assert_eq!(
            attainment_value(280, 341),
            (280.0 / 341.0, "82% (n=341)".into())
        );
        assert_eq!(attainment_value(0, 72), (0.0, "0% (n=72)".into()));
        assert_eq!(attainment_value(49, 49), (1.0, "100% (n=49)".into()));
        assert_eq!(attainment_value(1, 1000).1, "<1% (n=1000)");
        assert_eq!(attainment_value(999, 1000).1, ">99% (n=1000)");
        assert_eq!(attainment_value(1, 8).1, "13% (n=8)");
        // More attained than evaluated cannot happen; it is drawn as 100 %.
        assert_eq!(attainment_value(5, 4), (1.0, "100% (n=4)".into()));
    }

    #[test]
    fn attainment_svg_has_targets_groups_and_values() {
        let charts = attainment_example();
        let svg = attainment_svg("Attainment & strata", &charts).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.trim_end().ends_with("</svg>"));
        for text in [
            "Attainment &amp; strata",
            "occupancy at trough &gt;= 0.95",
            "CRP &lt; 10 mg/L on day 28",
            "100 mg daily",
            "100 mg every other day",
            "overall",
            "renal: CrCl &gt;= 90",
            "weight: 50-69 kg",
            "age: &gt;= 65 y",
            "82% (n=341)",
            "12% (n=341)",
            "83% (n=120)",
            "0% (n=120)",
            "100% (n=3)",
            "33% (n=3)",
            "100% (n=341)",
            "&gt;99% (n=341)",
            "100% (n=49)",
            "probability of attainment",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
        // Groups with nothing evaluated are left out (None and zero counts);
        // a shown group's regimen with nothing evaluated says n=0.
        assert!(!svg.contains("CrCl &lt; 15"));
        assert!(!svg.contains("age: &lt; 2 y"));
        assert_eq!(svg.matches("\nn=0\n").count(), 1, "one n=0 label");
        assert_eq!(svg.matches("probability of attainment").count(), 2);
        // Regimen colours: legend block and bars.
        for i in 0..2 {
            let RGBColor(r, g, b) = colour(i);
            let hex = format!("#{r:02X}{g:02X}{b:02X}");
            assert!(
                svg.matches(&hex).count() >= 5,
                "colour {hex} used too little"
            );
        }
    }

    #[test]
    fn attainment_png_decodes_with_the_planned_height() {
        let charts = attainment_example();
        let png = attainment_png("t", &charts).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let (width, height, pixels) = decode_png(&png);
        // Two bars per row; three shown rows, then two.
        let pitch = 2 * BAR_THICKNESS + BAR_ROW_GAP;
        let expected = TITLE_HEIGHT
            + LEGEND_ROW_HEIGHT
            + LEGEND_PADDING
            + (BAR_PANEL_CHROME + 3 * pitch)
            + (BAR_PANEL_CHROME + 2 * pitch);
        assert_eq!((width, height), (WIDTH, expected));
        for i in 0..2 {
            let RGBColor(r, g, b) = colour(i);
            let count = pixels.chunks_exact(3).filter(|p| p == &[r, g, b]).count();
            assert!(count > 2000, "colour {i} drawn on only {count} pixels");
        }
        assert!(
            png == attainment_png("t", &charts).unwrap(),
            "same figure, different PNG bytes"
        );
    }

    #[test]
    fn attainment_empty_inputs_do_not_error() {
        let svg = attainment_svg("", &[]).unwrap();
        assert!(svg.starts_with("<svg"));
        let (w, h, _) = decode_png(&attainment_png("", &[]).unwrap());
        assert_eq!((w, h), (WIDTH, TITLE_HEIGHT + LEGEND_PADDING));

        let charts = vec![
            AttainmentChart::default(),
            AttainmentChart {
                target: "nothing evaluated".into(),
                regimens: vec!["a".into(), String::new(), "c".into()],
                groups: vec![
                    group("overall", vec![Some((0, 0)), None, Some((0, 0))]),
                    group("renal: CrCl 30-59", vec![]),
                ],
            },
            AttainmentChart {
                target: "ragged".into(),
                regimens: vec![],
                groups: vec![group("overall", vec![Some((1, 2)), None, Some((0, 5))])],
            },
        ];
        let svg = attainment_svg("t", &charts).unwrap();
        assert_eq!(svg.matches(NO_SUBJECTS).count(), 2);
        assert!(!svg.contains("CrCl 30-59"));
        assert!(svg.contains("50% (n=2)") && svg.contains("0% (n=5)"));
        assert!(svg.contains("regimen 2"), "unnamed regimen gets a name");
        attainment_png("t", &charts).unwrap();

        let many = vec![attainment_example()[0].clone(); 200];
        let e = attainment_png("t", &many).unwrap_err();
        assert!(e.contains("too tall"), "{e}");
        attainment_svg("t", &many).unwrap();
    }

    /// Writes the example figure to `$PLOT_EXAMPLE_SVG` and `$PLOT_EXAMPLE_PNG`,
    /// and the example attainment figure to `$PLOT_ATTAINMENT_PNG`, when those
    /// variables are set, for looking at the output by eye.
    #[test]
    fn write_example_when_requested() {
        let (panels, doses) = example();
        if let Some(path) = std::env::var_os("PLOT_EXAMPLE_SVG") {
            let svg = timecourse_svg("Example regimens", &panels, &doses).unwrap();
            std::fs::write(path, svg).unwrap();
        }
        if let Some(path) = std::env::var_os("PLOT_EXAMPLE_PNG") {
            let png = timecourse_png("Example regimens", &panels, &doses).unwrap();
            std::fs::write(path, png).unwrap();
        }
        if let Some(path) = std::env::var_os("PLOT_ATTAINMENT_PNG") {
            let png = attainment_png("Example attainment", &attainment_example()).unwrap();
            std::fs::write(path, png).unwrap();
        }
    }
}
