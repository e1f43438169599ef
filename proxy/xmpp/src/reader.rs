//! The stream reader: feeds bytes to an rxml parser, tracks where the peer is in the stream,
//! builds each top-level element with minidom, and enforces the limits.
//!
//! A connector owns one reader per direction. It calls [`StreamReader::feed`] with what the
//! socket returned, then [`StreamReader::next_event`] until it returns `None`. Events are
//! pulled one at a time so that the caller can act on one (a `<starttls/>`, a SASL success)
//! and [`StreamReader::restart`] before the reader looks at another byte.

use std::collections::HashSet;

use bytes::{Buf, BytesMut};
use minidom::rxml::{self, error::EndOrError, Parse, RawEvent, RawParser, WithOptions};
use minidom::tree_builder::TreeBuilder;

use crate::error::{StreamError, StreamErrorCondition as C};
use crate::event::Event;
use crate::header::{HeaderBuilder, Prefixes};
use crate::limits::Limits;
use crate::namespaces::{declared_prefix, Declarations};

/// Where the peer is in its stream.
enum State {
    /// Before the stream tag (an XML declaration and whitespace may come first).
    Prolog,
    /// Inside the stream tag, collecting its attributes.
    Header(HeaderBuilder),
    /// Between top-level elements.
    Stream,
    /// Inside a top-level element; `depth` counts its open elements and `elements` all it
    /// has had so far, itself included in both.
    Element {
        tree: Box<TreeBuilder>,
        depth: usize,
        elements: usize,
        start: u64,
    },
    /// After `</stream:stream>`.
    Ended,
}

/// An incremental, bounded reader for one direction of an XMPP stream.
pub struct StreamReader {
    limits: Limits,
    parser: RawParser,
    /// Fed and not yet handed to the parser.
    pending: BytesMut,
    /// Bytes handed to the parser since the stream (re)started.
    consumed: u64,
    /// Bytes accounted for by the events the parser has emitted; `consumed - position` is
    /// what the parser holds in an unfinished token. Realigned with `consumed` after each
    /// top-level element (see where an element ends).
    position: u64,
    /// Namespace declarations of the stream tag, the scope every top-level element starts in.
    prefixes: Prefixes,
    state: State,
    /// Attribute names of the tag being read. The raw parser leaves duplicates to its caller.
    attributes: HashSet<(Option<String>, String)>,
    /// Namespace declarations inside the top-level element being read.
    declarations: Declarations,
    /// A refused stream stays refused: the caller must close it.
    failed: Option<StreamError>,
}

impl StreamReader {
    pub fn new(limits: Limits) -> Self {
        Self {
            parser: new_parser(&limits),
            limits,
            pending: BytesMut::new(),
            consumed: 0,
            position: 0,
            prefixes: Prefixes::new(),
            state: State::Prolog,
            attributes: HashSet::new(),
            declarations: Declarations::default(),
            failed: None,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many more bytes [`feed`](Self::feed) accepts now; a caller reading from a socket
    /// reads at most this much.
    pub fn space(&self) -> usize {
        self.limits
            .max_buffered_bytes
            .saturating_sub(self.pending.len())
    }

    /// Whether the peer has closed its stream.
    pub fn is_ended(&self) -> bool {
        matches!(self.state, State::Ended)
    }

    /// Takes bytes as they arrived. Nothing is parsed until [`next_event`](Self::next_event).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), StreamError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if bytes.len() > self.space() {
            return Err(self.fail(StreamError::new(
                C::PolicyViolation,
                format!(
                    "more than {} bytes of input buffered unread",
                    self.limits.max_buffered_bytes
                ),
            )));
        }
        self.pending.extend_from_slice(bytes);
        Ok(())
    }

    /// Starts a new stream on the same connection (RFC 6120 §4.3.3), after STARTTLS or a SASL
    /// success: the parser starts over and the next event must be a new header. Returns how
    /// many bytes fed before the restart were dropped unread; the peer must not send anything
    /// between the element that caused the restart and its new header, so any is a protocol
    /// violation (after STARTTLS, plaintext injected ahead of the TLS handshake).
    pub fn restart(&mut self) -> usize {
        let in_parser =
            usize::try_from(self.consumed.saturating_sub(self.position)).unwrap_or(usize::MAX);
        let dropped = self.pending.len().saturating_add(in_parser);
        self.parser = new_parser(&self.limits);
        self.pending.clear();
        self.consumed = 0;
        self.position = 0;
        self.prefixes.clear();
        self.state = State::Prolog;
        // A refusal is not lifted: the stream it refused is being closed.
        dropped
    }

