//! SVG time-course figures.
//!
//! [`timecourse_svg`] renders several observables (one [`Panel`] each) for
//! several regimens (one [`Series`] per regimen in every panel) as a single
//! SVG document. Colours are assigned by position: series `i` of every panel
//! and dose marks `i` share colour `i`, so one legend at the top of the figure
//! serves all panels.
//!
//! Text is emitted as SVG `<text>` elements, so no font files are needed at
//! render time.

use plotters::coord::ranged1d::{AsRangedCoord, DefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Figure width in pixels.
const WIDTH: u32 = 1200;
/// Height of one row of panels in pixels.
const PANEL_HEIGHT: u32 = 300;
/// Height of the strip holding the overall figure title.
const TITLE_HEIGHT: u32 = 44;
/// Height of one row of legend entries.
const LEGEND_ROW_HEIGHT: u32 = 24;
/// Number of panel columns.
const COLUMNS: usize = 2;
/// Font family used for every piece of text.
const FONT: &str = "sans-serif";
/// Rough average glyph width, relative to the font size, used to lay out the
/// legend (the real width depends on the SVG viewer's font).
const GLYPH_WIDTH: f64 = 0.6;
/// Values whose magnitude exceeds this are treated like non-finite values:
/// they cannot be padded or tick-marked without overflowing.
const MAX_ABS: f64 = 1e200;
/// Fraction of the plot height taken by all dose-mark rows together.
const DOSE_BAND_TOTAL: f64 = 0.2;
/// Maximum fraction of the plot height taken by one regimen's dose marks.
const DOSE_BAND_MAX: f64 = 0.05;

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
    /// `(time in days, value)` pairs, in time order. Non-finite values break
    /// the line; so do non-positive values on a logarithmic panel.
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
/// single panel) with as many rows as needed, each row about 300 px high in a
/// 1200 px wide figure. The overall `title` sits at the top, followed by one
/// legend naming the regimens in their colours.
///
/// Every panel shows its title, its y-axis label and the x-axis label
/// `"time (days)"`. All panels share the time axis, from 0 (or the earliest
/// negative time) to the latest time of any series. The y axis spans the
/// panel's data with 5 % padding; a flat series gets a symmetric range around
/// its value. On a logarithmic axis the padding is applied in log space and
/// the range is widened to the enclosing powers of ten when it would
/// otherwise contain none (so that there are tick labels).
///
/// Series `i` of every panel is drawn in colour `i`; `doses[i]` is drawn in
/// the same colour `i`, as short vertical ticks stacked in a band at the
/// bottom of every panel (one row of ticks per regimen).
///
/// NaN, infinite or absurdly large values (|v| > 1e200) are skipped, as are
/// zero and negative values on a logarithmic panel; a skipped point breaks
/// the line. A series with a single usable point is drawn as a dot.
///
/// # Errors
///
/// Returns the rendering error message if plotters fails to draw.
pub fn timecourse_svg(title: &str, panels: &[Panel], doses: &[DoseMarks]) -> Result<String, String> {
    let legend = legend_entries(panels, doses);
    let legend_rows = layout_legend(&legend, !doses.is_empty());
    let legend_height = legend_rows_height(&legend_rows);
    let columns = panels.len().clamp(1, COLUMNS);
    let rows = panels.len().div_ceil(columns);
    let height = TITLE_HEIGHT + legend_height + PANEL_HEIGHT * rows as u32;
    let x_range = time_range(panels, doses);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;

        let (title_area, rest) = root.split_vertically(TITLE_HEIGHT);
        let (legend_area, grid_area) = rest.split_vertically(legend_height);
        draw_title(&title_area, title)?;
        draw_legend(&legend_area, &legend_rows)?;

        if rows > 0 {
            let cells = grid_area.split_evenly((rows, columns));
            for (panel, cell) in panels.iter().zip(cells.iter()) {
                draw_panel(cell, panel, x_range, doses)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Convert any plotters error into the `String` error of this module.
fn err<E: std::fmt::Display>(e: E) -> String {
    format!("plot rendering failed: {e}")
}

/// Colour of series / regimen `i`.
fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Whether a point can be drawn (and counts towards the axis ranges).
fn usable(x: f64, y: f64, log_y: bool) -> bool {
    x.is_finite()
        && y.is_finite()
        && x.abs() <= MAX_ABS
        && y.abs() <= MAX_ABS
        && (!log_y || y > 0.0)
}

/// Split a series into runs of consecutive usable points.
fn segments(points: &[(f64, f64)], log_y: bool) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for &(x, y) in points {
        if usable(x, y, log_y) {
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

/// Shared time axis: from `min(0, earliest time)` to the latest time of any
/// series (or of any dose when there is no data at all).
fn time_range(panels: &[Panel], doses: &[DoseMarks]) -> (f64, f64) {
    let data_times = panels
        .iter()
        .flat_map(|p| p.series.iter())
        .flat_map(|s| s.points.iter())
        .filter(|&&(x, y)| usable(x, y, false))
        .map(|&(x, _)| x);
    let (mut lo, mut hi) = min_max(data_times).unwrap_or((0.0, 0.0));
    if hi <= 0.0 {
        let dose_times = doses
            .iter()
            .flat_map(|d| d.times_days.iter().copied())
            .filter(|t| t.is_finite() && t.abs() <= MAX_ABS);
        if let Some((_, dose_hi)) = min_max(dose_times) {
            hi = hi.max(dose_hi);
        }
    }
    lo = lo.min(0.0);
    if hi - lo <= 1e-9 * lo.abs().max(hi.abs()) || hi <= lo {
        hi = lo + 1.0;
    }
    (lo, hi)
}

/// Minimum and maximum of an iterator of (finite) values.
fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Y values of a panel that will be drawn.
fn panel_y_values(panel: &Panel, log_y: bool) -> impl Iterator<Item = f64> + '_ {
    panel
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(move |&&(x, y)| usable(x, y, log_y))
        .map(|&(_, y)| y)
}

/// Linear y range with 5 % padding; a (near-)flat range is widened by 10 %
/// of its value (or by 1 around zero).
fn linear_y_range(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    if span <= 1e-9 * lo.abs().max(hi.abs()) || span <= 0.0 {
        let mid = 0.5 * (lo + hi);
        let half = if mid.abs() > 1e-200 { 0.1 * mid.abs() } else { 1.0 };
        (mid - half, mid + half)
    } else {
        (lo - 0.05 * span, hi + 0.05 * span)
    }
}

/// Logarithmic y range (both ends positive) with 5 % padding in log space;
/// a flat range is widened by a factor of two each way. If no power of ten
/// falls inside the result it is widened to the enclosing decades so that
/// the axis gets tick labels.
fn log_y_range(lo: f64, hi: f64) -> (f64, f64) {
    let (a, b) = (lo.log10(), hi.log10());
    let (a, b) = if b - a < 1e-9 {
        (a - std::f64::consts::LOG10_2, b + std::f64::consts::LOG10_2)
    } else {
        let pad = 0.05 * (b - a);
        (a - pad, b + pad)
    };
    if a.ceil() > b.floor() {
        // Both ends are within ±210 decades, so the casts cannot overflow.
        (10f64.powi(a.floor() as i32), 10f64.powi(b.ceil() as i32))
    } else {
        (10f64.powf(a), 10f64.powf(b))
    }
}

/// Tick label for a value: a few significant digits, scientific notation for
/// very large or very small magnitudes.
fn format_tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".to_owned();
    }
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.2e}");
        // "1.50e3" -> "1.5e3", "1.00e3" -> "1e3"
        return match s.split_once('e') {
            Some((mantissa, exp)) => format!("{}e{exp}", trim_zeros(mantissa)),
            None => s,
        };
    }
    // Four significant digits: enough to tell apart the ticks plotters
    // chooses on any range that is not vanishingly narrow.
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 8) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_owned()
}

