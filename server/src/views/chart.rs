//! The campaign burndown as an inline SVG. The geometry is computed here, where it can be
//! unit-tested; the template (`burndown` in `_macros.html`) only places the elements. It is
//! drawn on the server because the Content-Security-Policy allows no scripts and the page must
//! work without them; colours come from CSS classes, never `style=`.

use std::fmt;

use time::{Date, Month};
use treewide_core::history::BurndownPoint;

/// Size of the drawing in SVG user units; CSS scales it to the column width.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
/// Room for the y labels (up to six digits), the x labels, and half a line stroke.
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;
/// Estimated width of one character of a tick label (11px digits) and the space kept
/// between two labels, so that date labels never overlap.
const CHAR_W: f64 = 6.6;
const LABEL_PAD: f64 = 10.0;
/// Above this many points the markers merge into a smear; lines and the table remain.
const MAX_MARKERS: usize = 60;

/// An SVG coordinate, written with one decimal (enough at this size, and keeps pages small
/// when a chart has hundreds of steps).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Coord(pub f64);

impl fmt::Display for Coord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1}", self.0)
    }
}

/// A labelled tick on an axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// x for the date axis, y for the count axis.
    pub pos: Coord,
    pub label: String,
    /// SVG `text-anchor`: the first date starts at the axis, the last ends at the edge.
    pub anchor: &'static str,
}

/// One data point: where its two markers go, and its row in the data table.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub date: String,
    pub open: u64,
    pub done: u64,
    pub x: Coord,
    pub y_open: Coord,
    pub y_done: Coord,
}

/// A burndown chart ready to draw.
#[derive(Debug, Clone)]
pub struct Burndown {
    pub points: Vec<Point>,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    /// Whether to draw a marker per point (few points only).
    pub markers: bool,
    /// One sentence for `aria-label`: where the campaign stands and since when.
    pub label: String,
    /// Long quiet stretches squeezed on the date axis, marked where they are.
    pub breaks: Vec<Break>,
}

/// Where the scale maps dates and counts in the plot area.
///
/// The date axis is linear between knots. A long quiet stretch between two points (years
/// without a change before today, say) would flatten everything else against one edge, so
/// such a gap is squeezed to [`BREAK_W`] and marked as a break; the days around it share the
/// rest of the width in proportion.
struct Scale {
    /// (Julian day, x) left to right; at least two knots.
    knots: Vec<(i32, f64)>,
    /// The squeezed gaps.
    breaks: Vec<Break>,
    /// The count at the top of the plot: a multiple of the y tick step, at least the total.
    top: u64,
}

/// Width of a squeezed gap on the date axis.
const BREAK_W: f64 = 30.0;
/// A gap between two points is squeezed when it is this many days or more and more than a
/// quarter of the whole span.
const BREAK_MIN_DAYS: i32 = 120;

/// A squeezed stretch of the date axis, where nothing changed from `from` to `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct Break {
    /// Middle of the break on the x axis.
    pub x: Coord,
    pub from: Date,
    pub to: Date,
    /// "3 years 8 months without a change", for the break's title.
    pub label: String,
}

