//! Address mapping between XMPP and SIP (RFC 7247 §6): a JID becomes a `sip:` URI and a
//! `sip:`, `sips:`, `pres:` or `im:` URI becomes a JID.
//!
//! The SIP ↔ XMPP translation calls these for every `from` and `to` it carries across, so a
//! URI from a SIP peer is treated as hostile: anything that cannot be an XMPP address exactly is
//! refused with an [`AddressError`] naming the part and the reason, never quietly altered. The
//! only changes made on the way are the ones the RFCs define: percent-escapes (RFC 3261
//! §19.1.4), the JID escapes RFC 7247 prescribes, case mapping of localparts (RFC 7622 §3.3,
//! PRECIS UsernameCaseMapped), lower-casing of domains, and A-labels ↔ U-labels (IDNA).
//!
//! - Localparts (§6.2, §6.4, §6.5): the SIP user part is percent-decoded and must be UTF-8.
//!   `&`, `'` and `/` are legal in a SIP user part but not in a localpart, so they travel as
//!   the XEP-0106 escapes ``, `` and `f` (`sip:o'malley@…` is `omalley@…`), and
//!   are unescaped on the way back. The other characters a localpart forbids (`" : < > @`)
//!   have no such mapping and are refused, as is a user part that already holds one of the
//!   three escapes (it would come back as a different user). The result must pass PRECIS
//!   UsernameCaseMapped, which RFC 7622 puts in place of the nodeprep step RFC 7247 makes
//!   optional. The `jid` crate applies RFC 6122 nodeprep as well; where that would change the
//!   prepared localpart (nodeprep folds `ß` to `ss`, PRECIS keeps it) the address is refused,
//!   as the two would name different accounts.
//! - Domains: RFC 7247 leaves domain mapping out of scope. Here a SIP host must be an RFC 3261
//!   host name or IP literal; the JID domainpart holds U-labels (RFC 7622 §3.2), the SIP host
//!   A-labels, as SIP addresses cannot carry internationalised names.
//! - Resources (§6.3): the resourcepart is not part of a SIP address of record. It is either
//!   dropped or carried as the `gr` parameter of a GRUU (RFC 5627); [`ResourceMapping`] says
//!   which, and a `gr` parameter with a value maps back to a resourcepart. Temporary GRUUs (a
//!   `gr` without a value) are outside the mapping and refused.
//!
//! RFC 7247 §8 forbids translating a SIP request whose To or Request-URI is a `sips:` URI,
//! since XMPP cannot promise TLS on every hop; the address of such a URI still maps, and the
//! refusal is the translating caller's.
//!
//! ```
//! use legate_xmpp::{jid_for_sip_uri, sip_uri_for_jid, Jid, ResourceMapping};
//!
//! let jid = jid_for_sip_uri("sip:Juliet@Example.COM")?;
//! assert_eq!(jid.to_string(), "juliet@example.com");
//!
//! let jid = Jid::new("romeo@example.net/orchard").expect("a valid jid");
//! assert_eq!(sip_uri_for_jid(&jid, ResourceMapping::Drop)?, "sip:romeo@example.net");
//! assert_eq!(sip_uri_for_jid(&jid, ResourceMapping::Gruu)?, "sip:romeo@example.net;gr=orchard");
//! # Ok::<(), legate_xmpp::AddressError>(())
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use idna::uts46::{AsciiDenyList, Hyphens, Uts46};
use jid::{BareJid, DomainPart, FullJid, Jid, NodePart, ResourcePart};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use precis_profiles::precis_core::profile::PrecisFastInvocation;
use precis_profiles::UsernameCaseMapped;

/// Longest localpart or resourcepart RFC 7622 §3 allows, in bytes.
const MAX_PART_BYTES: usize = 1023;

/// Characters RFC 7622 §3.3.1 forbids in a localpart (beyond what PRECIS forbids) that RFC 7247
/// gives no escape for.
const LOCALPART_FORBIDDEN: &[char] = &['"', ':', '<', '>', '@'];

/// The characters a SIP user part may hold but a localpart may not, and the XEP-0106 escapes
/// RFC 7247 §6.4 and §6.5 carry them as.
const JID_ESCAPES: [(char, &str); 3] = [('&', "\\26"), ('\'', "\\27"), ('/', "\\2f")];

/// Bytes RFC 3261 §25.1 calls `unreserved`: every other byte is written as `%HH`, unless the
/// part of the URI allows it too (below).
const UNRESERVED: AsciiSet = NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Bytes a SIP `user` may carry unescaped: `unreserved` and `user-unreserved`.
const USER_ESCAPES: &AsciiSet = &UNRESERVED
    .remove(b'&')
    .remove(b'=')
    .remove(b'+')
    .remove(b'$')
    .remove(b',')
    .remove(b';')
    .remove(b'?')
    .remove(b'/');