/// Strip trailing zeros (and a then-trailing decimal point) after a decimal
/// point.
fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// One legend entry.
struct LegendEntry {
    label: String,
    colour: RGBColor,
}

/// An item in a legend row, with its x offset in pixels.
enum LegendItem {
    /// A coloured line sample and its label.
    Entry(LegendEntry),
    /// A grey explanatory note.
    Note(String),
}

/// Legend font size in pixels.
const LEGEND_FONT: u32 = 15;
/// Width of the line sample in front of a legend label.
const LEGEND_SWATCH: i32 = 28;
/// Horizontal gap between legend items.
const LEGEND_GAP: i32 = 26;
/// Left / right margin of the legend.
const LEGEND_MARGIN: i32 = 16;

/// Note explaining the dose ticks.
const DOSE_NOTE: &str = "short ticks at the bottom of each panel: dose times";

/// Legend entries: one per series index (labelled by the first non-empty
/// series label at that index) and per dose regimen.
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
            }
        })
        .collect()
}

/// Estimated width in pixels of `text` at the legend font size.
fn text_width(text: &str) -> i32 {
    (text.chars().count() as f64 * f64::from(LEGEND_FONT) * GLYPH_WIDTH).ceil() as i32
}

/// Width of one legend item.
fn item_width(item: &LegendItem) -> i32 {
    match item {
        LegendItem::Entry(e) => LEGEND_SWATCH + 6 + text_width(&e.label),
        LegendItem::Note(n) => text_width(n),
    }
}