impl Scale {
    fn new(dates: &[Date], top: u64) -> Scale {
        let days: Vec<i32> = {
            let mut d: Vec<i32> = dates.iter().map(|d| d.to_julian_day()).collect();
            d.dedup();
            d
        };
        let (first, last) = (days[0], days[days.len() - 1]);
        let span = last - first;
        let long = |g: i32| g >= BREAK_MIN_DAYS && g * 4 > span;
        let long_gaps: Vec<i32> = days
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|g| long(*g))
            .collect();
        let squeezed: i32 = long_gaps.iter().sum();
        // Squeezing needs days left to spread out; two far-apart points stay linear.
        let squeeze = !long_gaps.is_empty() && span > squeezed;
        let (rest_days, rest_w) = if squeeze {
            (
                f64::from(span - squeezed),
                plot_width() - BREAK_W * long_gaps.len() as f64,
            )
        } else {
            (f64::from(span.max(1)), plot_width())
        };
        let mut knots = vec![(first, LEFT)];
        let mut breaks = Vec::new();
        let mut x = LEFT;
        for w in days.windows(2) {
            let g = w[1] - w[0];
            if squeeze && long(g) {
                breaks.push(Break {
                    x: Coord(x + BREAK_W / 2.0),
                    from: Date::from_julian_day(w[0]).unwrap_or(Date::MIN),
                    to: Date::from_julian_day(w[1]).unwrap_or(Date::MAX),
                    label: format!("{} without a change (squeezed)", duration_words(g)),
                });
                x += BREAK_W;
            } else {
                x += f64::from(g) / rest_days * rest_w;
            }
            knots.push((w[1], x));
        }
        if knots.len() == 1 {
            knots.push((first + 1, WIDTH - RIGHT));
        }
        Scale { knots, breaks, top }
    }

    fn x(&self, d: Date) -> f64 {
        let j = d.to_julian_day();
        let i = self
            .knots
            .partition_point(|(k, _)| *k <= j)
            .clamp(1, self.knots.len() - 1);
        let ((d0, x0), (d1, x1)) = (self.knots[i - 1], self.knots[i]);
        let t = (f64::from(j - d0) / f64::from((d1 - d0).max(1))).clamp(0.0, 1.0);
        x0 + t * (x1 - x0)
    }

    /// Whether `d` falls inside a squeezed gap (a tick there would sit on the break).
    fn in_break(&self, d: Date) -> bool {
        self.breaks.iter().any(|b| d > b.from && d < b.to)
    }

    fn y(&self, n: u64) -> f64 {
        TOP + (1.0 - n as f64 / self.top as f64) * (HEIGHT - TOP - BOTTOM)
    }
}

impl Break {
    /// Left edge of the shaded band that marks the break.
    pub fn left(&self) -> Coord {
        Coord(self.x.0 - (BREAK_W - 10.0) / 2.0)
    }
    /// Width of that band.
    pub fn width(&self) -> Coord {
        Coord(BREAK_W - 10.0)
    }
    /// The two slashes across the date axis at `bottom`.
    pub fn marks(&self, bottom: Coord) -> String {
        let (x, y) = (self.x.0, bottom.0);
        format!(
            "M{} {}L{} {}M{} {}L{} {}",
            Coord(x - 6.0),
            Coord(y + 5.0),
            Coord(x - 1.0),
            Coord(y - 5.0),
            Coord(x + 1.0),
            Coord(y + 5.0),
            Coord(x + 6.0),
            Coord(y - 5.0)
        )
    }
}

/// "1 year 3 months", "5 months", "40 days": how long `days` is, roughly.
fn duration_words(days: i32) -> String {
    let plural = |n: i32, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    if days < 60 {
        return plural(days, "day");
    }
    let months = days * 12 / 365;
    match (months / 12, months % 12) {
        (0, m) => plural(m, "month"),
        (y, 0) => plural(y, "year"),
        (y, m) => format!("{} {}", plural(y, "year"), plural(m, "month")),
    }
}

fn plot_width() -> f64 {
    WIDTH - LEFT - RIGHT
}

impl Burndown {
    /// The chart of `points` (oldest first, as `history::burndown` gives them), or `None` when
    /// the campaign has no sites: an empty chart says less than a sentence.
    pub fn new(points: &[BurndownPoint]) -> Option<Burndown> {
        let (first, last) = (points.first()?, points.last()?);
        let total = points.iter().map(|p| p.open + p.done).max().unwrap_or(0);
        if total == 0 {
            return None;
        }
        let step = nice_step(total);
        let dates: Vec<Date> = points.iter().map(|p| p.date).collect();
        let scale = Scale::new(&dates, total.div_ceil(step) * step);
        let y_ticks = (0..=scale.top / step)
            .map(|i| Tick {
                pos: Coord(scale.y(i * step)),
                label: (i * step).to_string(),
                anchor: "end",
            })
            .collect();
        let label = if first.date == last.date {
            format!(
                "Burndown: {} of {} sites open on {}",
                last.open, total, last.date
            )
        } else {
            format!(
                "Burndown: {} of {} sites open on {}, {} on {}",
                last.open, total, last.date, first.open, first.date
            )
        };
        Some(Burndown {
            points: points
                .iter()
                .map(|p| Point {
                    date: p.date.to_string(),
                    open: p.open,
                    done: p.done,
                    x: Coord(scale.x(p.date)),
                    y_open: Coord(scale.y(p.open)),
                    y_done: Coord(scale.y(p.done)),
                })
                .collect(),
            x_ticks: date_ticks(&scale, &dates),
            y_ticks,
            markers: points.len() <= MAX_MARKERS,
            label,
            breaks: scale.breaks,
        })
    }

