//! Money is integer minor units plus an ISO 4217 currency; arithmetic that can make
//! fractions (tax, proration, FX) goes through `rust_decimal` with explicit rounding.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::error::DomainError;

/// An ISO 4217 currency code, checked against the standard's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Parses a three-letter code such as `USD` (case-insensitive).
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        iso_currency::Currency::from_code(&raw.trim().to_ascii_uppercase())
            .map(Self)
            .ok_or_else(|| {
                DomainError::invalid(
                    field,
                    "currency",
                    format!("{field} must be an ISO 4217 currency code such as USD"),
                )
            })
    }

    /// The three-letter code.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point (2 for USD, 0 for JPY, 3 for BHD).
    pub fn minor_digits(self) -> u32 {
        self.0.exponent().map_or(0, u32::from)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse("currency", &code).map_err(serde::de::Error::custom)
    }
}

/// How to round a fractional amount to minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Half away from zero (commercial rounding).
    HalfUp,
    /// Half to even (banker's rounding).
    HalfEven,
}

impl From<Rounding> for RoundingStrategy {
    fn from(r: Rounding) -> Self {
        match r {
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
        }
    }
}

/// An amount of one currency in its minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (cents for USD).
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

/// Largest integer that crosses the JavaScript boundary exactly (2^53 − 1).
pub const MAX_SAFE_MINOR: i64 = 9_007_199_254_740_991;

impl Money {
    /// An amount in minor units; refuses values D1 cannot store exactly.
    pub fn new(minor: i64, currency: Currency) -> Result<Self, DomainError> {
        if minor.abs() > MAX_SAFE_MINOR {
            return Err(DomainError::invalid(
                "amount",
                "range",
                "amount is too large",
            ));
        }
        Ok(Self { minor, currency })
    }

