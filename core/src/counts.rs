//! Per-status counts and progress.

use serde::Serialize;

use crate::model::Status;

/// How many sites have each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts([u64; 8]);

fn index(s: Status) -> usize {
    Status::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

impl StatusCounts {
    /// Add `n` sites of status `s`.
    pub fn add(&mut self, s: Status, n: u64) {
        self.0[index(s)] += n;
    }

    /// Sites with status `s`.
    pub fn get(&self, s: Status) -> u64 {
        self.0[index(s)]
    }

    /// All sites.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Fixed + confirmed safe + gone.
    pub fn done(&self) -> u64 {
        Status::ALL
            .iter()
            .filter(|s| s.is_done())
            .map(|s| self.get(*s))
            .sum()
    }

    /// Done / total in percent (0 when there are no sites).
    pub fn percent_done(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            t => self.done() as f64 * 100.0 / t as f64,
        }
    }

    /// Non-zero counts in display order, with each one's share of the total in percent.
    pub fn segments(&self) -> Vec<(Status, u64, f64)> {
        let total = self.total().max(1) as f64;
        Status::ALL
            .iter()
            .map(|s| (*s, self.get(*s)))
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| (s, n, n as f64 * 100.0 / total))
            .collect()
    }
}

impl Serialize for StatusCounts {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = ser.serialize_map(Some(10))?;
        for s in Status::ALL {
            m.serialize_entry(s.as_str(), &self.get(s))?;
        }
        m.serialize_entry("done", &self.done())?;
        m.serialize_entry("total", &self.total())?;
        m.end()
    }
}