/// Wrap the legend items into rows that fit the figure width.
fn layout_legend(entries: &[LegendEntry], dose_note: bool) -> Vec<Vec<(i32, LegendItem)>> {
    let mut items: Vec<LegendItem> = entries
        .iter()
        .map(|e| {
            LegendItem::Entry(LegendEntry {
                label: e.label.clone(),
                colour: e.colour,
            })
        })
        .collect();
    if dose_note {
        items.push(LegendItem::Note(DOSE_NOTE.to_owned()));
    }
    let max_x = WIDTH as i32 - LEGEND_MARGIN;
    let mut rows: Vec<Vec<(i32, LegendItem)>> = Vec::new();
    let mut row: Vec<(i32, LegendItem)> = Vec::new();
    let mut x = LEGEND_MARGIN;
    for item in items {
        let w = item_width(&item);
        if !row.is_empty() && x + w > max_x {
            rows.push(std::mem::take(&mut row));
            x = LEGEND_MARGIN;
        }
        row.push((x, item));
        x += w + LEGEND_GAP;
    }
    if !row.is_empty() {
        rows.push(row);
    }
    rows
}

/// Height of the legend strip (zero when there is nothing to show).
fn legend_rows_height(rows: &[Vec<(i32, LegendItem)>]) -> u32 {
    if rows.is_empty() {
        0
    } else {
        LEGEND_ROW_HEIGHT * rows.len() as u32 + 8
    }
}

/// Draw the figure title centred in its strip.
fn draw_title(area: &DrawingArea<SVGBackend<'_>, Shift>, title: &str) -> Result<(), String> {
    if title.is_empty() {
        return Ok(());
    }
    let style = TextStyle::from((FONT, 24).into_font().style(FontStyle::Bold))
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Center));
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        title.to_owned(),
        (w as i32 / 2, h as i32 / 2 + 2),
        style,
    ))
    .map_err(err)
}

/// Draw the legend rows.
fn draw_legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    rows: &[Vec<(i32, LegendItem)>],
) -> Result<(), String> {
    let label_style = TextStyle::from((FONT, LEGEND_FONT).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let note_style = TextStyle::from((FONT, LEGEND_FONT - 2).into_font().style(FontStyle::Italic))
        .color(&RGBColor(90, 90, 90))
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in rows.iter().enumerate() {
        let y = (LEGEND_ROW_HEIGHT as i32) * r as i32 + LEGEND_ROW_HEIGHT as i32 / 2 + 4;
        for (x, item) in row {
            match item {
                LegendItem::Entry(e) => {
                    area.draw(&PathElement::new(
                        vec![(*x, y), (*x + LEGEND_SWATCH, y)],
                        e.colour.stroke_width(3),
                    ))
                    .map_err(err)?;
                    area.draw(&Text::new(
                        e.label.clone(),
                        (*x + LEGEND_SWATCH + 6, y),
                        label_style.clone(),
                    ))
                    .map_err(err)?;
                }
                LegendItem::Note(note) => {
                    area.draw(&Text::new(note.clone(), (*x, y), note_style.clone()))
                        .map_err(err)?;
                }
            }
        }
    }
    Ok(())
}

/// Draw one panel, choosing a linear or logarithmic y axis.
fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    panel: &Panel,
    x_range: (f64, f64),
    doses: &[DoseMarks],
) -> Result<(), String> {
    let log_y = panel.log_y && panel_y_values(panel, true).next().is_some();
    if log_y {
        let (lo, hi) = min_max(panel_y_values(panel, true)).unwrap_or((1.0, 1.0));
        let (lo, hi) = log_y_range(lo, hi);
        // Height fraction f of the plot -> data value, in log space.
        let at = move |f: f64| lo * (hi / lo).powf(f);
        draw_chart(area, panel, true, x_range, (lo..hi).log_scale(), &at, doses)
    } else {
        let (lo, hi) = min_max(panel_y_values(panel, false)).unwrap_or((0.0, 1.0));
        let (lo, hi) = linear_y_range(lo, hi);
        let at = move |f: f64| lo + (hi - lo) * f;
        draw_chart(area, panel, false, x_range, lo..hi, &at, doses)
    }
}

