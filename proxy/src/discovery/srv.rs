//! The order SRV targets are tried in (RFC 2782): lowest priority first; within one priority,
//! a weighted random order, so a target with twice the weight is tried first twice as often.

use rand::Rng;

/// One SRV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SrvTarget {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// The target host, a fully qualified name.
    pub host: String,
}

/// `records` in the order to try them.
pub(super) fn order<R: Rng>(mut records: Vec<SrvTarget>, rng: &mut R) -> Vec<SrvTarget> {
    // Zero weights first within each priority, as RFC 2782 asks, so they get a small chance.
    records.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut ordered = Vec::with_capacity(records.len());
    while !records.is_empty() {
        let priority = records[0].priority;
        let same = records
            .iter()
            .take_while(|r| r.priority == priority)
            .count();
        let mut group: Vec<SrvTarget> = records.drain(..same).collect();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let pick = rng.gen_range(0..=total);
            let mut running = 0;
            let index = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            ordered.push(group.remove(index));
        }
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn srv(priority: u16, weight: u16, host: &str) -> SrvTarget {
        SrvTarget {
            priority,
            weight,
            port: 5061,
            host: host.to_string(),
        }
    }

    #[test]
    fn lower_priorities_always_come_first() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..100 {
            let hosts: Vec<String> = order(
                vec![
                    srv(20, 100, "c"),
                    srv(10, 1, "a"),
                    srv(10, 1, "b"),
                    srv(30, 0, "d"),
                ],
                &mut rng,
            )
            .into_iter()
            .map(|r| r.host)
            .collect();
            assert_eq!(hosts.len(), 4);
            assert!(hosts[..2].contains(&"a".to_string()));
            assert!(hosts[..2].contains(&"b".to_string()));
            assert_eq!(hosts[2..], ["c", "d"]);
        }
    }

    #[test]
    fn weights_share_first_place_in_proportion() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut heavy_first = 0;
        let runs = 2000;
        for _ in 0..runs {
            let first = order(vec![srv(1, 10, "light"), srv(1, 30, "heavy")], &mut rng);
            if first[0].host == "heavy" {
                heavy_first += 1;
            }
        }
        // Expected 3/4 of the runs; a wide margin keeps the test from depending on the seed.
        assert!(
            (1300..1700).contains(&heavy_first),
            "{heavy_first} of {runs}"
        );
    }

    #[test]
    fn zero_weights_are_still_tried() {
        let mut rng = StdRng::seed_from_u64(3);
        let hosts: Vec<String> = order(vec![srv(1, 0, "zero"), srv(1, 5, "five")], &mut rng)
            .into_iter()
            .map(|r| r.host)
            .collect();
        assert_eq!(hosts.len(), 2);
    }
}
