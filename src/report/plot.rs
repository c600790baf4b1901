//! PNG plots drawn with plotters' bitmap backend and the embedded DejaVu Sans
//! font: categorical maps with a legend, continuous and difference maps with
//! a colour bar, line plots, simulated-against-observed scatter plots with
//! the 1:1 line, and horizontal ranked bar charts.
//!
//! Every plot is written atomically (see [`crate::io::atomic`]). Maps are
//! drawn north-up in the raster's model coordinates, one rectangle per cell;
//! nodata cells are grey.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use crate::io::atomic::AtomicPath;
use crate::io::geotiff::{Raster, RasterGrid};
use crate::{Error, Result};

/// The font family every plot uses (DejaVu Sans, registered once).
pub const FONT: &str = "sans-serif";

/// Colour of nodata cells.
pub const NODATA_GREY: RGBColor = RGBColor(200, 200, 200);

static FONTS: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// Register DejaVu Sans (regular and bold) as [`FONT`]; idempotent.
pub fn ensure_fonts() -> Result<()> {
    FONTS
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "DejaVu Sans regular is not a valid font".to_string())?;
            plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
                .map_err(|_| "DejaVu Sans bold is not a valid font".to_string())
        })
        .clone()
        .map_err(Error::Other)
}

/// Frozen-ground class colours of the published maps: permafrost blue,
/// seasonally frozen ground light green, non-frozen tan.
pub fn frozen_ground_classes() -> Vec<(u8, String, RGBColor)> {
    vec![
        (1, "Permafrost".into(), RGBColor(49, 104, 176)),
        (2, "Seasonally frozen".into(), RGBColor(160, 205, 120)),
        (3, "Non-frozen".into(), RGBColor(222, 184, 135)),
    ]
}

/// A continuous colour scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorScale {
    /// Perceptually uniform, dark blue to yellow (matplotlib's viridis, sampled).
    Viridis,
    /// Diverging blue - white - red, for differences centred on 0.
    BlueWhiteRed,
}

const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

const BWR: [(u8, u8, u8); 5] = [
    (33, 102, 172),
    (146, 197, 222),
    (247, 247, 247),
    (244, 165, 130),
    (178, 24, 43),
];

impl ColorScale {
    /// The colour at `t` in [0, 1] (clamped), by linear interpolation between anchors.
    pub fn at(self, t: f64) -> RGBColor {
        let anchors: &[(u8, u8, u8)] = match self {
            ColorScale::Viridis => &VIRIDIS,
            ColorScale::BlueWhiteRed => &BWR,
        };
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let x = t * (anchors.len() - 1) as f64;
        let i = (x.floor() as usize).min(anchors.len() - 2);
        let f = x - i as f64;
        let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
        let (a, b) = (anchors[i], anchors[i + 1]);
        RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
    }
}

fn plot_err(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |m| Error::Other(format!("{}: plotting failed: {m}", path.display()))
}

/// Draw into a PNG at `path` (atomically) with `draw` on the root area.
fn render<F>(path: &Path, size: (u32, u32), draw: F) -> Result<()>
where
    F: FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> std::result::Result<(), String>,
{
    ensure_fonts()?;
    let ap = AtomicPath::new(path)?;
    {
        let root = BitMapBackend::new(ap.temp(), size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| plot_err(path)(e.to_string()))?;
        draw(&root).map_err(plot_err(path))?;
        root.present().map_err(|e| plot_err(path)(e.to_string()))?;
    }
    ap.commit()
}

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Pixel size of a map plot whose data area keeps the grid's aspect ratio.
fn map_size(grid: &RasterGrid, legend_width: u32) -> (u32, u32) {
    let w = grid.cols as f64 * grid.transform.dx;
    let h = grid.rows as f64 * grid.transform.dy;
    let aspect = if w > 0.0 && h > 0.0 { h / w } else { 1.0 };
    let data_w = 720.0;
    let data_h = (data_w * aspect).clamp(240.0, 900.0);
    (data_w as u32 + 110 + legend_width, data_h as u32 + 110)
}