/// Draw the axes, series and dose marks of one panel. `y_at` maps a fraction
/// of the plot height (0 = bottom) to a y value.
fn draw_chart<Y>(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    panel: &Panel,
    log_y: bool,
    x_range: (f64, f64),
    y_spec: Y,
    y_at: &dyn Fn(f64) -> f64,
    doses: &[DoseMarks],
) -> Result<(), String>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: Ranged<ValueType = f64, FormatOption = DefaultFormatting> + ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 17))
        .margin(8)
        .margin_right(22)
        .x_label_area_size(40)
        .y_label_area_size(74)
        .build_cartesian_2d(x_range.0..x_range.1, y_spec)
        .map_err(err)?;

    chart
        .configure_mesh()
        .x_desc("time (days)")
        .y_desc(panel.y_label.as_str())
        .x_labels(10)
        .y_labels(6)
        .x_label_formatter(&|v| format_tick(*v))
        .y_label_formatter(&|v| format_tick(*v))
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .bold_line_style(RGBColor(220, 220, 220))
        .light_line_style(RGBColor(243, 243, 243))
        .draw()
        .map_err(err)?;

    // Dose marks: one row of short ticks per regimen, stacked from the bottom.
    if !doses.is_empty() {
        let band = (DOSE_BAND_TOTAL / doses.len() as f64).min(DOSE_BAND_MAX);
        for (k, dose) in doses.iter().enumerate() {
            let (y0, y1) = (y_at(band * k as f64), y_at(band * (k as f64 + 0.85)));
            let style = colour(k).stroke_width(2);
            let marks = dose
                .times_days
                .iter()
                .copied()
                .filter(|t| t.is_finite() && *t >= x_range.0 && *t <= x_range.1)
                .map(|t| PathElement::new(vec![(t, y0), (t, y1)], style));
            chart.draw_series(marks).map_err(err)?;
        }
    }

    for (i, series) in panel.series.iter().enumerate() {
        let style = colour(i).stroke_width(2);
        for segment in segments(&series.points, log_y) {
            if segment.len() == 1 {
                chart
                    .draw_series(std::iter::once(Circle::new(segment[0], 3, style.filled())))
                    .map_err(err)?;
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
            assert!(svg.matches(&hex).count() >= 4, "colour {hex} used too little");
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
        assert!(svg.contains("series 1"), "unlabelled series gets a default label");
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
                    ],
                ),
                series("all nan", vec![(f64::NAN, f64::NAN); 3]),
            ],
            log_y: false,
        };
        let log_zero = Panel {
            title: "log with zeros".into(),
            y_label: "y".into(),
            series: vec![series("a", vec![(0.0, 0.0), (1.0, 10.0), (2.0, -1.0), (3.0, 100.0)])],
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
        let svg = timecourse_svg(
            "t",
            &[nan_panel, log_zero, log_nothing_positive],
            &doses,
        )
        .unwrap();
        assert!(!svg.contains("NaN"));
        assert!(!svg.contains("inf"));
    }

    #[test]
    fn extreme_magnitudes_do_not_error() {
        let cases: [(f64, f64, bool); 8] = [
            (1e-300, 2e-300, false),
            (1e-300, 2e-300, true),
            (1e150, 1e150, false),
            (1e16, 1e16 + 2.0, false),
            (1.0, 1.0 + 1e-15, false),
            (1.0, 1.0 + 1e-15, true),
            (-1e150, 1e150, false),
            (1e-150, 1e150, true),
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
        let (lo, hi) = log_y_range(2.0, 8.0);
        assert_eq!((lo, hi), (1.0, 10.0));
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

    #[test]
    fn tick_format() {
        assert_eq!(format_tick(0.0), "0");
        assert_eq!(format_tick(10.0), "10");
        assert_eq!(format_tick(2.5), "2.5");
        assert_eq!(format_tick(0.30000000000000004), "0.3");
        assert_eq!(format_tick(1e6), "1e6");
        assert_eq!(format_tick(1.5e-4), "1.5e-4");
        assert_eq!(format_tick(-1234.5), "-1234.5");
    }

    /// Writes the example figure to `$PLOT_EXAMPLE_SVG` when that variable is
    /// set, for looking at the output by eye.
    #[test]
    fn write_example_when_requested() {
        if let Some(path) = std::env::var_os("PLOT_EXAMPLE_SVG") {
            let (panels, doses) = example();
            let svg = timecourse_svg("Example regimens", &panels, &doses).unwrap();
            std::fs::write(path, svg).unwrap();
        }
    }
}
