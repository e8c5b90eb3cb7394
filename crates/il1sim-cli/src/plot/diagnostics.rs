//! Figures of population estimation: goodness-of-fit scatter panels (DV vs PRED and vs IPRED
//! with the identity line, CWRES vs time and vs PRED with the zero line and ±2) and the visual
//! predictive check (observed 5th, 50th and 95th percentiles per time bin over the simulated
//! 90% bands of the same percentiles). Title, palette and the PNG font are those of the other
//! figures.

use super::legend::*;
use super::panel::{finite, xy_panel};
use super::raster::render_png;
use super::style::*;
use ab_glyph::FontRef;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Height of one row of panels.
const PANEL_HEIGHT: u32 = 420;

/// One scatter panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScatterPanel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub points: Vec<(f64, f64)>,
    /// Draw y = x.
    pub identity: bool,
    /// Draw y = 0 and y = ±2.
    pub zero_and_two: bool,
}

/// One VPC panel (an observable): per bin, its time, the observed percentiles and the
/// simulated bands ([5th, 50th, 95th] of each percentile).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VpcPanel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub time: Vec<f64>,
    pub observed: Vec<[f64; 3]>,
    pub simulated: Vec<[[f64; 3]; 3]>,
    /// The observations themselves (time, value), drawn faintly.
    pub points: Vec<(f64, f64)>,
}

fn range(values: impl Iterator<Item = f64>, zero_floor: bool) -> (f64, f64) {
    let v: Vec<f64> = values.filter(|x| finite(*x)).collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi - lo <= 0.0 {
        return (lo - 0.5 * lo.abs().max(1.0), hi + 0.5 * hi.abs().max(1.0));
    }
    let pad = 0.05 * (hi - lo);
    let lo = if zero_floor && lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    (lo, hi + pad)
}

fn draw_scatter<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &ScatterPanel,
) -> Result<(), String> {
    let (mut x0, mut x1) = range(p.points.iter().map(|q| q.0), true);
    let (mut y0, mut y1) = range(
        p.points.iter().map(|q| q.1).chain(if p.zero_and_two {
            vec![-2.5, 2.5]
        } else {
            vec![]
        }),
        !p.zero_and_two,
    );
    if p.identity {
        (x0, x1) = (x0.min(y0), x1.max(y1));
        (y0, y1) = (x0, x1);
    }
    let mut chart = xy_panel(area, &p.title, &p.x_label, &p.y_label, x0..x1, y0..y1)?;
    let c = colour(0);
    chart
        .draw_series(
            p.points
                .iter()
                .filter(|q| finite(q.0) && finite(q.1))
                .map(|&q| Circle::new(q, 2, c.mix(0.5).filled())),
        )
        .map_err(err)?;
    let grey = RGBColor(90, 90, 90);
    if p.identity {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x0, x0), (x1, x1)],
                grey.stroke_width(1),
            )))
            .map_err(err)?;
    }
    if p.zero_and_two {
        for (y, w) in [(0.0, 2), (-2.0, 1), (2.0, 1)] {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x0, y), (x1, y)],
                    grey.stroke_width(w),
                )))
                .map_err(err)?;
        }
    }
    Ok(())
}

fn figure_layout(
    entries: Vec<LegendEntry>,
    rows: u32,
) -> Result<(FontRef<'static>, Vec<LegendRow>, u32, u32), String> {
    let font =
        FontRef::try_from_slice(FONT_BYTES).map_err(|e| format!("bundled font unusable: {e}"))?;
    let legend_rows = layout_legend(&font, entries, false);
    let legend_height = if legend_rows.is_empty() {
        0
    } else {
        legend_rows.len() as u32 * LEGEND_ROW_HEIGHT + LEGEND_PADDING
    };
    let height = TITLE_HEIGHT + legend_height + PANEL_HEIGHT * rows;
    Ok((font, legend_rows, legend_height, height))
}

fn draw_gof<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[ScatterPanel],
) -> Result<(), String> {
    let body = page_body(root, title, &[], 0)?;
    let rows = panels.len().div_ceil(2).max(1);
    let areas = body.split_evenly((rows, 2));
    for (p, a) in panels.iter().zip(areas) {
        draw_scatter(&a, p)?;
    }
    Ok(())
}

/// Goodness-of-fit panels (two per row) as SVG.
pub fn gof_svg(title: &str, panels: &[ScatterPanel]) -> Result<String, String> {
    let rows = panels.len().div_ceil(2).max(1) as u32;
    let (_, _, _, height) = figure_layout(vec![], rows)?;
    render_svg(height, |root| draw_gof(root, title, panels))
}

