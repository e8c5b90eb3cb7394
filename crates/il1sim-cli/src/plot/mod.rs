//! Time-course figures, as SVG and as PNG.
//!
//! [`timecourse::timecourse_svg`] and [`timecourse::timecourse_png`] render
//! several observables (one [`timecourse::Panel`] each) for several regimens
//! (one [`timecourse::Series`] per regimen in every panel) as one figure; both
//! draw through the same code, generic over the plotters drawing backend, so
//! the two formats show the same figure. Colours are assigned by position:
//! series `i` of every panel and dose marks `i` share colour `i`, so one
//! legend at the top of the figure serves all panels.
//!
//! The SVG emits text as `<text>` elements, left to the viewer's sans-serif
//! font. The PNG draws text itself (see [`raster::Raster`]) with DejaVu Sans
//! compiled into the binary (`assets/fonts/`), so no system font or
//! fontconfig is needed at run time.
//!
//! Target-attainment figures draw through the same parts. The files: `timecourse` (the
//! time-course figure: panels, series, dose marks, data ranges), `attainment` (the grouped
//! bar charts of target attainment), `dose` (dose-response curves with percentile bands and
//! the ranking chart of dose finding), `tornado` (sensitivity coefficients as signed bars),
//! `diagnostics` (goodness-of-fit scatter and VPC panels of population estimation), and the
//! parts they share: `style` (sizes, font, palette, the SVG page), `axis` (linear and
//! logarithmic axes with their tick labels), `legend` (title, legend and the page under
//! them), `panel` (the x–y panel with its mesh) and `raster` (the PNG backend that sets text
//! in the bundled font).

pub mod attainment;
pub mod axis;
pub mod diagnostics;
pub mod dose;
pub mod legend;
pub mod panel;
pub mod raster;
pub mod style;
pub mod timecourse;
pub mod tornado;
