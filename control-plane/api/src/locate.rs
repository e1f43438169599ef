//! Finds where a field path (`listeners[0].filters[1].config.rules[0]`) is written in a YAML
//! text, so errors found after parsing can still point at a line and column.
//!
//! serde_yaml keeps no positions once a value is deserialized, so this module re-reads the
//! text with yaml-rust2's event parser (which reports a marker per event) into a small tree of
//! positions. Paths that go into filter configs resolve the same way as schema fields.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    fn from_marker(marker: Marker) -> Position {
        // yaml-rust2 counts lines from 1 but columns from 0.
        Position {
            line: marker.line(),
            column: marker.col() + 1,
        }
    }
}

/// Deeper documents are not worth locating into; the cap keeps the recursive drop of the
/// tree from exhausting the stack on hostile input.
const MAX_DEPTH: usize = 256;

/// Where `path` is written in `text`: the value for a scalar field, the key for a mapping or
/// sequence field, the item for a sequence index. When only a prefix of the path exists, the
/// position of the deepest existing part. `None` when the text cannot be read as YAML.
pub(crate) fn locate(text: &str, path: &str) -> Option<Position> {
    let root = build(text)?;
    Some(resolve(&root, path))
}

enum Node {
    Scalar {
        position: Position,
        null: bool,
    },
    Sequence {
        position: Position,
        items: Vec<Node>,
    },
    Mapping {
        position: Position,
        entries: Vec<Entry>,
    },
}

struct Entry {
    /// `None` for keys that are not scalars; such keys can never match a path segment.
    key: Option<String>,
    key_position: Position,
    value: Node,
}

impl Node {
    fn position(&self) -> Position {
        match self {
            Node::Scalar { position, .. }
            | Node::Sequence { position, .. }
            | Node::Mapping { position, .. } => *position,
        }
    }
}

enum Frame {
    Sequence {
        position: Position,
        items: Vec<Node>,
    },
    Mapping {
        position: Position,
        entries: Vec<Entry>,
        pending_key: Option<(Option<String>, Position)>,
    },
}

/// Reads the first document of `text` into a position tree.
fn build(text: &str) -> Option<Node> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    loop {
        let (event, marker) = parser.next_token().ok()?;
        let position = Position::from_marker(marker);
        let (node, key_text) = match event {
            Event::Scalar(value, style, _, _) => {
                let null = style == TScalarStyle::Plain && value.is_empty();
                (Node::Scalar { position, null }, Some(value))
            }
            Event::Alias(_) => (
                Node::Scalar {
                    position,
                    null: false,
                },
                None,
            ),
            Event::SequenceStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(Frame::Sequence {
                    position,
                    items: Vec::new(),
                });
                continue;
            }
            Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(Frame::Mapping {
                    position,
                    entries: Vec::new(),
                    pending_key: None,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => (close(stack.pop()?), None),
            Event::StreamEnd => return None,
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {
                continue
            }
        };
        match stack.last_mut() {
            None => return Some(node),
            Some(Frame::Sequence { items, .. }) => items.push(node),
            Some(Frame::Mapping {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some((key_text, node.position())),
                Some((key, key_position)) => entries.push(Entry {
                    key,
                    key_position,
                    value: node,
                }),
            },
        }
    }
}

fn close(frame: Frame) -> Node {
    match frame {
        Frame::Sequence { position, items } => Node::Sequence { position, items },
        Frame::Mapping {
            position, entries, ..
        } => Node::Mapping {
            // A block mapping's start marker sits after its first key, so the first key is
            // the better place to point at.
            position: entries.first().map_or(position, |e| e.key_position),
            entries,
        },
    }
}

fn resolve(root: &Node, path: &str) -> Position {
    let mut node = root;
    let mut best = root.position();
    let mut rest = path.trim_start_matches('.');
    while !rest.is_empty() {
        match node {
            Node::Mapping { entries, .. } => {
                let segment = rest.strip_prefix('.').unwrap_or(rest);
                let Some(entry) = longest_matching_key(entries, segment) else {
                    return best;
                };
                let key_len = entry.key.as_deref().map_or(0, str::len);
                rest = &segment[key_len..];
                best = match entry.value {
                    Node::Scalar { position, null } if !null => position,
                    _ => entry.key_position,
                };
                node = &entry.value;
            }
            Node::Sequence { items, .. } => {
                let segment = rest.strip_prefix('.').unwrap_or(rest);
                let Some((index, after)) = parse_index(segment) else {
                    return best;
                };
                let Some(item) = items.get(index) else {
                    return best;
                };
                best = item.position();
                rest = after;
                node = item;
            }
            Node::Scalar { .. } => return best,
        }
    }
    best
}

/// The entry whose key starts `segment` and ends at a path separator. The longest key wins,
/// so keys that themselves contain dots (`a.b`) resolve without any quoting in the path.
fn longest_matching_key<'n>(entries: &'n [Entry], segment: &str) -> Option<&'n Entry> {
    entries
        .iter()
        .filter(|entry| {
            entry.key.as_deref().is_some_and(|key| {
                !key.is_empty()
                    && segment.starts_with(key)
                    && matches!(segment[key.len()..].chars().next(), None | Some('.' | '['))
            })
        })
        .max_by_key(|entry| entry.key.as_deref().map_or(0, str::len))
}

