//! Tornado charts of sensitivity analysis: one panel per figure, one horizontal bar per
//! parameter (largest |value| at the top), from zero to the signed coefficient, coloured by
//! whether the parameter's value was measured or calibrated. Title, palette and PNG font are
//! those of the other figures.

use super::legend::*;
use super::raster::render_png;
use super::style::*;
use ab_glyph::FontRef;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Height of one bar and its gap, in pixels.
const ROW: u32 = 20;
/// Room for a panel's title and its x axis.
const PANEL_EXTRA: u32 = 90;
/// Width of the parameter labels.
const LABEL_WIDTH: u32 = 260;

/// One bar: a parameter and its signed value; `group` picks the colour (legend order).
#[derive(Debug, Clone, PartialEq)]
pub struct TornadoBar {
    pub label: String,
    pub value: f64,
    pub group: usize,
}

/// One panel: a figure and its bars, top first.
#[derive(Debug, Clone, PartialEq)]
pub struct TornadoPanel {
    pub title: String,
    pub x_label: String,
    pub bars: Vec<TornadoBar>,
}

struct Layout {
    legend_rows: Vec<LegendRow>,
    legend_height: u32,
    panel_heights: Vec<u32>,
    height: u32,
    font: FontRef<'static>,
}

fn layout(groups: &[String], panels: &[TornadoPanel]) -> Result<Layout, String> {
    let font =
        FontRef::try_from_slice(FONT_BYTES).map_err(|e| format!("bundled font unusable: {e}"))?;
    let entries = bar_entries(groups);
    let legend_rows = layout_legend(&font, entries, false);
    let legend_height = legend_rows.len() as u32 * LEGEND_ROW_HEIGHT + LEGEND_PADDING;
    let panel_heights: Vec<u32> = panels
        .iter()
        .map(|p| ROW * p.bars.len().max(1) as u32 + PANEL_EXTRA)
        .collect();
    let height = TITLE_HEIGHT + legend_height + panel_heights.iter().sum::<u32>();
    if height > PNG_MAX_HEIGHT {
        return Err(format!("figure too tall ({height} px)"));
    }
    Ok(Layout {
        legend_rows,
        legend_height,
        panel_heights,
        height,
        font,
    })
}

fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    panel: &TornadoPanel,
) -> Result<(), String> {
    let n = panel.bars.len().max(1) as f64;
    let extent = panel
        .bars
        .iter()
        .map(|b| b.value.abs())
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-12)
        * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 15))
        .margin(10)
        .margin_right(60)
        .x_label_area_size(36)
        .y_label_area_size(LABEL_WIDTH)
        .build_cartesian_2d(-extent..extent, 0.0..n)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(&panel.x_label)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (0.0, n)],
            BLACK.stroke_width(1),
        )))
        .map_err(err)?;
    let label_style = TextStyle::from((FONT, 12).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    let value_style = |right: bool| {
        TextStyle::from((FONT, 11).into_font())
            .color(&BLACK)
            .pos(Pos::new(
                if right { HPos::Left } else { HPos::Right },
                VPos::Center,
            ))
    };
    for (k, b) in panel.bars.iter().enumerate() {
        let yc = n - k as f64 - 0.5;
        let v = if b.value.is_finite() { b.value } else { 0.0 };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, yc - 0.35), (v, yc + 0.35)],
                colour(b.group).filled(),
            )))
            .map_err(err)?;
        let (px, py) = chart.backend_coord(&(-extent, yc));
        root.draw(&Text::new(
            b.label.clone(),
            (px - 8, py),
            label_style.clone(),
        ))
        .map_err(err)?;
        let (vx, vy) = chart.backend_coord(&(v, yc));
        let right = v >= 0.0;
        root.draw(&Text::new(
            format!("{v:+.3}"),
            (if right { vx + 4 } else { vx - 4 }, vy),
            value_style(right),
        ))
        .map_err(err)?;
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[TornadoPanel],
    l: &Layout,
) -> Result<(), String> {
    let mut body = page_body(root, title, &l.legend_rows, l.legend_height)?;
    for (panel, h) in panels.iter().zip(&l.panel_heights) {
        let (area, below) = body.split_vertically(*h);
        draw_panel(root, &area, panel)?;
        body = below;
    }
    Ok(())
}

/// A tornado chart as SVG.
pub fn tornado_svg(
    title: &str,
    groups: &[String],
    panels: &[TornadoPanel],
) -> Result<String, String> {
    let l = layout(groups, panels)?;
    render_svg(l.height, |root| draw(root, title, panels, &l))
}

/// The same chart as PNG.
pub fn tornado_png(
    title: &str,
    groups: &[String],
    panels: &[TornadoPanel],
) -> Result<Vec<u8>, String> {
    let l = layout(groups, panels)?;
    render_png(&l.font, l.height, |root| draw(root, title, panels, &l))
}
