//! Transaction matching keys (RFC 3261 §17.1.3 and §17.2.3).

use legate_sip::{Message, Method, ParseError, Text, Via};

/// Matches requests to server transactions: the top Via's branch and sent-by, and the method
/// (ACK matches the INVITE it acknowledges; CANCEL has its own transaction).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerKey {
    pub branch: Text,
    pub sent_by: Text,
    pub method: Method,
}

impl ServerKey {
    /// The key of `request`, whose top Via is `via` (as validation parsed it).
    pub fn with_top_via(request: &Message, via: &Via) -> Result<ServerKey, ParseError> {
        let method = match request.method() {
            Some(Method::Ack) => Method::Invite,
            Some(method) => method.clone(),
            None => Method::Extension(String::new()),
        };
        let branch = match via.branch() {
            Some(branch) if branch.starts_with("z9hG4bK") => Text::new(branch),
            // RFC 2543 peers: fall back to the dialog-identifying fields (§17.2.3).
            _ => {
                let cseq = request.cseq()?;
                let from_tag = request.from_header()?.tag().unwrap_or("").to_string();
                let call_id = request
                    .call_id()
                    .map(|c| String::from_utf8_lossy(c).into_owned());
                Text::from(format!(
                    "2543:{}:{}:{}",
                    call_id.unwrap_or_default(),
                    from_tag,
                    cseq.seq
                ))
            }
        };
        let mut sent_by = via.host.to_ascii_lowercase();
        if let Some(port) = via.port {
            sent_by.push(':');
            sent_by.push_str(&port.to_string());
        }
        Ok(ServerKey {
            branch,
            sent_by,
            method,
        })
    }

    /// The INVITE transaction a CANCEL refers to (same branch, §9.2).
    pub fn invite_of_cancel(&self) -> ServerKey {
        ServerKey {
            method: Method::Invite,
            ..self.clone()
        }
    }
}

/// Matches responses to client transactions: our branch and the CSeq method (§17.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub branch: Text,
    pub method: Method,
}