fn map_extent(grid: &RasterGrid) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let t = &grid.transform;
    (
        t.x_origin..t.x_origin + grid.cols as f64 * t.dx,
        t.y_origin - grid.rows as f64 * t.dy..t.y_origin,
    )
}

/// Draw the cells of `grid` coloured by `color(row, col)` into `area` with axes.
fn draw_cells<DB: DrawingBackend, F>(
    area: &DrawingArea<DB, Shift>,
    grid: &RasterGrid,
    title: &str,
    color: F,
) -> std::result::Result<(), String>
where
    F: Fn(usize, usize) -> RGBColor,
{
    let (xr, yr) = map_extent(grid);
    let geographic = matches!(grid.crs, crate::io::geotiff::Crs::Geographic(_));
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 22))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(xr, yr)
        .map_err(s)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(if geographic {
            "Longitude (deg E)"
        } else {
            "x (m)"
        })
        .y_desc(if geographic {
            "Latitude (deg N)"
        } else {
            "y (m)"
        })
        .label_style((FONT, 14))
        .x_labels(6)
        .y_labels(6)
        .draw()
        .map_err(s)?;
    let t = grid.transform;
    let cells = (0..grid.rows).flat_map(|r| (0..grid.cols).map(move |c| (r, c)));
    chart
        .draw_series(cells.map(|(r, c)| {
            let x0 = t.x_origin + c as f64 * t.dx;
            let y0 = t.y_origin - r as f64 * t.dy;
            Rectangle::new([(x0, y0), (x0 + t.dx, y0 - t.dy)], color(r, c).filled())
        }))
        .map_err(s)?;
    Ok(())
}

/// A categorical map (e.g. frozen-ground classes) with a legend; codes not
/// listed in `classes` and nodata cells are grey ("No data" in the legend).
pub fn categorical_map(
    path: impl AsRef<Path>,
    raster: &Raster<u8>,
    classes: &[(u8, String, RGBColor)],
    title: &str,
) -> Result<()> {
    let path = path.as_ref();
    check_raster(path, &raster.grid, raster.data.len())?;
    let legend_w = 200;
    render(path, map_size(&raster.grid, legend_w), |root| {
        let (w, _) = root.dim_in_pixel();
        let (map, legend) = root.split_horizontally(w - legend_w);
        draw_cells(&map, &raster.grid, title, |r, c| {
            let v = raster.data[r * raster.grid.cols + c];
            if raster.is_nodata(v) {
                return NODATA_GREY;
            }
            classes
                .iter()
                .find(|(code, ..)| *code == v)
                .map_or(NODATA_GREY, |(_, _, col)| *col)
        })?;
        let mut entries: Vec<(String, RGBColor)> =
            classes.iter().map(|(_, l, c)| (l.clone(), *c)).collect();
        entries.push(("No data".into(), NODATA_GREY));
        for (i, (label, col)) in entries.iter().enumerate() {
            let y = 60 + 30 * i as i32;
            legend
                .draw(&Rectangle::new([(10, y), (30, y + 20)], col.filled()))
                .map_err(s)?;
            legend
                .draw(&Rectangle::new(
                    [(10, y), (30, y + 20)],
                    BLACK.stroke_width(1),
                ))
                .map_err(s)?;
            legend
                .draw(&Text::new(label.clone(), (38, y + 2), (FONT, 15)))
                .map_err(s)?;
        }
        Ok(())
    })
}

/// Minimum and maximum of the finite values, if any.
fn finite_range(values: &[f64]) -> Option<(f64, f64)> {
    let mut it = values.iter().copied().filter(|v| v.is_finite());
    let first = it.next()?;
    Some(it.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v))))
}

fn check_raster(path: &Path, grid: &RasterGrid, n: usize) -> Result<()> {
    if grid.is_empty() || n != grid.len() {
        return Err(Error::Grid(format!(
            "{}: cannot plot {n} values on a {} x {} grid",
            path.display(),
            grid.cols,
            grid.rows
        )));
    }
    Ok(())
}