    /// Zero of a currency.
    pub fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    /// The amount as a decimal in major units (12.34 for 1234 cents).
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.minor, self.currency.minor_digits())
    }

    /// A decimal amount in major units, rounded to minor units.
    pub fn from_decimal(
        amount: Decimal,
        currency: Currency,
        rounding: Rounding,
    ) -> Result<Self, DomainError> {
        let digits = currency.minor_digits();
        let scaled = amount
            .round_dp_with_strategy(digits, rounding.into())
            .checked_mul(Decimal::from(10i64.pow(digits)))
            .ok_or_else(|| DomainError::invalid("amount", "range", "amount is too large"))?;
        let minor = i64::try_from(scaled.trunc())
            .map_err(|_| DomainError::invalid("amount", "range", "amount is too large"))?;
        Self::new(minor, currency)
    }

    /// An amount as a person types it in major units (`1200`, `1 200.50`,
    /// `1200,5`): spaces group thousands, and one `.` or `,` starts the fraction,
    /// which has at most the currency's minor digits. Nothing is guessed: `1,200`
    /// in a two-digit currency is refused rather than read as 1.2 or 1200.
    pub fn parse_major(field: &str, raw: &str, currency: Currency) -> Result<Self, DomainError> {
        let digits = currency.minor_digits();
        let refuse =
            |rule: &'static str, message: String| DomainError::invalid(field, rule, message);
        let typed: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
            .collect();
        let (whole, fraction) = match typed.find(['.', ',']) {
            Some(at) => (&typed[..at], &typed[at + 1..]),
            None => (typed.as_str(), ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(refuse(
                "format",
                format!("{field} must be an amount such as 1200 or 1200.50"),
            ));
        }
        if fraction.len() > digits as usize {
            return Err(refuse(
                "precision",
                format!(
                    "{field} has at most {digits} decimals in {}",
                    currency.code()
                ),
            ));
        }
        let amount = Decimal::from_str_exact(&format!("{whole}.{fraction}0"))
            .map_err(|_| refuse("range", format!("{field} is too large")))?;
        Self::from_decimal(amount, currency, Rounding::HalfUp)
            .map_err(|_| refuse("range", format!("{field} is too large")))
    }

    /// Sum of two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Self, DomainError> {
        self.same_currency(other)?;
        let sum = self
            .minor
            .checked_add(other.minor)
            .ok_or_else(|| DomainError::invalid("amount", "range", "amount is too large"))?;
        Self::new(sum, self.currency)
    }

    /// Difference of two amounts of the same currency.
    pub fn checked_sub(self, other: Money) -> Result<Self, DomainError> {
        self.same_currency(other)?;
        let diff = self
            .minor
            .checked_sub(other.minor)
            .ok_or_else(|| DomainError::invalid("amount", "range", "amount is too large"))?;
        Self::new(diff, self.currency)
    }

    /// This amount times a rate (tax, discount, FX), rounded to minor units.
    pub fn times(self, rate: Decimal, rounding: Rounding) -> Result<Self, DomainError> {
        let product = self
            .to_decimal()
            .checked_mul(rate)
            .ok_or_else(|| DomainError::invalid("amount", "range", "amount is too large"))?;
        Self::from_decimal(product, self.currency, rounding)
    }

    fn same_currency(self, other: Money) -> Result<(), DomainError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(DomainError::invalid(
                "currency",
                "mismatch",
                format!(
                    "cannot combine {} with {}",
                    self.currency.code(),
                    other.currency.code()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn usd() -> Currency {
        Currency::parse("currency", "usd").unwrap()
    }

    #[test]
    fn typed_amounts_read_in_major_units_or_are_refused_by_rule() {
        let jpy = Currency::parse("currency", "JPY").unwrap();
        let minor = |raw: &str, c: Currency| Money::parse_major("price", raw, c).map(|m| m.minor);
        assert_eq!(minor("1200", usd()).unwrap(), 120_000);
        assert_eq!(minor(" 1 200.5 ", usd()).unwrap(), 120_050);
        assert_eq!(minor("1200,05", usd()).unwrap(), 120_005);
        assert_eq!(minor("0.07", usd()).unwrap(), 7);
        assert_eq!(minor("1500", jpy).unwrap(), 1500);
        let rule = |raw: &str, c: Currency| match Money::parse_major("price", raw, c) {
            Err(DomainError::Validation(list)) => list[0].rule,
            other => panic!("{raw}: {other:?}"),
        };
        assert_eq!(rule("1,200", usd()), "precision");
        assert_eq!(rule("12.5", jpy), "precision");
        assert_eq!(rule("", usd()), "format");
        assert_eq!(rule("-3", usd()), "format");
        assert_eq!(rule("1.2.3", usd()), "format");
        assert_eq!(rule("12e3", usd()), "format");
        assert_eq!(rule("99999999999999999999", usd()), "range");
    }

    #[test]
    fn currencies_know_their_minor_digits() {
        assert_eq!(usd().code(), "USD");
        assert_eq!(usd().minor_digits(), 2);
        assert_eq!(Currency::parse("c", "JPY").unwrap().minor_digits(), 0);
        assert_eq!(Currency::parse("c", "BHD").unwrap().minor_digits(), 3);
        assert!(Currency::parse("c", "ABC").is_err());
    }

    #[test]
    fn rounding_is_explicit() {
        let m = Money::new(1005, usd()).unwrap(); // 10.05
        let half = Decimal::from_str("0.5").unwrap();
        assert_eq!(m.times(half, Rounding::HalfUp).unwrap().minor, 503); // 5.025 → 5.03
        assert_eq!(m.times(half, Rounding::HalfEven).unwrap().minor, 502); // 5.025 → 5.02
    }

    #[test]
    fn currencies_never_mix_and_sums_never_overflow() {
        let eur = Currency::parse("c", "EUR").unwrap();
        assert!(Money::new(1, usd())
            .unwrap()
            .checked_add(Money::new(1, eur).unwrap())
            .is_err());
        assert!(Money::new(MAX_SAFE_MINOR + 1, usd()).is_err());
        let big = Money::new(MAX_SAFE_MINOR, usd()).unwrap();
        assert!(big.checked_add(Money::new(1, usd()).unwrap()).is_err());
        assert_eq!(
            Money::new(250, usd())
                .unwrap()
                .checked_sub(Money::new(300, usd()).unwrap())
                .unwrap()
                .minor,
            -50
        );
    }
}
