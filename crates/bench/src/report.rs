//! A timed workload's runs: median, spread and throughput; and the
//! nearest-rank percentile every workload reports its latencies with.

use std::time::Duration;

pub struct Report {
    pub workload: String,
    pub runs: Vec<Duration>,
    pub units_per_run: usize,
    pub unit: &'static str,
}

impl Report {
    fn sorted(&self) -> Vec<Duration> {
        let mut sorted = self.runs.clone();
        sorted.sort();
        sorted
    }

    pub fn print(&self) {
        let sorted = self.sorted();
        let (Some(min), Some(max)) = (sorted.first(), sorted.last()) else {
            println!("{:<28} no runs", self.workload);
            return;
        };
        let median = sorted[sorted.len() / 2];
        println!(
            "{:<28} median {:>9.1} ms  min {:>9.1} ms  max {:>9.1} ms  {:>12.0} {}/s  ({} runs)",
            self.workload,
            median.as_secs_f64() * 1000.0,
            min.as_secs_f64() * 1000.0,
            max.as_secs_f64() * 1000.0,
            self.throughput(),
            self.unit,
            self.runs.len()
        );
    }

    /// Units per second at the median run; 0 without runs.
    pub fn throughput(&self) -> f64 {
        let sorted = self.sorted();
        match sorted.get(sorted.len() / 2) {
            Some(median) => self.units_per_run as f64 / median.as_secs_f64(),
            None => 0.0,
        }
    }
}

/// The nearest-rank `p` percentile (0 < p ≤ 1) of ascending `sorted`;
/// `None` when it is empty.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}