/// A continuous map with a colour bar. `values` are row-major on `grid`;
/// NaN cells are nodata (grey). `range` fixes the colour limits, otherwise
/// the finite minimum and maximum are used.
pub fn continuous_map(
    path: impl AsRef<Path>,
    grid: &RasterGrid,
    values: &[f64],
    title: &str,
    units: &str,
    scale: ColorScale,
    range: Option<(f64, f64)>,
) -> Result<()> {
    let path = path.as_ref();
    check_raster(path, grid, values.len())?;
    let (lo, hi) = match range.or_else(|| finite_range(values)) {
        Some((lo, hi)) if hi > lo => (lo, hi),
        Some((lo, _)) => (lo - 0.5, lo + 0.5),
        None => (0.0, 1.0),
    };
    let legend_w = 130;
    render(path, map_size(grid, legend_w), |root| {
        let (w, _) = root.dim_in_pixel();
        let (map, bar) = root.split_horizontally(w - legend_w);
        draw_cells(&map, grid, title, |r, c| {
            let v = values[r * grid.cols + c];
            if v.is_finite() {
                scale.at((v - lo) / (hi - lo))
            } else {
                NODATA_GREY
            }
        })?;
        draw_color_bar(&bar, lo, hi, units, scale, None)
    })
}

/// A colour bar from `lo` to `hi`, its axis labels written by `label` where
/// given (e.g. the values of a transformed scale).
fn draw_color_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lo: f64,
    hi: f64,
    units: &str,
    scale: ColorScale,
    label: Option<&dyn Fn(&f64) -> String>,
) -> std::result::Result<(), String> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(50)
        .margin_bottom(60)
        .margin_right(10)
        .y_label_area_size(65)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(s)?;
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh()
        .disable_x_axis()
        .y_desc(units)
        .label_style((FONT, 13))
        .y_labels(8);
    if let Some(f) = label {
        mesh.y_label_formatter(f);
    }
    mesh.draw().map_err(s)?;
    let steps = 128;
    chart
        .draw_series((0..steps).map(|i| {
            let a = lo + (hi - lo) * i as f64 / steps as f64;
            let b = lo + (hi - lo) * (i + 1) as f64 / steps as f64;
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                scale.at((i as f64 + 0.5) / steps as f64).filled(),
            )
        }))
        .map_err(s)?;
    Ok(())
}

/// The difference `a - b` of two maps on one grid, on a diverging scale
/// symmetric about 0 (NaN where either is nodata).
pub fn difference_map(
    path: impl AsRef<Path>,
    grid: &RasterGrid,
    a: &[f64],
    b: &[f64],
    title: &str,
    units: &str,
) -> Result<()> {
    let path = path.as_ref();
    if a.len() != b.len() {
        return Err(Error::Grid(format!(
            "{}: difference of maps with {} and {} cells",
            path.display(),
            a.len(),
            b.len()
        )));
    }
    let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let m = finite_range(&diff).map_or(1.0, |(lo, hi)| lo.abs().max(hi.abs()));
    let m = if m > 0.0 { m } else { 1.0 };
    continuous_map(
        path,
        grid,
        &diff,
        title,
        units,
        ColorScale::BlueWhiteRed,
        Some((-m, m)),
    )
}

