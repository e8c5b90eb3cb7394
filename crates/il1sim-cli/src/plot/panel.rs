//! The x–y panel of the dose-response curves and of the estimation figures: caption, label
//! areas and light mesh set once, so these figures look alike.

use super::style::{err, FONT};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Values beyond this magnitude are left out like non-finite ones: they could not be padded
/// or tick-marked without overflowing (the time-course figure's `MAX_ABS`).
const MAX_ABS: f64 = 1e200;

/// Whether a value can be placed on a panel's linear axis.
pub(super) fn finite(v: f64) -> bool {
    v.is_finite() && v.abs() < MAX_ABS
}

/// A panel with linear axes over `x` and `y`, its mesh and axis labels drawn.
pub(super) fn xy_panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x_label: &str,
    y_label: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .caption(caption, (FONT, 15))
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    Ok(chart)
}