/// Goodness-of-fit panels as PNG (the same figure as [`gof_svg`]).
pub fn gof_png(title: &str, panels: &[ScatterPanel]) -> Result<Vec<u8>, String> {
    let rows = panels.len().div_ceil(2).max(1) as u32;
    let (font, _, _, height) = figure_layout(vec![], rows)?;
    render_png(&font, height, |root| draw_gof(root, title, panels))
}

fn vpc_entries() -> Vec<LegendEntry> {
    vec![
        LegendEntry {
            label: "observed 50th percentile".into(),
            colour: colour(3),
            swatch: Swatch::Line,
        },
        LegendEntry {
            label: "observed 5th and 95th percentiles".into(),
            colour: colour(0),
            swatch: Swatch::Line,
        },
        LegendEntry {
            label: "simulated 90% band of the 50th percentile".into(),
            colour: colour(3),
            swatch: Swatch::Bar,
        },
        LegendEntry {
            label: "simulated 90% bands of the 5th and 95th percentiles".into(),
            colour: colour(0),
            swatch: Swatch::Bar,
        },
    ]
}

fn draw_vpc_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &VpcPanel,
) -> Result<(), String> {
    let (x0, x1) = range(
        p.time.iter().copied().chain(p.points.iter().map(|q| q.0)),
        true,
    );
    let (y0, y1) = range(
        p.points
            .iter()
            .map(|q| q.1)
            .chain(
                p.simulated
                    .iter()
                    .flat_map(|s| s.iter().flat_map(|b| b.iter().copied())),
            )
            .chain(p.observed.iter().flat_map(|o| o.iter().copied())),
        true,
    );
    let mut chart = xy_panel(area, &p.title, &p.x_label, &p.y_label, x0..x1, y0..y1)?;
    chart
        .draw_series(
            p.points
                .iter()
                .filter(|q| finite(q.0) && finite(q.1))
                .map(|&q| Circle::new(q, 2, RGBColor(150, 150, 150).mix(0.5).filled())),
        )
        .map_err(err)?;
    for k in 0..3 {
        let c = if k == 1 { colour(3) } else { colour(0) };
        let band: Vec<(f64, (f64, f64))> = p
            .time
            .iter()
            .zip(&p.simulated)
            .map(|(&t, s)| (t, (s[k][0], s[k][2])))
            .filter(|(t, (a, b))| finite(*t) && finite(*a) && finite(*b))
            .collect();
        if band.len() >= 2 {
            let mut poly: Vec<(f64, f64)> = band.iter().map(|(x, r)| (*x, r.1)).collect();
            poly.extend(band.iter().rev().map(|(x, r)| (*x, r.0)));
            chart
                .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.2).filled())))
                .map_err(err)?;
        }
        let line: Vec<(f64, f64)> = p
            .time
            .iter()
            .zip(&p.observed)
            .map(|(&t, o)| (t, o[k]))
            .filter(|(t, y)| finite(*t) && finite(*y))
            .collect();
        let style = if k == 1 {
            c.stroke_width(3)
        } else {
            c.stroke_width(2)
        };
        chart
            .draw_series(LineSeries::new(line.clone(), style))
            .map_err(err)?;
        chart
            .draw_series(line.iter().map(|&xy| Circle::new(xy, 3, c.filled())))
            .map_err(err)?;
    }
    Ok(())
}

fn draw_vpc<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[VpcPanel],
    legend_rows: &[LegendRow],
    legend_height: u32,
) -> Result<(), String> {
    let body = page_body(root, title, legend_rows, legend_height)?;
    let areas = body.split_evenly((panels.len().max(1), 1));
    for (p, a) in panels.iter().zip(areas) {
        draw_vpc_panel(&a, p)?;
    }
    Ok(())
}

/// The VPC figure (one panel per observable) as SVG.
pub fn vpc_svg(title: &str, panels: &[VpcPanel]) -> Result<String, String> {
    let (_, rows, lh, height) = figure_layout(vpc_entries(), panels.len().max(1) as u32)?;
    render_svg(height, |root| draw_vpc(root, title, panels, &rows, lh))
}

/// The VPC figure as PNG (the same figure as [`vpc_svg`]).
pub fn vpc_png(title: &str, panels: &[VpcPanel]) -> Result<Vec<u8>, String> {
    let (font, rows, lh, height) = figure_layout(vpc_entries(), panels.len().max(1) as u32)?;
    render_png(&font, height, |root| {
        draw_vpc(root, title, panels, &rows, lh)
    })
}