/// A time-depth section of a column variable (e.g. ground temperature):
/// `values[i * m + k]` is the value in time interval `x_edges[i]..x_edges[i +
/// 1]` and layer `k` between depths `depth_edges[k]..depth_edges[k + 1]` (m,
/// positive down), drawn with depth increasing downward on a diverging scale
/// symmetric about 0 (white at 0, so the frozen and thawed ground part at the
/// 0 C isotherm) and linear in the square root of the magnitude, so that the
/// tenths of a degree of deep ground stay visible beside the surface's tens.
/// Non-finite values are grey.
pub fn depth_time_section(
    path: impl AsRef<Path>,
    x_edges: &[f64],
    depth_edges: &[f64],
    values: &[f64],
    title: &str,
    x_label: &str,
    units: &str,
) -> Result<()> {
    let path = path.as_ref();
    let (n, m) = (
        x_edges.len().saturating_sub(1),
        depth_edges.len().saturating_sub(1),
    );
    if n == 0 || m == 0 || values.len() != n * m {
        return Err(Error::Other(format!(
            "{}: a section of {} values does not fit {n} intervals x {m} layers",
            path.display(),
            values.len()
        )));
    }
    let lim = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |a, v| a.max(v.abs()));
    let lim = if lim > 0.0 { lim } else { 1.0 };
    let (x0, x1) = (x_edges[0], x_edges[n]);
    let bottom = depth_edges[m];
    let legend_w = 130;
    render(path, (1000 + legend_w, 560), |root| {
        let (w, _) = root.dim_in_pixel();
        let (plot, bar) = root.split_horizontally(w - legend_w);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, -bottom..-depth_edges[0])
            .map_err(s)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_label)
            .y_desc("depth (m)")
            .x_label_formatter(&whole_numbers_plain)
            .y_label_formatter(&|v| whole_numbers_plain(&(v.abs())))
            .label_style((FONT, 14))
            .draw()
            .map_err(s)?;
        chart
            .draw_series((0..n).flat_map(|i| {
                (0..m).map(move |k| {
                    let v = values[i * m + k];
                    let col = if v.is_finite() {
                        ColorScale::BlueWhiteRed.at(0.5 + 0.5 * signed_sqrt(v / lim))
                    } else {
                        NODATA_GREY
                    };
                    Rectangle::new(
                        [
                            (x_edges[i], -depth_edges[k]),
                            (x_edges[i + 1], -depth_edges[k + 1]),
                        ],
                        col.filled(),
                    )
                })
            }))
            .map_err(s)?;
        // The bar runs linearly in signed_sqrt(v / lim); its labels are v.
        let label = |u: &f64| {
            let v = u * u.abs() * lim;
            if v.abs() >= 10.0 {
                format!("{v:.0}")
            } else if v.abs() >= 1.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.2}")
            }
        };
        draw_color_bar(
            &bar,
            -1.0,
            1.0,
            units,
            ColorScale::BlueWhiteRed,
            Some(&label),
        )
    })
}

/// sign(x) sqrt(|x|).
fn signed_sqrt(x: f64) -> f64 {
    x.signum() * x.abs().sqrt()
}

/// Agreement of a simulated class map with a reference: each cell is
/// "agree", "simulated permafrost only" or "reference permafrost only"
/// (other disagreements are shown as "other disagreement").
pub fn class_agreement_map(
    path: impl AsRef<Path>,
    reference: &Raster<u8>,
    simulated: &Raster<u8>,
    title: &str,
) -> Result<()> {
    reference.grid.check_same(&simulated.grid)?;
    let data: Vec<u8> = reference
        .data
        .iter()
        .zip(&simulated.data)
        .map(|(&r, &s)| {
            if reference.is_nodata(r) || simulated.is_nodata(s) {
                0
            } else if r == s {
                1
            } else if s == 1 {
                2
            } else if r == 1 {
                3
            } else {
                4
            }
        })
        .collect();
    let raster = Raster::new(reference.grid, data, Some(0))?;
    let classes = vec![
        (1, "Agree".to_string(), RGBColor(204, 235, 197)),
        (2, "Simulated PF only".to_string(), RGBColor(178, 24, 43)),
        (3, "Reference PF only".to_string(), RGBColor(33, 102, 172)),
        (4, "Other disagreement".to_string(), RGBColor(240, 170, 60)),
    ];
    categorical_map(path, &raster, &classes, title)
}

/// One named line of a line plot.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// (x, y) points in drawing order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if hi > lo {
        let p = 0.05 * (hi - lo);
        lo - p..hi + p
    } else {
        lo - 0.5..lo + 0.5
    }
}

const LINE_COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// A formatted number without trailing zeros after its decimal point
/// ("2.500" is "2.5", "3.000" is "3"; "100" stays).
fn trim_decimals(t: String) -> String {
    if t.contains('.') {
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        t
    }
}

/// An axis label: whole numbers (years, evaluation counts) without a
/// decimal point, others to at most three decimals (2008.2, not
/// 2008.2000000000002).
fn whole_numbers_plain(v: &f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 1e-3 && v.abs() < 1e15 {
        trim_decimals(format!("{v:.3}"))
    } else {
        format!("{v}")
    }
}

