//! Figures of the clinical tools: dose-response curves (a line per regimen template with its
//! bands: the Wilson interval of an attainment, the 5–95th and 25–75th percentiles of a
//! quantity) and a ranking chart (one horizontal bar per regimen, its attainment with the
//! interval as a whisker). Title, legend, palette and the PNG font are those of the other
//! figures.

use super::legend::*;
use super::panel::{finite, xy_panel};
use super::raster::render_png;
use super::style::*;
use ab_glyph::FontRef;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Height of one curve panel in pixels.
const CURVE_PANEL_HEIGHT: u32 = 340;
/// Height of one bar of the ranking chart and its gap.
const RANK_ROW: u32 = 22;
/// Width of the regimen labels of the ranking chart.
const RANK_LABEL_WIDTH: u32 = 430;

/// One point of a curve: `y` at dose `x`, with an outer and an inner band.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CurvePoint {
    pub x: f64,
    pub y: f64,
    pub outer: Option<(f64, f64)>,
    pub inner: Option<(f64, f64)>,
}

/// One line (a regimen template).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CurveSeries {
    pub label: String,
    pub points: Vec<CurvePoint>,
}

/// One panel of curves.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CurvePanel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<CurveSeries>,
    /// A fixed y range (attainment: 0 to 1); None: the data's, padded.
    pub y_range: Option<(f64, f64)>,
    /// What the bands are, written under the title.
    pub note: String,
}

struct Layout {
    font: FontRef<'static>,
    legend_rows: Vec<LegendRow>,
    legend_height: u32,
    height: u32,
}

fn layout(entries: Vec<LegendEntry>, body: u32) -> Result<Layout, String> {
    let font =
        FontRef::try_from_slice(FONT_BYTES).map_err(|e| format!("bundled font unusable: {e}"))?;
    let legend_rows = layout_legend(&font, entries, false);
    let legend_height = legend_rows.len() as u32 * LEGEND_ROW_HEIGHT + LEGEND_PADDING;
    let height = TITLE_HEIGHT + legend_height + body;
    if height > PNG_MAX_HEIGHT {
        return Err(format!("figure too tall ({height} px)"));
    }
    Ok(Layout {
        font,
        legend_rows,
        legend_height,
        height,
    })
}

fn curve_layout(panels: &[CurvePanel]) -> Result<Layout, String> {
    let n = panels.iter().map(|p| p.series.len()).max().unwrap_or(0);
    let entries = (0..n)
        .map(|i| LegendEntry {
            label: panels
                .iter()
                .find_map(|p| p.series.get(i).map(|s| s.label.clone()))
                .unwrap_or_default(),
            colour: colour(i),
            swatch: Swatch::Line,
        })
        .collect();
    layout(entries, CURVE_PANEL_HEIGHT * panels.len() as u32)
}

fn draw_curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[CurvePanel],
    l: &Layout,
) -> Result<(), String> {
    let body = page_body(root, title, &l.legend_rows, l.legend_height)?;
    let areas = body.split_evenly((panels.len().max(1), 1));
    for (panel, area) in panels.iter().zip(areas) {
        draw_curve_panel(&area, panel)?;
    }
    Ok(())
}

fn draw_curve_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &CurvePanel,
) -> Result<(), String> {
    let xs: Vec<f64> = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|q| q.x))
        .filter(|x| finite(*x))
        .collect();
    let (mut x0, mut x1) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    if !(x0.is_finite() && x1.is_finite()) {
        (x0, x1) = (0.0, 1.0);
    }
    if x1 - x0 <= 0.0 {
        (x0, x1) = (x0 - 0.5 * x0.abs().max(1.0), x1 + 0.5 * x1.abs().max(1.0));
    }
    let pad = 0.04 * (x1 - x0);
    let (x0, x1) = (
        (x0 - pad).max(if x0 >= 0.0 { 0.0 } else { f64::MIN }),
        x1 + pad,
    );
    let (y0, y1) = match p.y_range {
        Some(r) => r,
        None => {
            let ys: Vec<f64> = p
                .series
                .iter()
                .flat_map(|s| {
                    s.points.iter().flat_map(|q| {
                        [Some(q.y), q.outer.map(|o| o.0), q.outer.map(|o| o.1)]
                            .into_iter()
                            .flatten()
                    })
                })
                .filter(|y| finite(*y))
                .collect();
            let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !(lo.is_finite() && hi.is_finite()) {
                (0.0, 1.0)
            } else if hi - lo <= 0.0 {
                (lo - 0.1 * lo.abs().max(1.0), hi + 0.1 * hi.abs().max(1.0))
            } else {
                let pad = 0.05 * (hi - lo);
                (
                    (lo - pad).max(if lo >= 0.0 { 0.0 } else { f64::MIN }),
                    hi + pad,
                )
            }
        }
    };
    let caption = if p.note.is_empty() {
        p.title.clone()
    } else {
        format!("{} ({})", p.title, p.note)
    };
    let mut chart = xy_panel(area, &caption, &p.x_label, &p.y_label, x0..x1, y0..y1)?;
    for (i, s) in p.series.iter().enumerate() {
        let c = colour(i);
        let pts: Vec<&CurvePoint> = s.points.iter().filter(|q| finite(q.x)).collect();
        for (band, alpha) in [(0usize, 0.15), (1usize, 0.30)] {
            let get = |q: &CurvePoint| if band == 0 { q.outer } else { q.inner };
            let b: Vec<(f64, (f64, f64))> = pts
                .iter()
                .filter_map(|q| get(q).map(|r| (q.x, r)))
                .filter(|(_, r)| finite(r.0) && finite(r.1))
                .map(|(x, (a, b))| (x, (a.clamp(y0, y1), b.clamp(y0, y1))))
                .collect();
            if b.len() >= 2 {
                let mut poly: Vec<(f64, f64)> = b.iter().map(|(x, r)| (*x, r.1)).collect();
                poly.extend(b.iter().rev().map(|(x, r)| (*x, r.0)));
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, c.mix(alpha).filled())))
                    .map_err(err)?;
            } else if let Some(&(x, (lo, hi))) = b.first() {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, lo), (x, hi)],
                        c.mix(alpha + 0.3).stroke_width(6),
                    )))
                    .map_err(err)?;
            }
        }
        let line: Vec<(f64, f64)> = pts
            .iter()
            .filter(|q| finite(q.y))
            .map(|q| (q.x, q.y.clamp(y0, y1)))
            .collect();
        chart
            .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(line.iter().map(|&xy| Circle::new(xy, 3, c.filled())))
            .map_err(err)?;
    }
    Ok(())
}

