//! Burndown: open against done sites day by day, from each site's done date (pure; the
//! query in `query` works out the dates).

use std::collections::BTreeMap;

use serde::Serialize;

/// One point of a burndown: on `date` (YYYY-MM-DD), `open` sites were still to do and `done`
/// were fixed, confirmed safe or gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BurndownPoint {
    pub date: time::Date,
    pub open: u64,
    pub done: u64,
}

/// The date part of a stored RFC 3339 time.
pub(super) fn day(at: &str) -> Option<time::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(at.get(..10)?, fmt).ok()
}

/// Burndown points from the number of sites done on each day, out of `total` sites (`None`:
/// done at an unknown date, which counts as done from the first point).
pub(super) fn burndown_points(
    total: u64,
    done: impl IntoIterator<Item = (Option<time::Date>, u64)>,
    today: time::Date,
) -> Vec<BurndownPoint> {
    let mut per_day: BTreeMap<time::Date, u64> = BTreeMap::new();
    let mut undated = 0u64;
    for (d, n) in done {
        match d {
            Some(d) => *per_day.entry(d.min(today)).or_default() += n,
            None => undated += n,
        }
    }
    // Never more done than there are sites, whatever the stored counts say.
    let total = total.max(undated + per_day.values().sum::<u64>());
    let first = per_day.keys().next().copied().unwrap_or(today);
    let mut points = Vec::with_capacity(per_day.len() + 2);
    let mut done_count = undated;
    // Where the campaign started: everything not yet done.
    if per_day.contains_key(&first) {
        if let Some(before) = first.previous_day() {
            points.push(BurndownPoint {
                date: before,
                open: total - done_count,
                done: done_count,
            });
        }
    }
    for (date, n) in per_day {
        done_count += n;
        points.push(BurndownPoint {
            date,
            open: total - done_count,
            done: done_count,
        });
    }
    if points.last().is_none_or(|p| p.date < today) {
        points.push(BurndownPoint {
            date: today,
            open: total - done_count,
            done: done_count,
        });
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn burndown_steps_by_day() {
        let today = date!(2026 - 11 - 25);
        let p = burndown_points(
            5,
            vec![
                (Some(date!(2022 - 10 - 20)), 2),
                (Some(date!(2022 - 11 - 01)), 1),
                (None, 1),
            ],
            today,
        );
        let got: Vec<_> = p.iter().map(|p| (p.date, p.open, p.done)).collect();
        assert_eq!(
            got,
            vec![
                (date!(2022 - 10 - 19), 4, 1),
                (date!(2022 - 10 - 20), 2, 3),
                (date!(2022 - 11 - 01), 1, 4),
                (today, 1, 4),
            ]
        );
        let empty = burndown_points(0, vec![], today);
        assert_eq!(
            empty,
            vec![BurndownPoint {
                date: today,
                open: 0,
                done: 0
            }]
        );
        let open = burndown_points(2, vec![], today);
        assert_eq!(
            open,
            vec![BurndownPoint {
                date: today,
                open: 2,
                done: 0
            }]
        );
    }
}
