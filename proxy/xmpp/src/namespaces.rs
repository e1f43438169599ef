//! Namespace declarations the reader refuses although XML 1.0 with namespaces allows them:
//! the ones minidom's serialiser cannot write back (it panics on them), so that an element the
//! reader hands out can always be forwarded.
//!
//! Those are a prefix declared again inside an element that already has it in scope (from the
//! stream header or an enclosing element), any declaration of the predeclared `xml` prefix,
//! and any binding of the reserved `xmlns` namespace. Real servers and clients send none of
//! them; a peer that does gets `bad-namespace-prefix`, or `not-well-formed` for the reserved
//! namespace, which the Namespaces in XML recommendation forbids outright.

use minidom::rxml::{RawEvent, RawQName, XMLNS_XMLNS};

use crate::error::{StreamError, StreamErrorCondition as C};
use crate::header::Prefixes;

/// The prefixes declared by each open element of the top-level element being read.
#[derive(Debug, Default)]
pub(crate) struct Declarations {
    open: Vec<Vec<String>>,
}

impl Declarations {
    /// Forgets the previous top-level element.
    pub(crate) fn clear(&mut self) {
        self.open.clear();
    }

    /// Follows every event of a top-level element, in order; `stream` is the header's scope.
    pub(crate) fn check(&mut self, event: &RawEvent, stream: &Prefixes) -> Result<(), StreamError> {
        match event {
            RawEvent::ElementHeadOpen(..) => self.open.push(Vec::new()),
            RawEvent::ElementFoot(_) => {
                self.open.pop();
            }
            RawEvent::Attribute(_, name, value) => {
                let Some(prefix) = declared_prefix(name, value)? else {
                    return Ok(());
                };
                let Some((current, ancestors)) = self.open.split_last_mut() else {
                    return Ok(());
                };
                // The top-level element's own declarations replace the header's in minidom's
                // tree, so only the elements inside it can clash with the header.
                let nested = !ancestors.is_empty();
                let in_scope = prefix == "xml"
                    || (nested
                        && (stream.contains_key(&Some(prefix.to_owned()))
                            || ancestors.iter().any(|d| d.iter().any(|p| p == prefix))));
                if in_scope {
                    return Err(StreamError::new(
                        C::BadNamespacePrefix,
                        format!("prefix {prefix} declared again while already in scope"),
                    ));
                }
                current.push(prefix.to_owned());
            }
            _ => {}
        }
        Ok(())
    }
}

/// For any attribute, the stream header's included: refuses a binding of the reserved
/// `xmlns` namespace, and returns the prefix an `xmlns:prefix` attribute declares.
pub(crate) fn declared_prefix<'a>(
    (prefix, name): &'a RawQName,
    value: &str,
) -> Result<Option<&'a str>, StreamError> {
    let declared = match prefix.as_deref().map(|p| p.as_str()) {
        None if name.as_str() == "xmlns" => None,
        Some("xmlns") => Some(name.as_str()),
        _ => return Ok(None),
    };
    if value == XMLNS_XMLNS {
        return Err(StreamError::new(
            C::NotWellFormed,
            "the reserved xmlns namespace cannot be declared",
        ));
    }
    Ok(declared)
}