    /// The drawing's size, for `viewBox`, `width` and `height`.
    pub fn width(&self) -> Coord {
        Coord(WIDTH)
    }
    /// Height of the drawing.
    pub fn height(&self) -> Coord {
        Coord(HEIGHT)
    }
    /// The plot area's edges, for the axes and grid lines.
    pub fn left(&self) -> Coord {
        Coord(LEFT)
    }
    /// Right edge of the plot.
    pub fn right(&self) -> Coord {
        Coord(WIDTH - RIGHT)
    }
    /// Bottom edge of the plot (the x axis).
    pub fn bottom(&self) -> Coord {
        Coord(HEIGHT - BOTTOM)
    }
    /// Lower end of the date tick marks.
    pub fn tick_end(&self) -> Coord {
        Coord(HEIGHT - BOTTOM + 4.0)
    }
    /// Top of a break's band (the plot's top).
    pub fn break_top(&self) -> Coord {
        Coord(TOP)
    }
    /// Height of a break's band (down to the axis).
    pub fn break_height(&self) -> Coord {
        Coord(HEIGHT - BOTTOM - TOP)
    }
    /// Baseline of the date labels.
    pub fn x_label_y(&self) -> Coord {
        Coord(HEIGHT - BOTTOM + 16.0)
    }

    /// The open sites as a step line: a count holds until the next point's day.
    pub fn open_path(&self) -> String {
        self.step_path(|p| p.y_open)
    }

    /// The done sites as a step line.
    pub fn done_path(&self) -> String {
        self.step_path(|p| p.y_done)
    }

    fn step_path(&self, y: impl Fn(&Point) -> Coord) -> String {
        let mut d = String::with_capacity(self.points.len() * 16);
        for (i, p) in self.points.iter().enumerate() {
            if i == 0 {
                d.push_str(&format!("M{} {}", p.x, y(p)));
            } else {
                d.push_str(&format!("H{}V{}", p.x, y(p)));
            }
        }
        // The last count holds to the right edge (which is today, unless there is one point).
        d.push_str(&format!("H{}", self.right()));
        d
    }
}

/// A round step (1, 2 or 5 times a power of ten) giving at most four intervals up to `max`.
fn nice_step(max: u64) -> u64 {
    let raw = max.div_ceil(4).max(1);
    let mut power = 1u64;
    loop {
        for m in [1, 2, 5] {
            let step = m * power;
            if step >= raw {
                return step;
            }
        }
        power = power.saturating_mul(10);
    }
}

/// Date ticks: the first and last day in full, and between them round dates (new years over
/// long spans, month starts over months, evenly spaced days otherwise) where their labels fit.
/// Each stretch between squeezed gaps gets its own round dates, and the day a stretch starts
/// after a gap is labelled when it fits.
fn date_ticks(scale: &Scale, dates: &[Date]) -> Vec<Tick> {
    let (first, last) = (dates[0], dates[dates.len() - 1]);
    let tick = |d: Date, label: String, anchor| Tick {
        pos: Coord(scale.x(d)),
        label,
        anchor,
    };
    let mut ticks = vec![tick(first, first.to_string(), "start")];
    if first == last {
        return ticks;
    }
    let end = tick(last, last.to_string(), "end");
    let (end_lo, _) = extent(&end);
    let mut prev_hi = extent(&ticks[0]).1;
    // The stretches of the axis between breaks, and what to label in each.
    let mut stretches = Vec::new();
    let mut start = first;
    for b in &scale.breaks {
        stretches.push((start, b.from));
        start = b.to;
    }
    stretches.push((start, last));
    let mut candidates: Vec<(Date, String)> = Vec::new();
    for (i, (a, b)) in stretches.iter().enumerate() {
        if i > 0 && *a != last {
            candidates.push((*a, a.to_string()));
        }
        candidates.extend(
            between(*a, *b)
                .into_iter()
                .filter(|(d, _)| !scale.in_break(*d)),
        );
    }
    for (d, label) in candidates {
        let t = tick(d, label, "middle");
        let (lo, hi) = extent(&t);
        if lo >= prev_hi + LABEL_PAD && hi + LABEL_PAD <= end_lo {
            prev_hi = hi;
            ticks.push(t);
        }
    }
    ticks.push(end);
    ticks
}