/// A line plot of one or more series with a legend (e.g. best Kappa against evaluation).
pub fn line_plot(
    path: impl AsRef<Path>,
    series: &[Series],
    title: &str,
    x_label: &str,
    y_label: &str,
) -> Result<()> {
    line_plot_scaled(path.as_ref(), series, title, x_label, y_label, false)
}

/// [`line_plot`] on a logarithmic y axis (e.g. a residual falling over
/// decades); points with y <= 0 are skipped.
pub fn line_plot_log_y(
    path: impl AsRef<Path>,
    series: &[Series],
    title: &str,
    x_label: &str,
    y_label: &str,
) -> Result<()> {
    let logged: Vec<Series> = series
        .iter()
        .map(|s| Series {
            name: s.name.clone(),
            points: s
                .points
                .iter()
                .map(|&(x, y)| (x, if y > 0.0 { y.log10() } else { f64::NAN }))
                .collect(),
        })
        .collect();
    line_plot_scaled(path.as_ref(), &logged, title, x_label, y_label, true)
}

/// An axis label of a log10 axis: the value it stands for, to three
/// significant digits (0.00316, 0.01, 1, 316; 1e-5, 3.16e-5 outside 0.001 to 10^4).
fn power_of_ten(v: &f64) -> String {
    let x = 10f64.powf(*v);
    if (0.000_999_5..9_999.5).contains(&x) {
        let digits = (2.0 - x.log10().floor()).max(0.0) as usize;
        trim_decimals(format!("{x:.digits$}"))
    } else {
        let t = format!("{x:.2e}");
        let (m, e) = t.split_once('e').unwrap_or((&t, "0"));
        format!("{}e{e}", trim_decimals(m.to_string()))
    }
}

fn line_plot_scaled(
    path: &Path,
    series: &[Series],
    title: &str,
    x_label: &str,
    y_label: &str,
    log_y: bool,
) -> Result<()> {
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if all.is_empty() {
        return Err(Error::Other(format!(
            "{}: line plot without a finite point",
            path.display()
        )));
    }

    let xs: Vec<f64> = all.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = all.iter().map(|p| p.1).collect();
    let (x0, x1) = finite_range(&xs).unwrap_or((0.0, 1.0));
    let (y0, y1) = finite_range(&ys).unwrap_or((0.0, 1.0));
    render(path, (900, 560), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(padded(x0, x1), padded(y0, y1))
            .map_err(s)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&whole_numbers_plain)
            .label_style((FONT, 14))
            .light_line_style(RGBColor(235, 235, 235));
        if log_y {
            mesh.y_label_formatter(&power_of_ten);
        }
        mesh.draw().map_err(s)?;
        for (i, ser) in series.iter().enumerate() {
            let col = LINE_COLORS[i % LINE_COLORS.len()];
            let pts: Vec<(f64, f64)> = ser
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(pts, col.stroke_width(2)))
                .map_err(s)?
                .label(ser.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(if log_y {
                SeriesLabelPosition::UpperRight
            } else {
                SeriesLabelPosition::LowerRight
            })
            .draw()
            .map_err(s)?;
        Ok(())
    })
}

