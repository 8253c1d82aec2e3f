//! Money: an amount of CNY with exactly two decimals.
//!
//! On the wire money is a JSON string such as `"30000.00"`: an optional `-`,
//! digits without leading zeros, a point, exactly two digits. No exponent, no
//! `+`, never a JSON number. Inside, it is a [`rust_decimal::Decimal`] of scale 2.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// The largest number of digits before the decimal point (a trillion yuan is plenty).
pub const MONEY_INTEGER_DIGITS_MAX: usize = 15;

/// An amount of money in CNY, always with exactly two decimals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

/// Why a string is not a money amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("money must be a string with exactly two decimals such as \"30000.00\", got {got}")]
pub struct MoneyError {
    /// The offending text, quoted.
    pub got: String,
}

impl Money {
    /// Zero yuan.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parses the wire form strictly (see the module documentation).
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let err = || MoneyError {
            got: format!("{text:?}"),
        };
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (whole, fraction) = unsigned.split_once('.').ok_or_else(err)?;
        let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits_only(whole) || !digits_only(fraction) || fraction.len() != 2 {
            return Err(err());
        }
        if whole.len() > 1 && whole.starts_with('0') || whole.len() > MONEY_INTEGER_DIGITS_MAX {
            return Err(err());
        }
        let amount: Decimal = text.parse().map_err(|_| err())?;
        if text.starts_with('-') && amount.is_zero() {
            return Err(err()); // "-0.00" has no meaning
        }
        Ok(Money(amount))
    }

    /// Wraps a decimal, rounding half away from zero to two decimals.
    pub fn from_decimal_rounded(amount: Decimal) -> Money {
        let mut rounded =
            amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        rounded.rescale(2);
        Money(rounded)
    }

    /// Whole yuan, for tests and generators.
    pub fn from_yuan(yuan: i64) -> Money {
        let mut amount = Decimal::from(yuan);
        amount.rescale(2);
        Money(amount)
    }

    /// Fen (hundredths of a yuan).
    pub fn from_fen(fen: i64) -> Money {
        Money(Decimal::new(fen, 2))
    }

    /// The amount as a decimal.
    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// True for amounts above zero.
    pub fn is_positive(self) -> bool {
        self.0 > Decimal::ZERO
    }

    /// True for amounts below zero.
    pub fn is_negative(self) -> bool {
        self.0 < Decimal::ZERO
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut amount = self.0;
        amount.rescale(2);
        write!(f, "{amount}")
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}
impl AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        self.0 += other.0;
    }
}
impl Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}
impl SubAssign for Money {
    fn sub_assign(&mut self, other: Money) {
        self.0 -= other.0;
    }
}
impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}
impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let text = String::deserialize(deserializer)?;
        Money::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Formats a decimal with exactly `places` decimals, rounding half away from zero.
pub fn fixed(value: Decimal, places: u32) -> String {
    let mut rounded =
        value.round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(places);
    rounded.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: Option<&str>) {
        let got = Money::parse(text).ok().map(|m| m.to_string());
        assert_eq!(got.as_deref(), expect, "parsing {text:?}");
    }

    #[test]
    fn parse_accepts_only_the_wire_form() {
        check("30000.00", Some("30000.00"));
        check("0.00", Some("0.00"));
        check("-5.00", Some("-5.00"));
        check("0.01", Some("0.01"));
        check("1e3", None);
        check("10.001", None);
        check("10.0", None);
        check("10", None);
        check("+5.00", None);
        check("05.00", None);
        check("-0.00", None);
        check(" 5.00", None);
        check("5.00 ", None);
        check(".50", None);
        check("1,000.00", None);
        check("1000000000000000.00", None);
        check("999999999999999.99", Some("999999999999999.99"));
    }

    #[test]
    fn arithmetic_keeps_two_decimals() {
        let a = Money::parse("0.10").unwrap() + Money::parse("0.20").unwrap();
        assert_eq!(a.to_string(), "0.30");
        assert_eq!(Money::from_yuan(30000).to_string(), "30000.00");
        assert_eq!(Money::from_fen(-1).to_string(), "-0.01");
        assert_eq!(fixed(Decimal::new(96284, 3), 2), "96.28");
        assert_eq!(fixed(Decimal::new(49310, 2), 2), "493.10");
        assert_eq!(fixed(Decimal::new(5, 3), 2), "0.01");
    }
}