/// Bytes a SIP URI parameter value may carry unescaped: `unreserved` and `param-unreserved`.
const PARAM_ESCAPES: &AsciiSet = &UNRESERVED
    .remove(b'[')
    .remove(b']')
    .remove(b'/')
    .remove(b':')
    .remove(b'&')
    .remove(b'+')
    .remove(b'$');

/// What becomes of a JID's resourcepart in the SIP URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceMapping {
    /// The address of record only: `sip:localpart@domainpart`.
    Drop,
    /// A GRUU (RFC 5627): the resourcepart as the `gr` parameter. A bare JID still maps to its
    /// address of record.
    Gruu,
}

/// Why an address could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("uri scheme {scheme:?} is not one of sip, sips, pres or im")]
    UnsupportedScheme { scheme: String },
    #[error("{uri:?} is not a uri: it has no scheme")]
    MissingScheme { uri: String },
    #[error("uri has no host")]
    MissingHost,
    #[error("user part {user:?} is not valid in a sip uri: {reason}")]
    InvalidUser { user: String, reason: &'static str },
    #[error("uri carries a password, which has no place in an xmpp address")]
    Password,
    #[error("uri names port {port:?}, which has no place in an xmpp address")]
    Port { port: String },
    #[error("user part is empty")]
    EmptyUser,
    #[error("user part {user:?} is not utf-8 once percent-decoded")]
    NotUtf8 { user: String },
    #[error(
        "localpart {localpart:?} contains {forbidden:?}, which rfc 7622 forbids in a localpart"
    )]
    ForbiddenInLocalpart { localpart: String, forbidden: char },
    #[error("user part {localpart:?} holds {escape:?}, which would map back to a different user")]
    AmbiguousEscape {
        localpart: String,
        escape: &'static str,
    },
    #[error("localpart {localpart:?} fails the precis usernamecasemapped profile: {reason}")]
    Precis { localpart: String, reason: String },
    #[error(
        "localpart {localpart:?} would become {prepared:?} under nodeprep, a different account"
    )]
    UnstableLocalpart { localpart: String, prepared: String },
    #[error("{part} is longer than 1023 bytes")]
    TooLong { part: &'static str },
    #[error("domain {domain:?} is not a valid host name: {reason}")]
    InvalidDomain {
        domain: String,
        reason: &'static str,
    },
    #[error("gruu parameter {value:?} cannot be a resourcepart: {reason}")]
    InvalidResource { value: String, reason: String },
    #[error("uri has a {parameter} parameter without a value")]
    ParameterWithoutValue { parameter: &'static str },
    #[error("xmpp address rejected: {reason}")]
    Jid { reason: String },
}

/// The SIP URI for a JID: `sip:localpart@domainpart`, or `sip:domainpart` for a JID without a
/// localpart (a server or service), with the resourcepart dropped or carried as a GRUU.
pub fn sip_uri_for_jid(jid: &Jid, resource: ResourceMapping) -> Result<String, AddressError> {
    let host = sip_host_for_domainpart(jid.domain().as_str())?;
    let mut uri = String::from("sip:");
    if let Some(node) = jid.node() {
        let mut user = node.as_str().to_owned();
        for (character, escape) in JID_ESCAPES {
            user = user.replace(escape, character.encode_utf8(&mut [0; 4]));
        }
        uri.extend(utf8_percent_encode(&user, USER_ESCAPES));
        uri.push('@');
    }
    uri.push_str(&host);
    if let (ResourceMapping::Gruu, Some(resourcepart)) = (resource, jid.resource()) {
        uri.push_str(";gr=");
        uri.extend(utf8_percent_encode(resourcepart.as_str(), PARAM_ESCAPES));
    }
    Ok(uri)
}

/// The JID for a `sip:`, `sips:`, `pres:` or `im:` URI. A `gr` parameter becomes the
/// resourcepart; other URI parameters and headers route or qualify a request and are not part
/// of the address, so they are not carried over.
pub fn jid_for_sip_uri(uri: &str) -> Result<Jid, AddressError> {
    let parts = SipUriParts::parse(uri)?;
    let domain = domainpart_for_sip_host(parts.host)?;
    let domain = DomainPart::new(&domain).map_err(jid_error)?;

    let node = match parts.user {
        None => None,
        Some(user) => {
            let localpart = localpart_for_sip_user(user)?;
            let node = NodePart::new(&localpart).map_err(jid_error)?;
            if node.as_str() != localpart {
                return Err(AddressError::UnstableLocalpart {
                    prepared: node.as_str().to_owned(),
                    localpart,
                });
            }
            Some(node.into_owned())
        }
    };

    let Some(gruu) = parts.gruu else {
        return Ok(BareJid::from_parts(node.as_deref(), &domain).into());
    };
    let resourcepart = resourcepart_for_gruu(gruu)?;
    Ok(FullJid::from_parts(node.as_deref(), &domain, &resourcepart).into())
}

/// The pieces of a SIP URI the mapping reads, still escaped as received.
struct SipUriParts<'a> {
    user: Option<&'a str>,
    host: &'a str,
    gruu: Option<&'a str>,
}

