use calimap::io::geotiff::read_geotiff_any;
fn main() {
    let d = "/work/shared/data/qtp-survey/";
    for f in ["investigation_map.tif", "soil_cluster.tif", "DDT_mean_annual.tif", "DDF_mean_annual.tif"] {
        let r = read_geotiff_any(format!("{d}{f}")).unwrap();
        let v = r.to_f64_nan();
        let g = r.grid();
        let fin: Vec<f64> = v.iter().cloned().filter(|x| x.is_finite()).collect();
        let mn = fin.iter().cloned().fold(f64::INFINITY, f64::min);
        let mx = fin.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let zeros = fin.iter().filter(|&&x| x == 0.0).count();
        let mut hist = std::collections::BTreeMap::new();
        if mx < 20.0 { for x in &fin { *hist.entry(*x as i64).or_insert(0) += 1; } }
        println!("{f}: {} {}x{} {:?} nan {} finite {} min {mn} max {mx} zeros {zeros} {:?}", r.type_name(), g.rows, g.cols, g.transform, v.len()-fin.len(), fin.len(), hist);
    }
}