/// Simulated (y) against observed (x) with the 1:1 line and the n, RMSE and
/// bias of the finite pairs in the caption.
pub fn scatter_one_to_one(
    path: impl AsRef<Path>,
    simulated: &[f64],
    observed: &[f64],
    title: &str,
    units: &str,
) -> Result<()> {
    let path = path.as_ref();
    let scores = crate::metrics::point_scores(simulated, observed)
        .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
    let pts: Vec<(f64, f64)> = observed
        .iter()
        .zip(simulated)
        .filter(|(o, s)| o.is_finite() && s.is_finite())
        .map(|(o, s)| (*o, *s))
        .collect();
    let all: Vec<f64> = pts.iter().flat_map(|p| [p.0, p.1]).collect();
    let (lo, hi) = finite_range(&all).unwrap_or((0.0, 1.0));
    let r = padded(lo, hi);
    let caption = format!(
        "{title} (n = {}, RMSE = {:.2}, bias = {:+.2} {units})",
        scores.n,
        scores.rmse,
        // Round first so that a tiny negative bias is not shown as -0.00.
        (scores.bias * 100.0).round() / 100.0 + 0.0
    );
    render(path, (700, 700), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (FONT, 18))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(r.clone(), r.clone())
            .map_err(s)?;
        chart
            .configure_mesh()
            .x_desc(format!("Observed ({units})"))
            .y_desc(format!("Simulated ({units})"))
            .label_style((FONT, 14))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(s)?;
        chart
            .draw_series(LineSeries::new(
                vec![(r.start, r.start), (r.end, r.end)],
                BLACK.stroke_width(1),
            ))
            .map_err(s)?
            .label("1:1")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        chart
            .draw_series(
                pts.iter()
                    .map(|&p| Circle::new(p, 4, LINE_COLORS[0].mix(0.7).filled())),
            )
            .map_err(s)?;
        chart
            .configure_series_labels()
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(s)?;
        Ok(())
    })
}

/// A horizontal bar chart of `items` ranked by value, largest on top
/// (e.g. sensitivity indices or parameter importance).
pub fn ranked_bars(
    path: impl AsRef<Path>,
    items: &[(String, f64)],
    title: &str,
    value_label: &str,
) -> Result<()> {
    let path = path.as_ref();
    let mut items: Vec<(String, f64)> = items
        .iter()
        .filter(|(_, v)| v.is_finite())
        .cloned()
        .collect();
    if items.is_empty() {
        return Err(Error::Other(format!(
            "{}: bar chart without a finite value",
            path.display()
        )));
    }
    items.sort_by(|a, b| b.1.total_cmp(&a.1));
    let n = items.len();
    let lo = items.iter().map(|i| i.1).fold(0.0, f64::min);
    let hi = items.iter().map(|i| i.1).fold(0.0, f64::max);
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let longest = items.iter().map(|i| i.0.chars().count()).max().unwrap_or(4) as u32;
    let height = (120 + 28 * n as u32).max(300);
    render(path, (900, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size((longest * 8 + 20).min(320))
            .build_cartesian_2d(padded(lo, hi), 0.0..n as f64)
            .map_err(s)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_desc(value_label)
            .label_style((FONT, 14))
            .draw()
            .map_err(s)?;
        let x_left = padded(lo, hi).start;
        let style =
            TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
        for (k, (label, _)) in items.iter().enumerate() {
            let yc = (n - k - 1) as f64 + 0.5;
            let (px, py) = chart.backend_coord(&(x_left, yc));
            root.draw(&Text::new(label.clone(), (px - 8, py), style.clone()))
                .map_err(s)?;
        }
        chart
            .draw_series(items.iter().enumerate().map(|(k, (_, v))| {
                let y0 = (n - k - 1) as f64 + 0.15;
                Rectangle::new([(0.0, y0), (*v, y0 + 0.7)], LINE_COLORS[0].filled())
            }))
            .map_err(s)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::power_of_ten;

    #[test]
    fn linear_axis_labels_drop_the_float_noise() {
        let label = |v: f64| super::whole_numbers_plain(&v);
        assert_eq!(label(2008.0), "2008");
        assert_eq!(label(2008.0 + 0.2), "2008.2");
        assert_eq!(label(2008.6000000000001), "2008.6");
        assert_eq!(label(0.25), "0.25");
        assert_eq!(label(-1.5), "-1.5");
        assert_eq!(label(1.0e-5), "0.00001");
    }

    #[test]
    fn log_axis_labels_give_the_value_to_three_significant_digits() {
        let label = |v: f64| power_of_ten(&v);
        assert_eq!(label(0.0), "1");
        assert_eq!(label(-2.0), "0.01");
        assert_eq!(label(-2.5), "0.00316");
        assert_eq!(label(-3.0), "0.001");
        assert_eq!(label(2.5), "316");
        assert_eq!(label(-0.5), "0.316");
        assert_eq!(label(-5.0), "1e-5");
        assert_eq!(label(-4.5), "3.16e-5");
        assert_eq!(label(4.0), "1e4");
    }
}
