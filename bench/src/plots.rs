//! The report's SVG plots (plotters): bars for side-by-side figures, a line for cost against stored rows.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

const SIZE: (u32, u32) = (760, 420);
const COLORS: [RGBColor; 2] = [RGBColor(41, 98, 255), RGBColor(230, 120, 30)];

/// Bars, one per `(label, value)`; `series` names the two colours when labels alternate between them.
pub fn bars(path: &Path, title: &str, unit: &str, bars: &[(String, f64)], series: Option<[&str; 2]>) -> Result<()> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let max = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(f64::MIN_POSITIVE) * 1.2;
    let n = bars.len() as i32;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(70)
        .y_label_area_size(70)
        .build_cartesian_2d((0..n).into_segmented(), 0f64..max)
        .map_err(err)?;
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .y_desc(unit)
        .x_labels(bars.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(err)?;
    let colour = |i: usize| if series.is_some() { COLORS[i % 2] } else { COLORS[0] };
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i as i32), 0.0),
                    (SegmentValue::Exact(i as i32 + 1), *v),
                ],
                colour(i).filled(),
            );
            bar.set_margin(0, 0, 6, 6);
            bar
        }))
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
            Text::new(
                crate::report::number(*v),
                (SegmentValue::CenterOf(i as i32), *v + max * 0.02),
                ("sans-serif", 13),
            )
        }))
        .map_err(err)?;
    if let Some(names) = series {
        for (i, name) in names.iter().enumerate() {
            chart
                .draw_series(std::iter::empty::<Rectangle<(SegmentValue<i32>, f64)>>())
                .map_err(err)?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], COLORS[i].filled()));
        }
        legend(&mut chart)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Lines of `(x, y)` points on a logarithmic x axis, one per named series.
pub fn lines(path: &Path, title: &str, x_desc: &str, y_desc: &str, series: &[(&str, Vec<(f64, f64)>)]) -> Result<()> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let points = series.iter().flat_map(|s| s.1.iter());
    let (x_min, x_max, y_max) = points.fold((f64::MAX, 0f64, 0f64), |(a, b, c), (x, y)| {
        (a.min(*x), b.max(*x), c.max(*y))
    });
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((x_min * 0.7..x_max * 1.4).log_scale(), 0f64..y_max * 1.25)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| crate::report::number(*x))
        .draw()
        .map_err(err)?;
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = COLORS[i % 2];
        chart
            .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
            .map_err(err)?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2)));
        chart
            .draw_series(PointSeries::of_element(
                points.iter().copied(),
                4,
                colour.filled(),
                &|c, s, st| Circle::new(c, s, st),
            ))
            .map_err(err)?;
    }
    legend(&mut chart)?;
    root.present().map_err(err)?;
    Ok(())
}

/// The series' names in a box, where plotters puts them.
fn legend<'a, CT: CoordTranslate>(chart: &mut ChartContext<'a, SVGBackend<'a>, CT>) -> Result<()> {
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .map_err(err)
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("plotting: {e}")
}