    /// The next event, or `None` when more input is needed.
    pub fn next_event(&mut self) -> Result<Option<Event>, StreamError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        match self.advance() {
            Ok(event) => Ok(event),
            Err(error) => Err(self.fail(error)),
        }
    }

    fn fail(&mut self, error: StreamError) -> StreamError {
        self.failed = Some(error.clone());
        error
    }

    fn advance(&mut self) -> Result<Option<Event>, StreamError> {
        loop {
            // Hand the parser no more than the current element may still grow by (plus the
            // byte that proves it too large), so an oversized element is caught at the limit
            // however much input is waiting.
            let allowance = self.unfinished_allowance();
            let chunk = self.pending.chunk();
            let mut input = chunk.get(..allowance).unwrap_or(chunk);
            let offered = input.len();
            let result = self.parser.parse(&mut input, false);
            let taken = offered - input.len();
            self.pending.advance(taken);
            self.consumed += taken as u64;
            if let Ok(Some(event)) = &result {
                self.position += event.metrics().len() as u64;
            }
            self.check_size()?;
            match result {
                Ok(Some(event)) => {
                    if let Some(out) = self.handle(event)? {
                        return Ok(Some(out));
                    }
                }
                // Only reported at the end of input, which a stream never announces.
                Ok(None) => return Ok(None),
                Err(EndOrError::NeedMoreData) => {
                    if self.pending.is_empty() || taken == 0 {
                        return Ok(None);
                    }
                }
                Err(EndOrError::Error(error)) => {
                    return Err(StreamError::from_xml(error, self.limits.max_token_bytes));
                }
            }
        }
    }

    /// Where the element now being received began: the stream's start for the header, the
    /// element's `<` inside one, the end of the last event between elements.
    fn unfinished_start(&self) -> Option<u64> {
        match &self.state {
            State::Prolog | State::Header(_) => Some(0),
            State::Element { start, .. } => Some(*start),
            State::Stream => Some(self.position),
            State::Ended => None,
        }
    }

    fn unfinished_allowance(&self) -> usize {
        let Some(start) = self.unfinished_start() else {
            return usize::MAX;
        };
        let received = self.consumed.saturating_sub(start);
        let limit = self.limits.max_stanza_bytes as u64;
        usize::try_from(limit.saturating_sub(received).saturating_add(1)).unwrap_or(usize::MAX)
    }

    fn check_size(&self) -> Result<(), StreamError> {
        let Some(start) = self.unfinished_start() else {
            return Ok(());
        };
        if self.consumed.saturating_sub(start) > self.limits.max_stanza_bytes as u64 {
            let what = match self.state {
                State::Prolog | State::Header(_) => "stream header",
                _ => "stanza",
            };
            return Err(StreamError::new(
                C::PolicyViolation,
                format!(
                    "{what} larger than the limit of {} bytes",
                    self.limits.max_stanza_bytes
                ),
            ));
        }
        Ok(())
    }

    fn handle(&mut self, event: RawEvent) -> Result<Option<Event>, StreamError> {
        let event_start = self.position.saturating_sub(event.metrics().len() as u64);
        self.check_attribute(&event)?;
        let state = std::mem::replace(&mut self.state, State::Ended);
        let (state, out) = match (state, event) {
            (State::Prolog, RawEvent::XmlDeclaration(..)) => (State::Prolog, None),
            (State::Prolog, RawEvent::ElementHeadOpen(_, (prefix, name))) => {
                let prefix = prefix.map(|p| p.as_str().to_owned());
                let header = HeaderBuilder::new(prefix, name.as_str().to_owned());
                (State::Header(header), None)
            }
            (State::Header(mut header), RawEvent::Attribute(_, qname, value)) => {
                declared_prefix(&qname, &value)?;
                let (prefix, name) = qname;
                header.attribute(prefix.as_deref().map(|p| p.as_str()), name.as_str(), value);
                (State::Header(header), None)
            }
            (State::Header(header), RawEvent::ElementHeadClose(_)) => {
                let (header, prefixes) = header.finish()?;
                self.prefixes = prefixes;
                (State::Stream, Some(Event::Header(header)))
            }
            (State::Stream, RawEvent::Text(metrics, text)) => {
                if !text
                    .bytes()
                    .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                {
                    return Err(StreamError::new(
                        C::InvalidXml,
                        "character data between top-level elements",
                    ));
                }
                let bytes = metrics.len();
                (State::Stream, Some(Event::Whitespace { bytes }))
            }
            (State::Stream, RawEvent::ElementFoot(_)) => (State::Ended, Some(Event::End)),
            (State::Stream, event @ RawEvent::ElementHeadOpen(..)) => {
                let scope: Vec<_> = vec![self.prefixes.clone().into()];
                let mut tree = Box::new(TreeBuilder::new().with_prefixes_stack(scope));
                self.check_depth(1)?;
                self.declarations.clear();
                self.declarations.check(&event, &self.prefixes)?;
                build(&mut tree, event)?;
                let state = State::Element {
                    tree,
                    depth: 1,
                    elements: 1,
                    start: event_start,
                };
                (state, None)
            }
            (
                State::Element {
                    mut tree,
                    depth,
                    elements,
                    start,
                },
                event,
            ) => {
                let (depth, elements) = match event {
                    RawEvent::ElementHeadOpen(..) => (depth + 1, elements + 1),
                    RawEvent::ElementFoot(_) => (depth.saturating_sub(1), elements),
                    _ => (depth, elements),
                };
                self.check_depth(depth)?;
                if elements > self.limits.max_elements {
                    return Err(StreamError::new(
                        C::PolicyViolation,
                        format!(
                            "stanza with more than the limit of {} elements",
                            self.limits.max_elements
                        ),
                    ));
                }
                self.declarations.check(&event, &self.prefixes)?;
                build(&mut tree, event)?;
                if depth > 0 {
                    let state = State::Element {
                        tree,
                        depth,
                        elements,
                        start,
                    };
                    (state, None)
                } else {
                    let element = tree.root.take().ok_or_else(|| {
                        StreamError::new(C::InternalServerError, "element ended unbuilt")
                    })?;
                    // Counted from what the parser took, not from its event metrics, which come
                    // up short when a multi-byte character arrives split across reads. The
                    // parser takes nothing past an end tag's `>`, so this is also where the
                    // next event starts.
                    let bytes =
                        usize::try_from(self.consumed.saturating_sub(start)).unwrap_or(usize::MAX);
                    self.position = self.consumed;
                    (State::Stream, Some(Event::Element { element, bytes }))
                }
            }
            // The parser's own grammar rules out anything else (text outside the root, a
            // second root); an unexpected pairing is still a refusal, never a panic.
            (_, event) => {
                return Err(StreamError::new(
                    C::NotWellFormed,
                    format!("unexpected {}", describe(&event)),
                ))
            }
        };
        self.state = state;
        Ok(out)
    }

    /// RFC 6120 §11.1 asks for well-formed XML, which has no repeated attribute in a tag.
    fn check_attribute(&mut self, event: &RawEvent) -> Result<(), StreamError> {
        match event {
            RawEvent::ElementHeadOpen(..) => self.attributes.clear(),
            RawEvent::Attribute(_, (prefix, name), _) => {
                let key = (prefix.as_ref().map(|p| p.to_string()), name.to_string());
                if !self.attributes.insert(key) {
                    return Err(StreamError::new(
                        C::NotWellFormed,
                        format!("attribute {name} repeated in one tag"),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn check_depth(&self, depth: usize) -> Result<(), StreamError> {
        if depth > self.limits.max_depth {
            return Err(StreamError::new(
                C::PolicyViolation,
                format!(
                    "elements nested deeper than the limit of {}",
                    self.limits.max_depth
                ),
            ));
        }
        Ok(())
    }
}

fn new_parser(limits: &Limits) -> RawParser {
    let options = rxml::Options {
        max_token_length: limits.max_token_bytes,
        ..rxml::Options::default()
    };
    let mut parser = RawParser::with_options(options);
    // Text is passed on as soon as it is read, so a keepalive is seen when it arrives rather
    // than when the next element starts.
    parser.set_text_buffering(false);
    parser
}

fn build(tree: &mut TreeBuilder, event: RawEvent) -> Result<(), StreamError> {
    tree.process_event(event).map_err(|error| match error {
        minidom::Error::MissingNamespace => {
            StreamError::new(C::NotWellFormed, "undeclared namespace prefix")
        }
        other => StreamError::new(C::NotWellFormed, other.to_string()),
    })
}

fn describe(event: &RawEvent) -> &'static str {
    match event {
        RawEvent::XmlDeclaration(..) => "XML declaration",
        RawEvent::ElementHeadOpen(..) => "element",
        RawEvent::Attribute(..) => "attribute",
        RawEvent::ElementHeadClose(..) => "end of tag",
        RawEvent::ElementFoot(..) => "end tag",
        RawEvent::Text(..) => "character data",
    }
}