impl<'a> SipUriParts<'a> {
    fn parse(uri: &'a str) -> Result<Self, AddressError> {
        let Some((scheme, rest)) = uri.split_once(':') else {
            return Err(AddressError::MissingScheme {
                uri: uri.to_owned(),
            });
        };
        if !["sip", "sips", "pres", "im"]
            .iter()
            .any(|known| scheme.eq_ignore_ascii_case(known))
        {
            return Err(AddressError::UnsupportedScheme {
                scheme: scheme.to_owned(),
            });
        }

        // '@' may not appear unescaped anywhere but between userinfo and host (RFC 3261 §25.1).
        let (userinfo, rest) = match rest.split_once('@') {
            Some((userinfo, rest)) => (Some(userinfo), rest),
            None => (None, rest),
        };
        let user = match userinfo {
            Some(userinfo) if userinfo.contains(':') => return Err(AddressError::Password),
            Some(user) => {
                check_sip_user(user)?;
                Some(user)
            }
            None => None,
        };

        let (hostport, tail) = match rest.find([';', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let host = split_port(hostport)?;
        if host.is_empty() {
            return Err(AddressError::MissingHost);
        }

        let params = tail
            .split_once('?')
            .map_or(tail, |(params, _headers)| params);
        let mut gruu = None;
        for param in params.split(';').filter(|param| !param.is_empty()) {
            let (name, value) = match param.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (param, None),
            };
            if name.eq_ignore_ascii_case("gr") {
                // A `gr` without a value marks a temporary GRUU, whose user part is opaque:
                // there is no resource to recover from it.
                let value = value.ok_or(AddressError::ParameterWithoutValue { parameter: "gr" })?;
                gruu = Some(value);
            }
        }
        Ok(Self { user, host, gruu })
    }
}

/// Refuses a user part that breaks the RFC 3261 `user` grammar: only `unreserved`,
/// `user-unreserved` and `%HH` escapes.
fn check_sip_user(user: &str) -> Result<(), AddressError> {
    let invalid = |reason| AddressError::InvalidUser {
        user: user.to_owned(),
        reason,
    };
    let bytes = user.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' {
            let escape = bytes
                .get(i + 1..i + 3)
                .ok_or(invalid("truncated percent-escape"))?;
            if !escape.iter().all(u8::is_ascii_hexdigit) {
                return Err(invalid("malformed percent-escape"));
            }
            i += 3;
            continue;
        }
        if !(byte.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,;?/".contains(&byte)) {
            return Err(invalid("a character that must be percent-escaped"));
        }
        i += 1;
    }
    Ok(())
}

/// The host of a `hostport`, refusing a port: a JID has nowhere to carry one.
fn split_port(hostport: &str) -> Result<&str, AddressError> {
    let (host, port) = if let Some(literal) = hostport.strip_prefix('[') {
        match literal.find(']') {
            Some(end) => hostport.split_at(end + 2),
            None => {
                return Err(AddressError::InvalidDomain {
                    domain: hostport.to_owned(),
                    reason: "unterminated ipv6 literal",
                })
            }
        }
    } else {
        match hostport.find(':') {
            Some(at) => hostport.split_at(at),
            None => (hostport, ""),
        }
    };
    if port.is_empty() {
        Ok(host)
    } else {
        Err(AddressError::Port {
            port: port.trim_start_matches(':').to_owned(),
        })
    }
}