/// Dose-response curves as SVG.
pub fn curves_svg(title: &str, panels: &[CurvePanel]) -> Result<String, String> {
    let l = curve_layout(panels)?;
    render_svg(l.height, |root| draw_curves(root, title, panels, &l))
}

/// Dose-response curves as PNG (the same figure as [`curves_svg`]).
pub fn curves_png(title: &str, panels: &[CurvePanel]) -> Result<Vec<u8>, String> {
    let l = curve_layout(panels)?;
    render_png(&l.font, l.height, |root| {
        draw_curves(root, title, panels, &l)
    })
}

/// One bar of a ranking chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RankBar {
    pub label: String,
    /// 0 to 1.
    pub value: f64,
    pub interval: Option<(f64, f64)>,
    /// Colour index (e.g. by schedule).
    pub group: usize,
}

fn rank_layout(groups: &[String], bars: &[RankBar]) -> Result<Layout, String> {
    let entries = bar_entries(groups);
    layout(entries, RANK_ROW * bars.len().max(1) as u32 + 90)
}

fn draw_ranking<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_label: &str,
    bars: &[RankBar],
    l: &Layout,
) -> Result<(), String> {
    let body = page_body(root, title, &l.legend_rows, l.legend_height)?;
    let n = bars.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&body)
        .margin(12)
        .margin_right(70)
        .x_label_area_size(40)
        .y_label_area_size(RANK_LABEL_WIDTH)
        .build_cartesian_2d(0.0..1.0f64, 0.0..n)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(x_label)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .draw()
        .map_err(err)?;
    let label_style = TextStyle::from((FONT, 12).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    let value_style = TextStyle::from((FONT, 11).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (k, b) in bars.iter().enumerate() {
        // Top to bottom: the first bar at the top.
        let yc = n - k as f64 - 0.5;
        let c = colour(b.group);
        let v = if b.value.is_finite() {
            b.value.clamp(0.0, 1.0)
        } else {
            0.0
        };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, yc - 0.35), (v, yc + 0.35)],
                c.filled(),
            )))
            .map_err(err)?;
        if let Some((lo, hi)) = b.interval {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(lo.clamp(0.0, 1.0), yc), (hi.clamp(0.0, 1.0), yc)],
                    BLACK.stroke_width(1),
                )))
                .map_err(err)?;
        }
        let (px, py) = chart.backend_coord(&(0.0, yc));
        let text = if b.label.chars().count() > 62 {
            format!("{}…", b.label.chars().take(61).collect::<String>())
        } else {
            b.label.clone()
        };
        // Backend coordinates are the figure's, so the labels go on the root area.
        root.draw(&Text::new(text, (px - 8, py), label_style.clone()))
            .map_err(err)?;
        let (vx, vy) = chart.backend_coord(&(v.max(b.interval.map_or(0.0, |i| i.1)), yc));
        root.draw(&Text::new(
            format!("{:.0}%", 100.0 * b.value),
            (vx + 5, vy),
            value_style.clone(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// A ranking chart as SVG: `bars` top to bottom, coloured by `groups`.
pub fn ranking_svg(
    title: &str,
    x_label: &str,
    groups: &[String],
    bars: &[RankBar],
) -> Result<String, String> {
    let l = rank_layout(groups, bars)?;
    render_svg(l.height, |root| {
        draw_ranking(root, title, x_label, bars, &l)
    })
}

/// The same chart as PNG.
pub fn ranking_png(
    title: &str,
    x_label: &str,
    groups: &[String],
    bars: &[RankBar],
) -> Result<Vec<u8>, String> {
    let l = rank_layout(groups, bars)?;
    render_png(&l.font, l.height, |root| {
        draw_ranking(root, title, x_label, bars, &l)
    })
}
