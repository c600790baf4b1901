//! PNG plots: each kind is drawn, decoded and its colours checked.
//!
//! Set `CALIMAP_PLOT_DIR` to keep the PNGs for viewing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use calimap::io::geotiff::{read_geotiff, Raster, RasterGrid};
use calimap::report::plot::{
    categorical_map, class_agreement_map, continuous_map, depth_time_section, difference_map,
    frozen_ground_classes, line_plot, ranked_bars, scatter_one_to_one, ColorScale, Series,
    NODATA_GREY,
};

fn out_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("CALIMAP_PLOT_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            (None, PathBuf::from(d))
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("CALIMAP_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("shared data not found at {}", dir.display());
    }
    eprintln!("note: shared data not found at {}; skipping", dir.display());
    None
}

/// Decode a PNG into (width, height, pixel counts by RGB colour).
fn decode(path: &Path) -> (u32, u32, HashMap<[u8; 3], usize>) {
    let dec = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    let mut counts = HashMap::new();
    for px in buf[..info.buffer_size()].chunks_exact(step) {
        *counts.entry([px[0], px[1], px[2]]).or_insert(0) += 1;
    }
    (info.width, info.height, counts)
}

fn count(c: &HashMap<[u8; 3], usize>, rgb: (u8, u8, u8)) -> usize {
    c.get(&[rgb.0, rgb.1, rgb.2]).copied().unwrap_or(0)
}

fn rgb(c: plotters::style::RGBColor) -> (u8, u8, u8) {
    (c.0, c.1, c.2)
}

#[test]
fn categorical_map_of_the_survey_map_has_class_areas_in_proportion() {
    let Some(data) = shared_data() else { return };
    let (_keep, dir) = out_dir();
    let survey: Raster<u8> = read_geotiff(data.join("qtp-survey/investigation_map.tif")).unwrap();
    let p = dir.join("survey_classes.png");
    let classes = frozen_ground_classes();
    categorical_map(&p, &survey, &classes, "QTP survey map").unwrap();
    let (w, h, c) = decode(&p);
    assert!(w > 700 && h > 300);
    let pf = count(&c, rgb(classes[0].2));
    let sfg = count(&c, rgb(classes[1].2));
    let grey = count(&c, rgb(NODATA_GREY));
    // 1831 permafrost, 873 seasonally frozen and 20528 nodata cells; the
    // legend swatches add a few hundred pixels to each colour.
    assert!(pf > 0 && sfg > 0 && grey > 0);
    let ratio = pf as f64 / sfg as f64;
    assert!((ratio - 1831.0 / 873.0).abs() < 0.15, "ratio {ratio}");
    let share = grey as f64 / (pf + sfg + grey) as f64;
    assert!(
        (share - 20528.0 / 23232.0).abs() < 0.02,
        "grey share {share}"
    );
}

fn small_grid() -> RasterGrid {
    RasterGrid::geographic(40, 30, 90.0, 36.0, 0.1, 0.1)
}

#[test]
fn continuous_and_difference_maps_use_the_colour_scales() {
    let (_keep, dir) = out_dir();
    let g = small_grid();
    let alt: Vec<f64> = (0..g.len())
        .map(|k| {
            let (r, c) = (k / g.cols, k % g.cols);
            if r < 3 && c < 3 {
                f64::NAN
            } else {
                0.5 + 0.1 * c as f64 + 0.02 * r as f64
            }
        })
        .collect();
    let p = dir.join("alt.png");
    continuous_map(
        &p,
        &g,
        &alt,
        "Active-layer thickness",
        "m",
        ColorScale::Viridis,
        None,
    )
    .unwrap();
    let (_, _, c) = decode(&p);
    assert!(count(&c, rgb(NODATA_GREY)) > 0);
    // Both ends of the scale appear (data minimum and maximum, and the bar).
    assert!(count(&c, rgb(ColorScale::Viridis.at(0.0))) > 0);
    assert!(count(&c, rgb(ColorScale::Viridis.at(1.0))) > 0);

    let other: Vec<f64> = alt.iter().map(|v| v + 0.3).collect();
    let p = dir.join("alt_diff.png");
    difference_map(&p, &g, &other, &alt, "ALT difference", "m").unwrap();
    let (_, _, c) = decode(&p);
    // A uniform +0.3 difference is the top of a symmetric scale: dark red.
    let red = count(&c, rgb(ColorScale::BlueWhiteRed.at(1.0)));
    assert!(red > 100 * 30, "{red}");
    assert!(difference_map(&p, &g, &other[1..], &alt, "x", "m").is_err());
}

