//! Charts drawn on the server as SVG: the geometry is computed here, the template draws it (and
//! escapes every label). Each chart has a title and a description for assistive technology, and
//! the page shows the same numbers in a table next to it. Pure.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Chart {
    pub id: String,
    pub title: String,
    pub description: String,
    pub width: u32,
    pub height: u32,
    pub bars: Vec<Bar>,
    pub texts: Vec<Text>,
    pub lines: Vec<Line>,
    /// The series' names and CSS classes (for the legend), when there is more than one.
    pub legend: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub class: String,
    /// What a pointer hovering the bar shows: the label and the number.
    pub tip: String,
}

#[derive(Debug, Serialize)]
pub struct Text {
    pub x: f64,
    pub y: f64,
    pub anchor: &'static str,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct Line {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

const SERIES: [&str; 3] = ["series-1", "series-2", "series-3"];

/// A "nice" top of the axis at or above `max`: 1, 2 or 5 times a power of ten.
pub fn axis_top(max: i64) -> i64 {
    if max <= 0 {
        return 1;
    }
    let mut step = 1;
    loop {
        for factor in [1, 2, 5] {
            if step * factor >= max {
                return step * factor;
            }
        }
        step *= 10;
    }
}

/// Horizontal bars, one per row: a category and its number.
pub fn bars(id: &str, title: &str, description: &str, rows: &[(String, i64)]) -> Chart {
    let label_width = 220.0;
    let bar_area = 420.0;
    let row_height = 28.0;
    let width = 720;
    let height = (rows.len().max(1) as f64 * row_height + 10.0) as u32;
    let top = axis_top(rows.iter().map(|(_, n)| *n).max().unwrap_or(0)) as f64;
    let mut chart = Chart::new(id, title, description, width, height);
    for (index, (label, n)) in rows.iter().enumerate() {
        let y = 5.0 + index as f64 * row_height;
        let length = (*n as f64 / top * bar_area).max(if *n > 0 { 1.0 } else { 0.0 });
        chart.texts.push(Text {
            x: label_width - 8.0,
            y: y + 18.0,
            anchor: "end",
            text: shorten(label, 30),
        });
        chart.bars.push(Bar {
            x: label_width,
            y: y + 4.0,
            width: length,
            height: row_height - 8.0,
            class: SERIES[0].into(),
            tip: format!("{label}: {n}"),
        });
        chart.texts.push(Text {
            x: label_width + length + 6.0,
            y: y + 18.0,
            anchor: "start",
            text: n.to_string(),
        });
    }
    chart
}

/// Vertical columns over time: for each point a label and one number per series.
pub fn columns(
    id: &str,
    title: &str,
    description: &str,
    series: &[String],
    points: &[(String, Vec<i64>)],
) -> Chart {
    let (left, bottom, plot_height) = (48.0, 40.0, 220.0);
    let width = 720u32;
    let height = (plot_height + bottom + 10.0) as u32;
    let plot_width = f64::from(width) - left - 10.0;
    let top = axis_top(
        points
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .max()
            .unwrap_or(0),
    );
    let mut chart = Chart::new(id, title, description, width, height);
    if series.len() > 1 {
        chart.legend = series
            .iter()
            .zip(SERIES)
            .map(|(name, class)| (name.clone(), class.to_string()))
            .collect();
    }
    for step in 0..=4 {
        let value = top * step / 4;
        let y = 10.0 + plot_height - plot_height * step as f64 / 4.0;
        chart.lines.push(Line {
            x1: left,
            y1: y,
            x2: left + plot_width,
            y2: y,
        });
        chart.texts.push(Text {
            x: left - 6.0,
            y: y + 4.0,
            anchor: "end",
            text: value.to_string(),
        });
    }
    let slot = plot_width / points.len().max(1) as f64;
    let bar_width = (slot * 0.8 / series.len().max(1) as f64).max(1.0);
    // Label at most about twelve points so the axis stays readable.
    let every = points.len().div_ceil(12).max(1);
    for (index, (label, values)) in points.iter().enumerate() {
        let x0 = left + slot * index as f64 + slot * 0.1;
        for (s, value) in values.iter().enumerate() {
            let h = *value as f64 / top as f64 * plot_height;
            chart.bars.push(Bar {
                x: x0 + bar_width * s as f64,
                y: 10.0 + plot_height - h,
                width: bar_width,
                height: h,
                class: SERIES[s % SERIES.len()].into(),
                tip: format!(
                    "{label} · {}: {value}",
                    series.get(s).cloned().unwrap_or_default()
                ),
            });
        }
        if index % every == 0 {
            chart.texts.push(Text {
                x: left + slot * index as f64 + slot / 2.0,
                y: 10.0 + plot_height + 18.0,
                anchor: "middle",
                text: label.clone(),
            });
        }
    }
    chart
}

impl Chart {
    fn new(id: &str, title: &str, description: &str, width: u32, height: u32) -> Chart {
        Chart {
            id: id.into(),
            title: title.into(),
            description: description.into(),
            width,
            height,
            bars: Vec::new(),
            texts: Vec::new(),
            lines: Vec::new(),
            legend: Vec::new(),
        }
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_ends_on_a_round_number() {
        assert_eq!(axis_top(0), 1);
        assert_eq!(axis_top(1), 1);
        assert_eq!(axis_top(3), 5);
        assert_eq!(axis_top(7), 10);
        assert_eq!(axis_top(130), 200);
        assert_eq!(axis_top(500), 500);
    }

    #[test]
    fn bars_are_as_long_as_their_numbers() {
        let rows = vec![
            ("Tributi".to_string(), 10),
            ("Anagrafe".to_string(), 5),
            ("Scuola".to_string(), 0),
        ];
        let chart = bars("c", "t", "d", &rows);
        assert_eq!(chart.bars.len(), 3);
        assert_eq!(chart.bars[0].width, 420.0);
        assert_eq!(chart.bars[1].width, 210.0);
        assert_eq!(chart.bars[2].width, 0.0);
        assert_eq!(chart.bars[1].tip, "Anagrafe: 5");
    }

    #[test]
    fn columns_stand_on_the_axis_with_one_bar_per_series() {
        let points = vec![
            ("gen".to_string(), vec![4, 2]),
            ("feb".to_string(), vec![0, 5]),
        ];
        let chart = columns("c", "t", "d", &["a".into(), "b".into()], &points);
        assert_eq!(chart.bars.len(), 4);
        for bar in &chart.bars {
            assert!((bar.y + bar.height - 230.0).abs() < 1e-9);
        }
        assert_eq!(chart.bars[3].height, 220.0);
        assert_eq!(chart.legend.len(), 2);
    }
}