/// The horizontal extent of a tick's label (left, right).
fn extent(t: &Tick) -> (f64, f64) {
    let w = t.label.chars().count() as f64 * CHAR_W;
    match t.anchor {
        "start" => (t.pos.0, t.pos.0 + w),
        "end" => (t.pos.0 - w, t.pos.0),
        _ => (t.pos.0 - w / 2.0, t.pos.0 + w / 2.0),
    }
}

/// Candidate dates strictly between `first` and `last`, with their labels, at most four.
fn between(first: Date, last: Date) -> Vec<(Date, String)> {
    let days = last.to_julian_day() - first.to_julian_day();
    let inside = |d: &Date| *d > first && *d < last;
    if days >= 730 {
        let years: Vec<i32> = (first.year() + 1..=last.year()).collect();
        let every = years.len().div_ceil(4).max(1);
        return years
            .into_iter()
            .filter(|y| y % every as i32 == 0)
            .filter_map(|y| Date::from_calendar_date(y, Month::January, 1).ok())
            .filter(inside)
            .map(|d| (d, d.year().to_string()))
            .collect();
    }
    if days >= 62 {
        let mut starts = Vec::new();
        let (mut y, mut m) = (first.year(), first.month());
        loop {
            (y, m) = if m == Month::December {
                (y + 1, Month::January)
            } else {
                (y, m.next())
            };
            match Date::from_calendar_date(y, m, 1) {
                Ok(d) if d < last => starts.push(d),
                _ => break,
            }
        }
        // Months aligned to the step (quarters start in January, April, …).
        let every = [1u8, 2, 3, 6, 12]
            .into_iter()
            .find(|s| starts.len().div_ceil(usize::from(*s)) <= 4)
            .unwrap_or(12);
        return starts
            .into_iter()
            .filter(|d| (u8::from(d.month()) - 1) % every == 0)
            .map(|d| (d, format!("{}-{:02}", d.year(), u8::from(d.month()))))
            .collect();
    }
    let mut out: Vec<(Date, String)> = Vec::new();
    for k in 1..4 {
        let Ok(d) = Date::from_julian_day(first.to_julian_day() + days * k / 4) else {
            continue;
        };
        if inside(&d) && out.last().is_none_or(|(p, _)| *p != d) {
            out.push((d, d.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn point(date: Date, open: u64, done: u64) -> BurndownPoint {
        BurndownPoint { date, open, done }
    }

    fn labels(b: &Burndown) -> Vec<&str> {
        b.x_ticks.iter().map(|t| t.label.as_str()).collect()
    }

    #[test]
    fn no_sites_draw_no_chart() {
        assert!(Burndown::new(&[]).is_none());
        assert!(Burndown::new(&[point(date!(2026 - 11 - 25), 0, 0)]).is_none());
    }

    #[test]
    fn steps_run_from_the_first_day_to_the_right_edge() {
        let b = Burndown::new(&[
            point(date!(2026 - 11 - 01), 4, 0),
            point(date!(2026 - 11 - 11), 1, 3),
            point(date!(2026 - 11 - 21), 1, 3),
        ])
        .unwrap();
        // Plot: x 48..628 (580 wide), y 10..194 (184 high); 4 sites → ticks 0..4, top 4.
        let xs: Vec<f64> = b.points.iter().map(|p| p.x.0).collect();
        assert_eq!(xs, vec![48.0, 338.0, 628.0]);
        assert_eq!(b.points[0].y_open, Coord(10.0));
        assert_eq!(b.points[0].y_done, Coord(194.0));
        assert_eq!(b.points[1].y_open, Coord(148.0));
        assert_eq!(b.points[1].y_done, Coord(56.0));
        assert_eq!(b.open_path(), "M48.0 10.0H338.0V148.0H628.0V148.0H628.0");
        assert_eq!(b.done_path(), "M48.0 194.0H338.0V56.0H628.0V56.0H628.0");
        let ys: Vec<(&str, f64)> = b
            .y_ticks
            .iter()
            .map(|t| (t.label.as_str(), t.pos.0))
            .collect();
        assert_eq!(
            ys,
            vec![
                ("0", 194.0),
                ("1", 148.0),
                ("2", 102.0),
                ("3", 56.0),
                ("4", 10.0)
            ]
        );
        assert_eq!(
            labels(&b),
            vec![
                "2026-11-01",
                "2026-11-06",
                "2026-11-11",
                "2026-11-16",
                "2026-11-21"
            ]
        );
        assert!(b.markers);
        assert_eq!(
            b.label,
            "Burndown: 1 of 4 sites open on 2026-11-21, 4 on 2026-11-01"
        );
    }

    #[test]
    fn one_point_is_a_flat_line_across() {
        let b = Burndown::new(&[point(date!(2026 - 11 - 25), 7, 0)]).unwrap();
        assert_eq!(b.points[0].x, Coord(LEFT));
        assert_eq!(b.open_path(), "M48.0 33.0H628.0");
        assert_eq!(b.done_path(), "M48.0 194.0H628.0");
        assert_eq!(labels(&b), vec!["2026-11-25"]);
        assert_eq!(b.label, "Burndown: 7 of 7 sites open on 2026-11-25");
        // 7 sites: step 2, top 8.
        let ys: Vec<&str> = b.y_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(ys, vec!["0", "2", "4", "6", "8"]);
    }

    #[test]
    fn thousands_of_sites_get_round_count_ticks() {
        let b = Burndown::new(&[
            point(date!(2026 - 01 - 01), 2500, 0),
            point(date!(2026 - 02 - 01), 1200, 1300),
        ])
        .unwrap();
        let ys: Vec<&str> = b.y_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(ys, vec!["0", "1000", "2000", "3000"]);
        assert_eq!(b.y_ticks[3].pos, Coord(TOP));
        assert_eq!(nice_step(1), 1);
        assert_eq!(nice_step(37), 10);
        assert_eq!(nice_step(40), 10);
        assert_eq!(nice_step(41), 20);
        assert_eq!(nice_step(2000), 500);
    }

    #[test]
    fn a_few_active_days_years_ago_are_labelled_and_the_quiet_years_squeezed() {
        // Fixes in autumn 2022, today in late 2026: linear, the 2022 steps would crowd the
        // left edge; squeezed, the thirteen active days take the width.
        let b = Burndown::new(&[
            point(date!(2022 - 10 - 19), 40, 0),
            point(date!(2022 - 10 - 20), 30, 10),
            point(date!(2022 - 11 - 01), 25, 15),
            point(date!(2026 - 11 - 25), 25, 15),
        ])
        .unwrap();
        assert_eq!(b.breaks.len(), 1);
        assert_eq!(b.breaks[0].label, "4 years without a change (squeezed)");
        assert_eq!(
            labels(&b),
            vec![
                "2022-10-19",
                "2022-10-22",
                "2022-10-25",
                "2022-10-28",
                "2026-11-25"
            ]
        );
        // Ticks are left to right and their labels do not overlap.
        for w in b.x_ticks.windows(2) {
            assert!(extent(&w[0]).1 + LABEL_PAD <= extent(&w[1]).0, "{w:?}");
        }
    }

    #[test]
    fn months_label_month_starts_and_crowded_labels_are_dropped() {
        let b = Burndown::new(&[
            point(date!(2026 - 03 - 20), 5, 0),
            point(date!(2026 - 11 - 25), 2, 3),
        ])
        .unwrap();
        // Eight month starts between: every second one, but May would touch the first label
        // and November the last.
        assert_eq!(
            labels(&b),
            vec!["2026-03-20", "2026-07", "2026-09", "2026-11-25"]
        );
        let close = Burndown::new(&[
            point(date!(2026 - 11 - 24), 5, 0),
            point(date!(2026 - 11 - 25), 2, 3),
        ])
        .unwrap();
        assert_eq!(labels(&close), vec!["2026-11-24", "2026-11-25"]);
    }

    #[test]
    fn a_long_quiet_stretch_is_squeezed_into_a_marked_break() {
        // The demo's shape: fixes from September 2022 to March 2023, then nothing until today.
        let b = Burndown::new(&[
            point(date!(2022 - 09 - 13), 40, 0),
            point(date!(2022 - 09 - 14), 38, 2),
            point(date!(2022 - 10 - 20), 30, 10),
            point(date!(2023 - 03 - 14), 25, 15),
            point(date!(2026 - 11 - 30), 25, 15),
        ])
        .unwrap();
        assert_eq!(b.breaks.len(), 1);
        let gap = &b.breaks[0];
        assert_eq!(
            (gap.from, gap.to),
            (date!(2023 - 03 - 14), date!(2026 - 11 - 30))
        );
        assert_eq!(gap.label, "3 years 8 months without a change (squeezed)");
        // The six active months take all but the break's width; the break sits at the end.
        let xs: Vec<f64> = b.points.iter().map(|p| p.x.0).collect();
        assert_eq!(xs[0], LEFT);
        assert!((xs[3] - (WIDTH - RIGHT - BREAK_W)).abs() < 0.01, "{xs:?}");
        assert_eq!(xs[4], WIDTH - RIGHT);
        assert!((gap.x.0 - (WIDTH - RIGHT - BREAK_W / 2.0)).abs() < 0.01);
        // 2022-09-14 is one day of 182 in: no longer crushed against the left edge.
        assert!(xs[1] - xs[0] > 2.5, "{xs:?}");
        // Month ticks inside the active stretch, none on the break, the ends in full.
        assert_eq!(
            labels(&b),
            vec!["2022-09-13", "2022-11", "2023-01", "2026-11-30"]
        );
        for w in b.x_ticks.windows(2) {
            assert!(extent(&w[0]).1 + LABEL_PAD <= extent(&w[1]).0, "{w:?}");
        }
    }

    #[test]
    fn two_far_apart_points_and_steady_steps_are_not_squeezed() {
        let two = Burndown::new(&[
            point(date!(2022 - 09 - 13), 4, 0),
            point(date!(2026 - 11 - 30), 1, 3),
        ])
        .unwrap();
        assert!(two.breaks.is_empty());
        let monthly: Vec<_> = (0..24)
            .map(|i| {
                let d = Date::from_calendar_date(
                    2024 + i / 12,
                    Month::try_from(1 + (i % 12) as u8).unwrap(),
                    1,
                )
                .unwrap();
                point(d, 30 - i as u64, i as u64)
            })
            .collect();
        assert!(Burndown::new(&monthly).unwrap().breaks.is_empty());
        assert_eq!(duration_words(40), "40 days");
        assert_eq!(duration_words(365), "1 year");
        assert_eq!(duration_words(160), "5 months");
    }

    #[test]
    fn many_points_drop_the_markers() {
        let start = date!(2026 - 01 - 01);
        let pts: Vec<_> = (0..200u64)
            .map(|i| {
                let d = Date::from_julian_day(start.to_julian_day() + i as i32).unwrap();
                point(d, 200 - i, i)
            })
            .collect();
        let b = Burndown::new(&pts).unwrap();
        assert!(!b.markers);
        assert_eq!(b.points.len(), 200);
        assert_eq!(b.open_path().matches('V').count(), 199);
    }
}
