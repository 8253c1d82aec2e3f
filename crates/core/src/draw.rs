//! Spot-check draws that nobody can choose (docs/audit.md §"The draw").
//!
//! The seed is the RFC 6962 root of the program's *draw seal*: the first
//! `ledger_sealed` record recorded after the program's last filing deadline,
//! whose checkpoint the operator signed. Every random choice reads a
//! BLAKE3 XOF keyed by that root over
//! `"fundledger spot-check draw v1\n" ‖ program ‖ "\n" ‖ label`, and a
//! partial Fisher–Yates shuffle of the population sorted ascending picks
//! the sample, in draw order. Two draws of one seed with different sizes
//! nest: the smaller is a prefix of the larger.

use crate::ids::{DistrictCode, Hash32};
use crate::merkle::NodeHash;
use rust_decimal::Decimal;

/// The domain separator every draw stream starts with.
pub const DRAW_DOMAIN: &str = "fundledger spot-check draw v1\n";

/// The label of the districts' stream.
pub const DISTRICTS_LABEL: &str = "districts";

/// A stream of uniform choices.
pub struct DrawStream(blake3::OutputReader);

impl DrawStream {
    /// The stream of `label` in `program`'s draw from `root`.
    pub fn new(root: &NodeHash, program: &str, label: &str) -> DrawStream {
        let mut hasher = blake3::Hasher::new_keyed(root);
        hasher.update(DRAW_DOMAIN.as_bytes());
        hasher.update(program.as_bytes());
        hasher.update(b"\n");
        hasher.update(label.as_bytes());
        DrawStream(hasher.finalize_xof())
    }

    /// A uniform integer in `0..bound` (`bound` ≥ 1): the next eight bytes
    /// as a little-endian u64, redrawn while at or above the largest
    /// multiple of `bound` that fits in 2^64, then reduced modulo `bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "a draw from an empty range");
        let limit = (1u128 << 64) / u128::from(bound) * u128::from(bound);
        loop {
            let mut bytes = [0u8; 8];
            self.0.fill(&mut bytes);
            let x = u64::from_le_bytes(bytes);
            if u128::from(x) < limit {
                return x % bound;
            }
        }
    }
}

/// The first `k` items of a partial Fisher–Yates shuffle of `population`
/// (which the caller sorts ascending): for i in 0..k, swap item i with item
/// i + below(n − i).
pub fn shuffle_prefix<T: Clone>(population: &[T], k: usize, stream: &mut DrawStream) -> Vec<T> {
    let mut items = population.to_vec();
    let k = k.min(items.len());
    for i in 0..k {
        let j = i + stream.below((items.len() - i) as u64) as usize;
        items.swap(i, j);
    }
    items.truncate(k);
    items
}

/// How many of `n` districts a fraction draws: ⌈fraction × n⌉, at least 1
/// (of a non-empty population) and at most n.
pub fn districts_to_draw(fraction: Decimal, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let k = (fraction * Decimal::from(n as u64)).ceil();
    let k = usize::try_from(k.mantissa() / 10i128.pow(k.scale())).unwrap_or(n);
    k.clamp(1, n)
}

/// Parses a plan's fraction: two decimals, above 0 and at most 1.
pub fn parse_fraction(text: &str) -> Option<Decimal> {
    let ok = text.len() == 4 && text.as_bytes()[1] == b'.' && text.is_ascii();
    let value = Decimal::from_str_exact(text).ok()?;
    (ok && value > Decimal::ZERO && value <= Decimal::ONE).then_some(value)
}

/// The districts drawn: `population` in ascending code order.
pub fn draw_districts(
    root: &NodeHash,
    program: &str,
    population: &[DistrictCode],
    fraction: Decimal,
) -> Vec<DistrictCode> {
    let k = districts_to_draw(fraction, population.len());
    let mut stream = DrawStream::new(root, program, DISTRICTS_LABEL);
    shuffle_prefix(population, k, &mut stream)
}

/// The people to call back in `district`: up to `n` of `signed` (the
/// digests of the people who signed its rosters at the draw seal, in
/// ascending byte order), from the stream labelled `people/<code>`.
pub fn draw_people(
    root: &NodeHash,
    program: &str,
    district: DistrictCode,
    signed: &[Hash32],
    n: usize,
) -> Vec<Hash32> {
    let mut stream = DrawStream::new(root, program, &format!("people/{district}"));
    shuffle_prefix(signed, n, &mut stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(byte: u8) -> NodeHash {
        [byte; 32]
    }

    #[test]
    fn the_fraction_rounds_up_and_stays_in_range() {
        let f = |t: &str| parse_fraction(t).unwrap();
        assert_eq!(districts_to_draw(f("0.30"), 13), 4);
        assert_eq!(districts_to_draw(f("0.30"), 10), 3);
        assert_eq!(districts_to_draw(f("0.01"), 13), 1);
        assert_eq!(districts_to_draw(f("1.00"), 13), 13);
        assert_eq!(districts_to_draw(f("0.30"), 0), 0);
        for bad in ["0.00", "1.01", "0.3", ".30", "0,30", "-0.3", "0.300"] {
            assert_eq!(parse_fraction(bad), None, "{bad}");
        }
    }

    #[test]
    fn draws_are_deterministic_nested_and_seed_dependent() {
        let codes: Vec<DistrictCode> = crate::gbt2260::COUNTY_CODES[..13]
            .iter()
            .map(|c| DistrictCode::parse(&format!("{c:06}")).unwrap())
            .collect();
        let a = draw_districts(&root(1), "p", &codes, Decimal::new(30, 2));
        assert_eq!(
            a,
            draw_districts(&root(1), "p", &codes, Decimal::new(30, 2))
        );
        let more = draw_districts(&root(1), "p", &codes, Decimal::new(50, 2));
        assert_eq!(&more[..4], &a[..]);
        assert_ne!(
            a,
            draw_districts(&root(2), "p", &codes, Decimal::new(30, 2))
        );
        assert_ne!(
            a,
            draw_districts(&root(1), "q", &codes, Decimal::new(30, 2))
        );
        let mut distinct = a.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 4);
    }

    /// The published vector of docs/audit.md: anyone reimplementing the
    /// draw checks their first choices against it.
    #[test]
    fn the_documented_vector() {
        let mut stream = DrawStream::new(&root(0), "kunming-2022", DISTRICTS_LABEL);
        let first: Vec<u64> = (0..5).map(|_| stream.below(13)).collect();
        assert_eq!(
            first,
            vec![VECTOR[0], VECTOR[1], VECTOR[2], VECTOR[3], VECTOR[4]]
        );
    }

    const VECTOR: [u64; 5] = [4, 7, 8, 1, 2];
}