/// Percent-decodes a SIP user part and prepares it as a localpart (RFC 7247 §6.4, RFC 7622
/// §3.3).
fn localpart_for_sip_user(user: &str) -> Result<String, AddressError> {
    let decoded = percent_decode_str(user)
        .decode_utf8()
        .map_err(|_| AddressError::NotUtf8 {
            user: user.to_owned(),
        })?;
    if decoded.is_empty() {
        return Err(AddressError::EmptyUser);
    }
    // Checks run on the prepared form: width mapping turns a fullwidth '＠' into '@', and case
    // mapping a "\2F" into the escape "\2f".
    let prepared =
        UsernameCaseMapped::enforce(decoded.as_ref()).map_err(|error| AddressError::Precis {
            localpart: decoded.to_string(),
            reason: error.to_string(),
        })?;
    if let Some(forbidden) = prepared.chars().find(|c| LOCALPART_FORBIDDEN.contains(c)) {
        return Err(AddressError::ForbiddenInLocalpart {
            localpart: decoded.into_owned(),
            forbidden,
        });
    }
    if let Some((_, escape)) = JID_ESCAPES
        .iter()
        .find(|(_, escape)| prepared.contains(escape))
    {
        return Err(AddressError::AmbiguousEscape {
            localpart: decoded.into_owned(),
            escape,
        });
    }
    let mut localpart = prepared.into_owned();
    for (character, escape) in JID_ESCAPES {
        localpart = localpart.replace(character, escape);
    }
    if localpart.len() > MAX_PART_BYTES {
        return Err(AddressError::TooLong { part: "localpart" });
    }
    Ok(localpart)
}

/// Prepares a GRUU's `gr` value as a resourcepart; as with localparts, a value that
/// resourceprep would change is refused rather than altered.
fn resourcepart_for_gruu(value: &str) -> Result<ResourcePart, AddressError> {
    let invalid = |reason: String| AddressError::InvalidResource {
        value: value.to_owned(),
        reason,
    };
    let decoded = percent_decode_str(value)
        .decode_utf8()
        .map_err(|_| invalid("not utf-8 once percent-decoded".to_owned()))?;
    if decoded.len() > MAX_PART_BYTES {
        return Err(AddressError::TooLong {
            part: "resourcepart",
        });
    }
    let resourcepart = ResourcePart::new(&decoded).map_err(|error| invalid(error.to_string()))?;
    if resourcepart.as_str() != decoded {
        return Err(invalid(format!(
            "resourceprep would change it to {:?}",
            resourcepart.as_str()
        )));
    }
    Ok(resourcepart.into_owned())
}

/// A SIP host as a JID domainpart: IP literals as they are, host names lower-cased with
/// A-labels turned into U-labels (RFC 7622 §3.2.1).
fn domainpart_for_sip_host(host: &str) -> Result<String, AddressError> {
    if is_ip_literal(host) {
        return Ok(host.to_owned());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    check_hostname(name)?;
    let (unicode, result) =
        Uts46::new().to_unicode(name.as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
    result.map_err(|_| AddressError::InvalidDomain {
        domain: host.to_owned(),
        reason: "not a valid internationalised domain name",
    })?;
    Ok(unicode.into_owned())
}

/// A JID domainpart as a SIP host: IP literals as they are, names in A-labels.
fn sip_host_for_domainpart(domain: &str) -> Result<String, AddressError> {
    if is_ip_literal(domain) {
        return Ok(domain.to_owned());
    }
    let ascii = idna::domain_to_ascii_strict(domain).map_err(|_| AddressError::InvalidDomain {
        domain: domain.to_owned(),
        reason: "not a valid internationalised domain name",
    })?;
    check_hostname(&ascii)?;
    Ok(ascii)
}

fn is_ip_literal(host: &str) -> bool {
    host.parse::<Ipv4Addr>().is_ok()
        || host
            .strip_prefix('[')
            .and_then(|literal| literal.strip_suffix(']'))
            .is_some_and(|literal| literal.parse::<Ipv6Addr>().is_ok())
}

/// The RFC 3261 `hostname` rule: dot-separated labels of letters, digits and inner hyphens,
/// the last one starting with a letter (so that a name is never mistaken for an address).
fn check_hostname(name: &str) -> Result<(), AddressError> {
    let invalid = |reason| AddressError::InvalidDomain {
        domain: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("empty"));
    }
    let mut labels = name.split('.').peekable();
    while let Some(label) = labels.next() {
        if label.is_empty() {
            return Err(invalid("an empty label"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(invalid("a character other than a letter, digit or hyphen"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid("a label that starts or ends with a hyphen"));
        }
        if labels.peek().is_none() && !label.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(invalid(
                "a top-level label that does not start with a letter",
            ));
        }
    }
    Ok(())
}

fn jid_error(error: jid::Error) -> AddressError {
    AddressError::Jid {
        reason: error.to_string(),
    }
}

#[cfg(test)]
#[path = "address_tests.rs"]
mod tests;