#[test]
fn agreement_map_line_scatter_and_bars() {
    let (_keep, dir) = out_dir();
    let g = small_grid();
    let r: Vec<u8> = (0..g.len())
        .map(|k| if k % 40 < 20 { 1 } else { 2 })
        .collect();
    let s: Vec<u8> = (0..g.len())
        .map(|k| if k % 40 < 25 { 1 } else { 2 })
        .collect();
    let reference = Raster::new(g, r, Some(255)).unwrap();
    let simulated = Raster::new(g, s, Some(255)).unwrap();
    let p = dir.join("agreement.png");
    class_agreement_map(&p, &reference, &simulated, "Simulated vs reference").unwrap();
    let (_, _, c) = decode(&p);
    let sim_only = count(&c, (178, 24, 43));
    let agree = count(&c, (204, 235, 197));
    // 5 of 40 columns are "simulated permafrost only".
    let ratio = sim_only as f64 / (sim_only + agree) as f64;
    assert!((ratio - 5.0 / 40.0).abs() < 0.03, "{ratio}");

    let p = dir.join("convergence.png");
    let best: Vec<(f64, f64)> = (1..=50)
        .map(|i| (i as f64, 1.0 - 1.0 / (i as f64).sqrt()))
        .collect();
    line_plot(
        &p,
        &[
            Series {
                name: "GP-EI".into(),
                points: best.clone(),
            },
            Series {
                name: "random".into(),
                points: best.iter().map(|&(x, y)| (x, 0.8 * y)).collect(),
            },
        ],
        "Best Kappa",
        "Evaluation",
        "Kappa",
    )
    .unwrap();
    let (w, h, c) = decode(&p);
    assert_eq!((w, h), (900, 560));
    assert!(count(&c, (31, 119, 180)) > 200 && count(&c, (255, 127, 14)) > 200);
    assert!(line_plot(&p, &[], "x", "x", "y").is_err());

    let p = dir.join("scatter.png");
    let obs: Vec<f64> = (0..30).map(|i| 0.5 + 0.1 * i as f64).collect();
    let sim: Vec<f64> = obs
        .iter()
        .enumerate()
        .map(|(i, o)| o + 0.05 * ((i % 5) as f64 - 2.0))
        .collect();
    scatter_one_to_one(&p, &sim, &obs, "ALT", "m").unwrap();
    let (_, _, c) = decode(&p);
    assert!(c.len() > 10);
    assert!(scatter_one_to_one(&p, &[f64::NAN], &[1.0], "x", "m").is_err());

    let p = dir.join("ranking.png");
    let items: Vec<(String, f64)> = ["porosity", "b", "quartz", "CZIL", "albedo"]
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), 0.1 * (i + 1) as f64))
        .collect();
    ranked_bars(&p, &items, "Morris mu*", "mu*").unwrap();
    let (_, h, c) = decode(&p);
    assert!(h >= 300);
    assert!(count(&c, (31, 119, 180)) > 1000);
}

#[test]
fn depth_time_section_colours_by_the_square_root_scale_centred_on_zero() {
    let (_keep, dir) = out_dir();
    // Ten years in 40 intervals, three layers (0-1, 1-3, 3-10 m): the top
    // layer at -16 C (the scale's limit: darkest blue), the middle at +4 C
    // (a quarter of the limit: half way up the red side of the
    // square-root scale), the deepest at 0 C (white).
    let x: Vec<f64> = (0..=40).map(|i| 2000.0 + 0.25 * f64::from(i)).collect();
    let depth = [0.0, 1.0, 3.0, 10.0];
    let values: Vec<f64> = (0..40).flat_map(|_| [-16.0, 4.0, 0.0]).collect();
    let p = dir.join("section.png");
    depth_time_section(&p, &x, &depth, &values, "Ground temperature", "year", "C").unwrap();
    let (w, h, c) = decode(&p);
    assert_eq!((w, h), (1130, 560));
    let px = |t: f64| count(&c, rgb(ColorScale::BlueWhiteRed.at(t)));
    let (blue, red, white) = (px(0.0), px(0.75), px(0.5));
    // Areas in proportion to the layer thicknesses 1 : 2 : 7 (the colour
    // bar adds a few pixels of each).
    assert!(blue > 5_000, "{blue}");
    let ratio = red as f64 / blue as f64;
    assert!((ratio - 2.0).abs() < 0.2, "red / blue = {ratio}");
    assert!(white as f64 > 3.0 * red as f64, "{white} {red}");
    // Values that do not fit the intervals and layers are an error.
    assert!(depth_time_section(&p, &x, &depth, &values[1..], "x", "year", "C").is_err());
}
