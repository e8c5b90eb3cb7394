//! Target-attainment figures: one grouped horizontal bar chart per target, a bar per
//! regimen in each group of subjects, its length the probability of attainment.

use super::axis::{Axis, TickFormat};
use super::legend::*;
use super::raster::render_png;
use super::style::*;
use ab_glyph::FontRef;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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
/// [`super::timecourse::timecourse_svg`]), its length the probability of attainment
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
    render_svg(figure.height, |root| figure.draw(root))
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
        let mut rest = page_body(root, self.title, &self.legend_rows, self.legend_height)?;
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
    use crate::plot::timecourse::tests::{decode_png, example};
    use crate::plot::timecourse::{timecourse_png, timecourse_svg};

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
