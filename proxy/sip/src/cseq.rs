//! The CSeq value (RFC 3261 §20.16): sequence number and method, which the transaction layer
//! matches and validation compares with the request method.

use std::fmt;

use crate::error::ParseError;
use crate::grammar::{is_ws, trim, Cursor};
use crate::method::Method;

/// A parsed CSeq value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

/// RFC 3261 §8.1.1.5: the number must be less than 2**31.
const MAX_SEQ: u64 = (1 << 31) - 1;

fn invalid(detail: &'static str) -> ParseError {
    ParseError::InvalidCSeq { detail }
}

impl CSeq {
    /// Parses `1*DIGIT LWS Method`; leading zeros are allowed, numbers above 2**31-1 are not.
    pub fn parse(text: &[u8]) -> Result<CSeq, ParseError> {
        let mut cursor = Cursor::new(trim(text));
        let digits = cursor.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return Err(invalid("missing sequence number"));
        }
        let seq = digits
            .iter()
            .try_fold(0u64, |n, &d| {
                let n = n * 10 + u64::from(d - b'0');
                (n <= MAX_SEQ).then_some(n)
            })
            .ok_or_else(|| invalid("sequence number exceeds 2**31-1"))?;
        if !cursor.skip_ws() {
            return Err(invalid("expected white space before the method"));
        }
        let method = cursor.rest();
        if method.iter().any(|&b| is_ws(b)) {
            return Err(invalid("unexpected text after the method"));
        }
        Ok(CSeq {
            seq: u32::try_from(seq).map_err(|_| invalid("sequence number exceeds 2**31-1"))?,
            method: Method::parse(method)?,
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() -> Result<(), ParseError> {
        assert_eq!(
            CSeq::parse(b"4711 INVITE")?,
            CSeq {
                seq: 4711,
                method: Method::Invite
            }
        );
        let folded = CSeq::parse(b" 0009 \t INVITE ")?;
        assert_eq!(folded.seq, 9);
        assert_eq!(folded.to_string(), "9 INVITE");
        assert_eq!(CSeq::parse(b"2147483647 NEWMETHOD")?.seq, 2_147_483_647);
        Ok(())
    }

    #[test]
    fn rejects() {
        for bad in [
            &b""[..],
            b"INVITE",
            b"1",
            b"1INVITE",
            b"-1 INVITE",
            b"2147483648 INVITE",
            b"36893488147419103232 REGISTER",
            b"1 INVITE extra",
            b"1 IN,VITE",
        ] {
            assert!(
                CSeq::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
