//! The time-course figure: observables (one [`Panel`] each) against time for several
//! regimens (one [`Series`] per regimen in every panel), with dose marks, laid out in a grid.

use super::axis::Axis;
use super::legend::*;
use super::raster::render_png;
use super::style::*;
use ab_glyph::FontRef;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Height of one row of panels in pixels.
const PANEL_HEIGHT: u32 = 300;
/// Number of panel columns.
const COLUMNS: usize = 2;
/// About how many labelled ticks the time axis gets.
const X_TICKS: u32 = 10;
/// About how many labelled ticks a linear y axis gets.
const Y_TICKS: u32 = 7;
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
    render_svg(figure.height, |root| figure.draw(root))
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
        let grid_area = page_body(root, self.title, &self.legend_rows, self.legend_height)?;
        if self.rows > 0 {
            let cells = grid_area.split_evenly((self.rows, self.columns));
            for (panel, cell) in self.panels.iter().zip(&cells) {
                draw_panel(cell, panel, &self.x_axis, self.doses)?;
            }
        }
        root.present().map_err(err)
    }
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

#[cfg(test)]
pub(super) mod tests {
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

    pub(crate) fn example() -> (Vec<Panel>, Vec<DoseMarks>) {
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

    /// Decode a PNG into (width, height, RGB pixels).
    pub(crate) fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
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
}