/// Splits `[12]rest` into `(12, "rest")`.
fn parse_index(segment: &str) -> Option<(usize, &str)> {
    let inner = segment.strip_prefix('[')?;
    let end = inner.find(']')?;
    let index = inner[..end].trim().parse().ok()?;
    Some((index, &inner[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
admin:
  address: 127.0.0.1:9901
listeners:
  - name: internal
    transport: udp
    filters:
      - name: legate.filters.sip.header_mutation
        config:
          request:
            add: [ { name: X-A, value: a }, { name: X-B, value: b } ]
      - name: legate.filters.sip.router
        config:
  - { name: external, transport: tcp }
dotted:
  a.b: 1
  a: { b: 2 }
";

    fn at(path: &str) -> (usize, usize) {
        let p = locate(TEXT, path).unwrap_or(Position { line: 0, column: 0 });
        (p.line, p.column)
    }

    #[test]
    fn scalar_fields_point_at_the_value() {
        assert_eq!(at("admin.address"), (2, 12));
        assert_eq!(at("listeners[0].transport"), (5, 16));
        assert_eq!(at("listeners[1].transport"), (13, 34));
    }

    #[test]
    fn collection_fields_point_at_the_key() {
        assert_eq!(at("admin"), (1, 1));
        assert_eq!(at("listeners[0].filters"), (6, 5));
        assert_eq!(at("listeners[0].filters[0].config"), (8, 9));
    }

    #[test]
    fn sequence_items_point_at_the_item() {
        assert_eq!(at("listeners[0]"), (4, 5));
        assert_eq!(at("listeners[0].filters[1]"), (11, 9));
        assert_eq!(
            at("listeners[0].filters[0].config.request.add[1]"),
            (10, 47)
        );
        assert_eq!(
            at("listeners[0].filters[0].config.request.add[1].value"),
            (10, 65)
        );
    }

    #[test]
    fn unresolvable_tails_fall_back_to_the_deepest_prefix() {
        assert_eq!(at("listeners[0].filters[0].config.rules[0]"), (8, 9));
        assert_eq!(at("listeners[7].name"), (3, 1));
        assert_eq!(at("admin.address.port"), (2, 12));
        assert_eq!(at("listeners[x]"), (3, 1));
        // An empty value is not a place to point at; its key is.
        assert_eq!(at("listeners[0].filters[1].config"), (12, 9));
    }

    #[test]
    fn dotted_keys_resolve_by_longest_match() {
        assert_eq!(at("dotted.a.b"), (15, 8));
        assert_eq!(at("dotted.a"), (16, 3));
    }

    #[test]
    fn root_paths_point_at_the_document_start() {
        assert_eq!(at(""), (1, 1));
        assert_eq!(at("."), (1, 1));
    }

    #[test]
    fn unreadable_yaml_has_no_position() {
        assert_eq!(locate("a: [1, 2", "a"), None);
        assert_eq!(locate("", "a"), None);
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing() {
        let text = "[".repeat(10_000);
        assert_eq!(locate(&text, "a"), None);
    }
}
