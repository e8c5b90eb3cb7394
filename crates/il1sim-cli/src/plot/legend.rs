//! The figure title and the legend: entries (line or bar swatches) and notes, wrapped into
//! rows that fit the figure width.

use super::raster::shape;
use super::style::{colour, err, FONT, TITLE_HEIGHT, WIDTH};
use ab_glyph::FontRef;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Legend font size in pixels.
const LEGEND_FONT: u32 = 15;
/// Font size of the legend note in pixels.
const NOTE_FONT: u32 = 13;
/// Height of one row of legend entries.
pub(super) const LEGEND_ROW_HEIGHT: u32 = 24;
/// Extra height below the legend.
pub(super) const LEGEND_PADDING: u32 = 8;
/// Width of the line sample in front of a legend label.
const LEGEND_SWATCH: i32 = 28;
/// Horizontal gap between legend items.
const LEGEND_GAP: i32 = 26;
/// Left / right margin of the legend.
const LEGEND_MARGIN: i32 = 16;
/// Legend note explaining the dose marks, shown when there are any.
pub(super) const DOSE_NOTE: &str = "short ticks at the bottom of each panel: dose times";

/// One regimen in the legend.
pub(super) struct LegendEntry {
    pub(super) label: String,
    pub(super) colour: RGBColor,
    pub(super) swatch: Swatch,
}

/// The sample drawn in front of a legend label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Swatch {
    /// A line, for time courses.
    Line,
    /// A filled block, for bars.
    Bar,
}

/// Something shown in the legend.
pub(super) enum LegendItem {
    /// A coloured line sample and its label.
    Entry(LegendEntry),
    /// A grey explanatory note.
    Note(&'static str),
}

/// One legend line: items with their x offsets in pixels.
pub(super) type LegendRow = Vec<(i32, LegendItem)>;

/// Width in pixels of `text` in the bundled font at `size` pixels per em:
/// exact for the PNG, and an estimate for the SVG (whose text is set in the
/// viewer's sans-serif font).
pub(super) fn text_width(font: &FontRef<'static>, text: &str, size: u32) -> i32 {
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
pub(super) fn layout_legend(
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
pub(super) fn draw_title<DB: DrawingBackend>(
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
pub(super) fn draw_legend<DB: DrawingBackend>(
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

/// One bar swatch per group, coloured by position (the ranking and tornado charts).
pub(super) fn bar_entries(groups: &[String]) -> Vec<LegendEntry> {
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| LegendEntry {
            label: g.clone(),
            colour: colour(i),
            swatch: Swatch::Bar,
        })
        .collect()
}

/// The page every figure shares: white ground, the title strip, then the legend rows (none
/// when `legend_height` is 0); returns the area below them, where the panels go.
pub(super) fn page_body<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    legend_rows: &[LegendRow],
    legend_height: u32,
) -> Result<DrawingArea<DB, Shift>, String> {
    root.fill(&WHITE).map_err(err)?;
    let (top, rest) = root.split_vertically(TITLE_HEIGHT);
    draw_title(&top, title)?;
    if legend_height == 0 {
        return Ok(rest);
    }
    let (legend, body) = rest.split_vertically(legend_height);
    draw_legend(&legend, legend_rows)?;
    Ok(body)
}
